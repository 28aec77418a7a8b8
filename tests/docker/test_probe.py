"""The impact probe on the sample gold env: real tests, real attributions."""

from __future__ import annotations

import pytest

from cligym.api import Workspace
from cligym.records import ResourceKey, ResourceKind

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def impact(sample_gold, workspace: Workspace):
    return workspace.probe(sample_gold.gold.id)


def _lib(impact, soname_prefix: str) -> ResourceKey:
    return next(
        k
        for k in impact.resources
        if k.kind is ResourceKind.LIB and impact.lib_names.get(k.name, "").startswith(soname_prefix)
    )


def test_every_stable_test_is_in_the_map(impact, sample_gold):
    assert set(impact.tests) == set(sample_gold.gold.stability.stable_passing)


def test_sqlite_library_is_attributed_to_database_tests(impact):
    users = impact.tests_using(_lib(impact, "libsqlite3.so"))
    files = {t.split("::")[0] for t in users}
    assert {"tests/test_metadata.py", "tests/test_store.py"} <= files
    assert not files & {"tests/test_timeutil.py", "tests/test_locale.py", "tests/test_secure.py"}


def test_tar_lookups_and_openssl(impact):
    assert all(
        "bundle" in t or "doctor" in t or "cli" in t for t in impact.tests_using("exe:/usr/bin/tar")
    )
    assert impact.tests_using("exe:/usr/bin/tar")
    ssl_users = impact.tests_using(_lib(impact, "libssl.so"))
    assert ssl_users and all("secure" in t or "doctor" in t or "cli" in t for t in ssl_users)


def test_zoneinfo_files_env_and_dists(impact):
    berlin = impact.tests_using("file:/usr/share/zoneinfo/Europe/Berlin")
    assert berlin and all("timeutil" in t or "cli" in t for t in berlin)
    assert any("test_config" in t for t in impact.tests_using("env:STASHKIT_HOME"))
    assert impact.tests_using("dist:PyYAML") and impact.tests_using("dist:tabulate")


def test_map_is_cached_and_shown(impact, workspace: Workspace, sample_gold, session_workdir):
    import subprocess
    import sys

    again = workspace.probe(sample_gold.gold.id)
    assert again == impact
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cligym",
            "--workdir",
            str(session_workdir),
            "show",
            sample_gold.gold.id,
            "--impact",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "libsqlite3.so.0:" in proc.stdout and "runs /usr/bin/tar" in proc.stdout
