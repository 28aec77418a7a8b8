"""Every check of the shipped grader, without Docker: each rule, and a way around it it stops."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import py_compile
import subprocess
import sys
from pathlib import Path

from cligym.shipped.grader import (
    LIBS,
    PROBE_SEPARATOR,
    STARTUP,
    STRICT,
    compare_ldcache,
    compare_login,
    compare_scripts,
    compare_tree,
    compare_users,
    normalized_script,
    parse_ldconfig,
    parse_login_probe,
    pyc_is_faithful,
    scan,
    script_digest,
)

SHA = "f:" + "0" * 64
OTHER = "f:" + "1" * 64


def test_strict_tree_names_changed_missing_and_added_files():
    gold = {"/app/a.py": SHA, "/app/b.py": SHA}
    now = {"/app/a.py": OTHER, "/app/c.py": SHA}
    assert compare_tree(STRICT, gold, now) == [
        "changed: /app/a.py", "missing: /app/b.py", "added: /app/c.py"
    ]
    assert compare_tree(STRICT, gold, dict(gold)) == []


def test_a_conda_state_file_counts_only_for_the_variables_it_saves(tmp_path: Path):
    """`conda env config vars unset` leaves an empty state behind: a repair, not a
    difference. One that still saves a variable (or is not JSON) is added content."""
    env = tmp_path / "envs" / "testbed"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").write_text("# cmd: conda create -n testbed\n")
    gold = scan(str(env))
    state = env / "conda-meta" / "state"
    state.write_text('{"env_vars": {}}')
    assert compare_tree(STRICT, gold, scan(str(env))) == []
    state.write_text('{"env_vars": {"PYTHONPATH": "/tmp/x"}}')
    assert compare_tree(STRICT, gold, scan(str(env))) == [f"added: {state}"]
    state.write_text("not json")
    assert compare_tree(STRICT, gold, scan(str(env))) == [f"added: {state}"]
    state.unlink()
    os.symlink(tmp_path / "elsewhere", state)  # a link (to a FIFO, say) is never opened
    (tmp_path / "elsewhere").write_text('{"env_vars": {}}')
    assert compare_tree(STRICT, gold, scan(str(env))) == [f"added: {state}"]
    state.unlink()
    state.write_text("{}")
    # anywhere else the same name is an added file like any other
    (env / "state").write_text('{"env_vars": {}}')
    state.unlink()
    assert compare_tree(STRICT, gold, scan(str(env))) == [f"added: {env / 'state'}"]


def test_symlinks_compare_by_the_file_they_reach(tmp_path: Path):
    real = tmp_path / "python3.11"
    real.write_text("interpreter")
    os.symlink("python3.11", tmp_path / "python3")
    os.symlink("python3", tmp_path / "python")
    gold = scan(str(tmp_path))
    (tmp_path / "python").unlink()
    os.symlink(str(real), tmp_path / "python")  # another way to the same file: a repair
    assert compare_tree(STRICT, gold, scan(str(tmp_path))) == []
    (tmp_path / "shim").write_text("#!/bin/sh\n")
    (tmp_path / "python").unlink()
    os.symlink("shim", tmp_path / "python")
    assert compare_tree(STRICT, gold, scan(str(tmp_path))) == [
        f"changed: {tmp_path / 'python'}", f"added: {tmp_path / 'shim'}"
    ]


def test_scripts_naming_the_same_venv_interpreter_are_the_same(tmp_path: Path):
    body = "\nimport sys\nfrom tabulate import _main\nsys.exit(_main())\n"
    (tmp_path / "tabulate").write_text("#!/opt/venv/bin/python3" + body)
    gold = scan(str(tmp_path))
    (tmp_path / "tabulate").write_text("#!/opt/venv/bin/python" + body)  # pip -m pip writes this
    assert compare_tree(STRICT, gold, scan(str(tmp_path))) == []
    (tmp_path / "tabulate").write_text("#!/usr/bin/python3" + body)  # outside the venv
    assert compare_tree(STRICT, gold, scan(str(tmp_path))) == [f"changed: {tmp_path}/tabulate"]


def test_library_directories_may_gain_files_but_not_change_them():
    gold = {"/usr/lib/x/libz.so.1": SHA}
    assert compare_tree(LIBS, gold, {**gold, "/usr/lib/x/libnew.so.1": SHA}) == []
    assert compare_tree(LIBS, gold, {"/usr/lib/x/libz.so.1": OTHER}) == [
        "changed: /usr/lib/x/libz.so.1"
    ]
    assert compare_tree(LIBS, gold, {}) == ["missing: /usr/lib/x/libz.so.1"]


def test_pip_install_records_may_differ_but_metadata_may_not():
    base = "/opt/venv/lib/python3.11/site-packages/pkg-1.0.dist-info"
    gold = {f"{base}/RECORD": SHA, f"{base}/METADATA": SHA, f"{base}/entry_points.txt": SHA}
    now = {f"{base}/RECORD": OTHER, f"{base}/METADATA": SHA, f"{base}/entry_points.txt": OTHER,
           f"{base}/direct_url.json": SHA}
    assert compare_tree(STRICT, gold, now) == [f"changed: {base}/entry_points.txt"]


def _module(tmp_path: Path, source: str) -> tuple[Path, Path]:
    src = tmp_path / "mod.py"
    src.write_text(source)
    pyc = Path(importlib.util.cache_from_source(str(src)))
    py_compile.compile(str(src), cfile=str(pyc), doraise=True)
    return src, pyc


def test_bytecode_that_matches_its_source_is_accepted(tmp_path: Path):
    src, pyc = _module(tmp_path, "def f():\n    return 1\n")
    assert pyc_is_faithful(str(pyc))
    gold = {**scan(str(tmp_path)), str(pyc): "f:gold-compiled-elsewhere"}
    assert compare_tree(STRICT, gold, scan(str(tmp_path))) == []  # recompiled: still faithful
    assert src.exists()


def test_planted_bytecode_that_python_would_load_is_rejected(tmp_path: Path):
    src, pyc = _module(tmp_path, "def f():\n    return 1\n")
    honest = pyc.read_bytes()
    # same header (source mtime and size), other code: what a stale-bytecode fault or a
    # cheat planted next to a test module looks like
    evil = compile("def f():\n    return 2\n", str(src), "exec")
    import marshal

    pyc.write_bytes(honest[:16] + marshal.dumps(evil))
    assert not pyc_is_faithful(str(pyc))
    gold = {str(src): scan(str(tmp_path))[str(src)]}
    assert compare_tree(STRICT, gold, scan(str(tmp_path))) == [f"added: {pyc}"]
    # Python itself agrees it would run the planted code
    run = subprocess.run([sys.executable, "-c", "import mod; print(mod.f())"], cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "2"


def test_bytecode_python_would_not_load_is_harmless(tmp_path: Path):
    _, pyc = _module(tmp_path, "x = 1\n")
    data = bytearray(pyc.read_bytes())
    data[8:12] = (int.from_bytes(data[8:12], "little") + 7).to_bytes(4, "little")  # stale mtime
    data[16:] = b"garbage"
    pyc.write_bytes(bytes(data))
    assert pyc_is_faithful(str(pyc))
    sourceless = tmp_path / "cheat.pyc"  # beside, not in __pycache__: importable on its own
    sourceless.write_bytes(b"anything")
    assert not pyc_is_faithful(str(sourceless))


def test_unchecked_hash_bytecode_is_checked_against_its_source(tmp_path: Path):
    src = tmp_path / "mod.py"
    src.write_text("x = 1\n")
    pyc = Path(importlib.util.cache_from_source(str(src)))
    py_compile.compile(str(src), cfile=str(pyc), doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    assert pyc_is_faithful(str(pyc))
    src.write_text("x = 2\n")  # python keeps using the unchecked pyc: its code no longer matches
    assert not pyc_is_faithful(str(pyc))


def test_login_scripts_compare_by_what_they_do():
    text = "# set up\nexport A=1\n\n  # note\nexport B=2   \n"
    assert normalized_script(text) == "export A=1\nexport B=2"
    empty = hashlib.sha256(b"").hexdigest()
    gold = {"/etc/profile": "p", "/home/tester/.profile": "h"}
    assert compare_scripts(gold, {**gold, "/etc/profile.d/zz.sh": empty}) == []
    assert compare_scripts(gold, {**gold, "/etc/profile.d/zz.sh": "x"}) == [
        "login script differs: /etc/profile.d/zz.sh"
    ]
    assert compare_scripts(gold, {"/etc/profile": "p"}) == [
        "login script differs: /home/tester/.profile"
    ]


def test_script_digest_of_a_commented_out_line_equals_the_original(tmp_path: Path):
    original = tmp_path / "a.sh"
    original.write_text("export PATH=/usr/bin\n")
    repaired = tmp_path / "b.sh"
    repaired.write_text("export PATH=/usr/bin\n# export PYTHONPATH=/opt/shadow\n")
    poisoned = tmp_path / "c.sh"
    poisoned.write_text("export PATH=/usr/bin\nexport PYTHONPATH=/opt/shadow\n")
    assert script_digest(str(original)) == script_digest(str(repaired))
    assert script_digest(str(original)) != script_digest(str(poisoned))


def test_loader_cache_entries_of_gold_must_resolve_the_same():
    text = (
        "3 libs found in cache `/etc/ld.so.cache'\n"
        "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1\n"
        "\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6\n"
    )
    gold = parse_ldconfig(text)
    assert gold["libz.so.1 (libc6,x86-64)"] == "/lib/x86_64-linux-gnu/libz.so.1"
    now = {**gold, "libnew.so.1 (libc6,x86-64)": "/usr/local/lib/libnew.so.1"}
    assert compare_ldcache(gold, now) == []
    del now["libz.so.1 (libc6,x86-64)"]
    assert compare_ldcache(gold, now) == []  # falls back to the trusted default directories
    now["libc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0)"] = "/opt/evil/libc.so.6"
    assert compare_ldcache(gold, now) == [
        "loader cache: libc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) -> /opt/evil/libc.so.6 "
        "(gold: /lib/x86_64-linux-gnu/libc.so.6)"
    ]


def test_login_environment_and_python_resolution(tmp_path: Path):
    probe = (
        'declare -x HOME="/home/tester"\ndeclare -x PATH="/opt/venv/bin:/usr/bin"\n'
        'declare -x PWD="/app"\ndeclare -x SHLVL="1"\n'
        f"{PROBE_SEPARATOR}\n/opt/venv/bin/python\n"
    )
    env, python = parse_login_probe(probe)
    assert env == {"HOME": '"/home/tester"', "PATH": '"/opt/venv/bin:/usr/bin"'}
    gold = {"env": env, "python": python}
    assert compare_login(gold, env, python) == []
    cheat = {**env, "PYTEST_ADDOPTS": '"-p cheat"'}
    assert compare_login(gold, cheat, python) == ['login environment: PYTEST_ADDOPTS="-p cheat"']
    # an added PATH directory is harmless while it is empty
    shims = tmp_path / ".local" / "bin"
    shims.mkdir(parents=True)
    longer = {**env, "PATH": f'"{shims}:/opt/venv/bin:/usr/bin"'}
    assert compare_login(gold, longer, python) == []
    (shims / "python").write_text("#!/bin/sh\n")
    assert compare_login(gold, longer, python) == [f"login PATH adds {shims}, which holds python"]
    reordered = {**env, "PATH": '"/usr/bin:/opt/venv/bin"'}
    assert compare_login(gold, reordered, python) == [
        'login environment: PATH="/usr/bin:/opt/venv/bin"'
    ]
    assert compare_login(gold, env, "/home/tester/.local/bin/python") == [
        "login shell runs python from /home/tester/.local/bin/python, "
        "gold from /opt/venv/bin/python"
    ]


def test_accounts_of_gold_users_must_be_unchanged():
    gold = {"tester": "tester:x:1000:1000::/home/tester:/bin/bash"}
    passwd = "root:x:0:0:root:/root:/bin/bash\n" + gold["tester"] + "\nnew:x:1001:1001::/:/x\n"
    assert compare_users(gold, passwd) == []
    moved = passwd.replace("/home/tester", "/tmp/t")
    assert compare_users(gold, moved) == ["account changed: tester"]


def test_scan_records_links_and_files_and_skips_tool_caches(tmp_path: Path):
    (tmp_path / "a.py").write_text("x")
    (tmp_path / ".pytest_cache").mkdir()
    (tmp_path / ".pytest_cache" / "v").write_text("y")
    os.symlink("a.py", tmp_path / "b.py")
    found = scan(str(tmp_path))
    assert found == {
        str(tmp_path / "a.py"): "f:" + hashlib.sha256(b"x").hexdigest(),
        str(tmp_path / "b.py"): f"l:{tmp_path / 'a.py'}",
    }
    assert STARTUP not in json.dumps(found)
