from cligym.probe.impact import extension_owners, parse_probe_payload
from cligym.records import ResourceKey, ResourceKind
from cligym.resources import render_impact_summary

SQLITE_SO = "/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so"
YAML_SO = "/opt/venv/lib/python3.11/site-packages/yaml/_yaml.cpython-311-x86_64-linux-gnu.so"
PAYLOAD = {
    "executable": "/usr/bin/python3.11",
    "interpreter_libs": ["/usr/lib/x86_64-linux-gnu/libz.so.1.2.13|libz.so.1"],
    "modules": {
        "_sqlite3": SQLITE_SO,
        "sqlite3": "/usr/lib/python3.11/sqlite3/__init__.py",
        "yaml": "/opt/venv/lib/python3.11/site-packages/yaml/__init__.py",
        "yaml._yaml": YAML_SO,
        "_pytest.main": "/opt/venv/lib/python3.11/site-packages/_pytest/main.py",
        "zlib": None,
    },
    "extension_libs": {
        SQLITE_SO: ["/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6|libsqlite3.so.0"],
        YAML_SO: ["/usr/lib/x86_64-linux-gnu/libyaml-0.so.2.0.9|libyaml-0.so.2"],
    },
    "distributions": {"yaml": ["PyYAML"], "_yaml": ["PyYAML"]},
    "contexts": {
        "<session>": {"imports": ["zlib", "_pytest.main"], "env": ["PYTEST_ADDOPTS"]},
        "collect:tests/test_db.py": {"imports": ["sqlite3"]},
        "tests/test_db.py::test_insert": {
            "modules": ["sqlite3", "_pytest.main"],
            "env": ["STASH_HOME"],
        },
        "tests/test_db.py::test_other": {
            "modules": [],
            "mapped": ["/usr/lib/x86_64-linux-gnu/libffi.so.8.1.2"],
        },
        "tests/test_cfg.py::test_load": {
            "modules": ["yaml.cyaml"],
            "files": ["/app/stash.yaml", "/tmp/pytest-of-x/f"],
            "executables": ["tar", "/usr/bin/tar"],
        },
        "tests/test_cfg.py::test_flaky": {"modules": ["yaml"]},
    },
}
TESTS = [
    "tests/test_db.py::test_insert",
    "tests/test_db.py::test_other",
    "tests/test_cfg.py::test_load",
]


def test_extension_owners_by_normal_name_and_parent():
    owners = extension_owners({"_sqlite3": SQLITE_SO, "yaml._yaml": YAML_SO})
    assert owners["sqlite3"] == ["_sqlite3"]
    assert owners["yaml"] == ["yaml._yaml", "yaml._yaml"] or "yaml._yaml" in owners["yaml"]


def test_parse_attributes_libs_modules_files_env_commands():
    impact = parse_probe_payload("g1", PAYLOAD, TESTS)
    db_tests = set(impact.tests_using("lib:/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"))
    # collection-time import counts for every test of the module
    assert db_tests == {"tests/test_db.py::test_insert", "tests/test_db.py::test_other"}
    assert impact.tests_using("env:STASH_HOME") == ("tests/test_db.py::test_insert",)
    # a library that appeared in /proc/self/maps while the test ran
    assert impact.tests_using("lib:/usr/lib/x86_64-linux-gnu/libffi.so.8.1.2") == (
        "tests/test_db.py::test_other",
    )
    assert impact.tests_using("path:tar") == ("tests/test_cfg.py::test_load",)
    assert impact.tests_using("exe:/usr/bin/tar") == ("tests/test_cfg.py::test_load",)
    assert impact.tests_using("file:/app/stash.yaml") == ("tests/test_cfg.py::test_load",)
    assert ResourceKey.parse("file:/tmp/pytest-of-x/f") not in impact.resources
    # yaml.cyaml ran -> parent package yaml -> extension yaml._yaml -> libyaml, dist PyYAML
    assert impact.tests_using("lib:/usr/lib/x86_64-linux-gnu/libyaml-0.so.2.0.9") == (
        "tests/test_cfg.py::test_load",
    )
    assert impact.tests_using("dist:PyYAML") == ("tests/test_cfg.py::test_load",)
    # pytest internals are noise; flaky (non-stable) tests are not in the map
    assert not any(str(k).startswith("module:_pytest") for k in impact.resources)
    assert "tests/test_cfg.py::test_flaky" not in impact.tests
    assert ResourceKey(ResourceKind.ENV, "PYTEST_ADDOPTS") in impact.global_resources
    assert impact.lib_names["/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"] == "libsqlite3.so.0"
    assert impact.interpreter_libs == ("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",)


def test_summary_lines_name_libs_and_counts():
    lines = render_impact_summary(parse_probe_payload("g1", PAYLOAD, TESTS))
    assert lines[0].startswith("3 tests probed")
    lib_line = next(line for line in lines if line.startswith("lib:"))
    assert "libsqlite3.so.0: 2 tests" in lib_line and "libyaml-0.so.2: 1 tests" in lib_line
    assert any("PATH lookup of tar: 1 tests" in line for line in lines)


def test_probe_leaves_out_files_of_frozen_modules():
    import json as json_module
    import zipimport

    from cligym.shipped.probe_plugin import _module_file

    assert zipimport.__spec__ is not None and zipimport.__spec__.origin == "frozen"
    assert _module_file(zipimport) is None  # its .py exists, but is never read
    assert _module_file(json_module) == json_module.__file__
    assert _module_file(None) is None
