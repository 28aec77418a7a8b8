from pathlib import Path

from cligym.runtime.hostpip import parse_pip_config_list, plan_forwarding

LISTING = """\
:env:.cert='/etc/ssl/certs/ca-certificates.crt'
:env:.default-timeout='180'
:env:.find-links='/opt/wheels'
global.extra-index-url='file:///opt/pypi/simple https://mirror.example/simple'
global.index-url='https://pypi.internal/simple'
global.constraint='/etc/pip/constraints.txt'
"""


def test_parse_pip_config_list():
    values = parse_pip_config_list(LISTING)
    assert values["default-timeout"] == "180"
    assert values["index-url"] == "https://pypi.internal/simple"


def test_plan_forwarding_keeps_only_what_works_in_containers(tmp_path: Path):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config = parse_pip_config_list(LISTING.replace("/etc/ssl/certs/ca-certificates.crt", str(ca)))
    fwd = plan_forwarding(config, {"HTTPS_PROXY": "http://proxy:3128"})
    options = dict(fwd.options)
    assert options["index-url"] == "https://pypi.internal/simple"
    assert options["extra-index-url"] == "https://mirror.example/simple"
    assert options["timeout"] == "180"
    assert "find-links" not in options and "constraint" not in options
    assert fwd.ca_bundle == ca
    assert fwd.proxies == (("HTTPS_PROXY", "http://proxy:3128"),)
    conf = fwd.render_pip_conf("/etc/ssl/certs/ca-certificates.crt")
    assert conf.startswith("[global]\n") and "cert = /etc/ssl/certs/ca-certificates.crt" in conf


def test_plan_forwarding_without_config_forwards_nothing():
    fwd = plan_forwarding({}, {})
    assert fwd.options == () and fwd.ca_bundle is None
    assert fwd.render_pip_conf("/x") == "[global]\n"
    assert "nothing to forward" in fwd.describe()


def test_missing_ca_file_is_not_forwarded():
    fwd = plan_forwarding({"cert": "/nonexistent/ca.pem"}, {})
    assert fwd.ca_bundle is None
