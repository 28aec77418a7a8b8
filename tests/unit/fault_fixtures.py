"""A synthetic gold env + impact map rich enough for every fault family (no Docker)."""

from __future__ import annotations

from cligym.faults.base import FaultContext
from cligym.probe.impact import parse_probe_payload
from cligym.records import StabilityReport
from tests.unit.test_catalog import gold

SITE = "/opt/venv/lib/python3.11/site-packages"
LIB = "/usr/lib/x86_64-linux-gnu"
TESTS = [f"tests/test_{n}.py::test_{n}" for n in ("db", "cfg", "tz", "ssl", "cli", "loc", "tab")]


def payload() -> dict:
    sqlite_so = "/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so"
    ssl_so = "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so"
    return {
        "executable": "/usr/bin/python3.11",
        "interpreter_libs": [f"{LIB}/libz.so.1.2.13|libz.so.1"],
        "system_libs": [f"{LIB}/liblzma.so.5.4.1|liblzma.so.5"],
        "paths": {
            "stdlib": "/usr/lib/python3.11",
            "purelib": SITE,
            "lib_dynload": "/usr/lib/python3.11/lib-dynload",
        },
        "dist_versions": {"PyYAML": "6.0.3", "tabulate": "0.10.0", "demo": "1.0"},
        "owners": {
            f"{LIB}/libsqlite3.so.0.8.6": "libsqlite3-0",
            "/usr/bin/tar": "tar",
            f"{LIB}/libssl.so.3": "libssl3",
            sqlite_so: "libpython3.11-stdlib",
        },
        "modules": {
            "_sqlite3": sqlite_so,
            "sqlite3": "/usr/lib/python3.11/sqlite3/__init__.py",
            "_ssl": ssl_so,
            "ssl": "/usr/lib/python3.11/ssl.py",
            "yaml": f"{SITE}/yaml/__init__.py",
            "yaml._yaml": f"{SITE}/yaml/_yaml.cpython-311-x86_64-linux-gnu.so",
            "tabulate": f"{SITE}/tabulate/__init__.py",
            "zoneinfo": "/usr/lib/python3.11/zoneinfo/__init__.py",
            "tarfile": "/usr/lib/python3.11/tarfile.py",
            "encodings.idna": "/usr/lib/python3.11/encodings/idna.py",
            "locale": "/usr/lib/python3.11/locale.py",
        },
        "extension_libs": {
            sqlite_so: [
                f"{LIB}/libsqlite3.so.0.8.6|libsqlite3.so.0",
                f"{LIB}/liblzma.so.5.4.1|liblzma.so.5",
            ],
            ssl_so: [f"{LIB}/libssl.so.3|libssl.so.3", f"{LIB}/libcrypto.so.3|libcrypto.so.3"],
        },
        "distributions": {"yaml": ["PyYAML"], "tabulate": ["tabulate"], "demo": ["demo"]},
        "contexts": {
            TESTS[0]: {"modules": ["sqlite3"]},
            TESTS[1]: {
                "modules": ["yaml", "yaml._yaml"],
                "files": ["/app/demo.yaml"],
                "env": ["DEMO_HOME"],
            },
            TESTS[2]: {"modules": ["zoneinfo"], "files": ["/usr/share/zoneinfo/Europe/Berlin"]},
            TESTS[3]: {"modules": ["ssl"]},
            TESTS[4]: {
                "modules": ["tarfile"],
                "executables": ["tar", "/usr/bin/tar", "/opt/venv/bin/demo"],
            },
            TESTS[5]: {"modules": ["locale", "encodings.idna"], "env": ["LANG", "HOME"]},
            TESTS[6]: {"modules": ["tabulate"]},
        },
    }


def context() -> FaultContext:
    g = gold("feedfacefeedface").model_copy(
        update={
            "stability": StabilityReport(
                runs=2, stable_passing=tuple(TESTS), flaky=(), failing=(), skipped=()
            ),
        }
    )
    impact = parse_probe_payload(g.id, payload(), TESTS)
    return FaultContext(g, impact, releases={"tabulate": ("0.8.9", "0.8.10", "0.9.0", "0.10.0")})
