"""The grader every exported task ships as tests/grader.py (standard library only).

Threat model (docs/threat-model.md): during the agent phase the agent is root and may change any
file, binary, profile script or package in the container. Only what the harness copies in
afterwards (tests/) is trusted. So nothing the agent could write decides the reward unchecked:

- `record` runs once in the gold image at export time and writes the gold manifest: digests of
  everything on the grading path (the project, the virtualenv, the interpreter with its standard
  library, the shared libraries, the runner binaries, login and PAM files), the loader cache, the
  test user's login environment and which `python` it resolves.
- `grade` runs after the agent, started by tests/test.sh from a static busybox, under the gold
  interpreter that test.sh has verified byte for byte and started isolated (its own copy, fixed
  home, no site, bytecode caches bypassed). It compares the container with the manifest; any
  difference on the grading path is reward 0 with the paths named. Only then does it run the
  documented test command and grade FAIL_TO_PASS and PASS_TO_PASS from the junit report.

Differences a legitimate repair produces are not held against it: bytecode caches that are a
faithful compilation of their source (or that Python would not load), pip's per-install records,
comment and blank lines in login scripts, new shared libraries that nothing resolves to, and a
conda environment's state file that saves no variable.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import marshal
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

if __package__:  # imported from the cligym package (tests, verification)
    from cligym.shipped.junitxml import JunitParseError, outcomes
else:  # a file of an exported task, next to junitxml.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from junitxml import JunitParseError, outcomes  # type: ignore[no-redef]

MANIFEST_VERSION = 1
STRICT, LIBS, STARTUP = "strict", "libs", "startup"
# pip rewrites these on every install of the same release; nothing at test time reads them
PIP_RECORDS = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
CACHE_DIRS = (".pytest_cache", ".mypy_cache", ".ruff_cache")
# files pytest would read from the filesystem root, above /app
ROOT_PYTEST_FILES = ("/conftest.py", "/pytest.ini", "/.pytest.ini", "/pyproject.toml",
                     "/tox.ini", "/setup.cfg")
CONFIG_TREES = ("/etc/pam.d", "/etc/security", "/etc/ld.so.conf.d")
CONFIG_FILES = ("/etc/ld.so.preload", "/etc/ld.so.conf", "/etc/nsswitch.conf",
                "/etc/environment", "/etc/default/locale", "/etc/login.defs")
STARTUP_FILES = ("/etc/profile", "/etc/bash.bashrc")
HOME_STARTUP = (".profile", ".bashrc", ".bash_profile", ".bash_login", ".bash_logout",
                ".pam_environment", ".bash_aliases")
VOLATILE_ENV = ("PWD", "OLDPWD", "SHLVL", "_")
PROBE_SEPARATOR = "=== cligym resolve ==="
MAX_LISTED = 40


# ---------------------------------------------------------------- walking and digests


def digest(path: str) -> str | None:
    """`l:resolved path` for a symlink (a link that reaches the same file another way is the
    same link), `f:sha256` for a regular file, None if absent or special."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "l:" + os.path.realpath(path)
    if not stat.S_ISREG(st.st_mode):
        return None
    h = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            h.update(_same_interpreter(handle.readline()))
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return "f:unreadable"
    return "f:" + h.hexdigest()


_PYTHON_SHEBANG = re.compile(rb"^#!(\S*/)python[0-9.]*(?=\s|$)")


def _same_interpreter(first_line: bytes) -> bytes:
    """A script's `#!/venv/bin/python3` and `#!/venv/bin/python` name one interpreter (pip
    writes whichever started it): hash them alike. Another directory stays another."""
    return _PYTHON_SHEBANG.sub(rb"#!\1python", first_line)


def scan(root: str) -> dict[str, str]:
    """path -> digest for every file and symlink under root (caches of tools aside)."""
    out: dict[str, str] = {}
    if os.path.islink(root) or os.path.isfile(root):
        d = digest(root)
        return {root: d} if d else {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in CACHE_DIRS]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            d = digest(path)
            if d is not None:
                out[path] = d
    return out


def normalized_script(text: str) -> str:
    """A login script without comment and blank lines: what it does, not how it reads."""
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(x for x in lines if x.strip() and not x.lstrip().startswith("#"))


def script_digest(path: str) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        text = ""
    return hashlib.sha256(normalized_script(text).encode()).hexdigest()


# ---------------------------------------------------------------- bytecode


def pyc_is_faithful(pyc: str) -> bool:
    """True when Python would not load this cached bytecode, or when it is exactly the
    compilation of its source. Planted or stale bytecode that would run is False."""
    if os.path.basename(os.path.dirname(pyc)) != "__pycache__":
        return False  # a sourceless .pyc is importable on its own: treat it as code
    try:
        source = importlib.util.source_from_cache(pyc)
    except ValueError:
        return True  # not a cache name Python would look for
    try:
        data = Path(pyc).read_bytes()
        src = Path(source).read_bytes()
        st = os.stat(source)
    except OSError:
        return True  # no source: Python never loads a __pycache__ file without one
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return True
    flags = int.from_bytes(data[4:8], "little")
    if flags & 1:  # hash-based
        if flags & 2 and data[8:16] != importlib.util.source_hash(src):
            return True
    elif (int.from_bytes(data[8:12], "little") != int(st.st_mtime) & 0xFFFFFFFF
          or int.from_bytes(data[12:16], "little") != st.st_size & 0xFFFFFFFF):
        return True
    opt = 0
    name = os.path.basename(pyc)
    if ".opt-" in name:
        level = name.rsplit(".opt-", 1)[1].split(".", 1)[0]
        opt = int(level) if level.isdigit() else 0
    try:
        code = marshal.loads(data[16:])
        expected = compile(src, source, "exec", dont_inherit=True, optimize=opt)
    except Exception:
        return False
    return bool(code == expected)


def _pip_record(path: str) -> bool:
    parent = os.path.basename(os.path.dirname(path))
    return parent.endswith(".dist-info") and os.path.basename(path) in PIP_RECORDS


def conda_state_is_empty(path: str) -> bool:
    """A conda environment's `conda-meta/state` that saves no variable: `conda env config vars
    unset` leaves `{"env_vars": {}}` behind, and activation exports nothing from it (it reads
    only `env_vars` there), so it is no difference from having none."""
    if not path.endswith("/conda-meta/state"):
        return False
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # a link or a FIFO is never opened
            return False
        with open(path, "rb") as handle:
            state = json.loads(handle.read(65536))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and not state.get("env_vars")


# ---------------------------------------------------------------- comparisons (pure)


def compare_tree(kind: str, gold: dict[str, str], now: dict[str, str]) -> list[str]:
    """Problems of one tree: `changed|missing|added: path`. See the module docstring for
    what a legitimate repair may leave different."""
    problems = []
    for path in sorted(set(gold) | set(now)):
        want, have = gold.get(path), now.get(path)
        if want == have or _pip_record(path):
            continue
        if path.endswith(".pyc") and (have is None or pyc_is_faithful(path)):
            continue
        if have is None:
            problems.append(f"missing: {path}")
        elif want is None:
            if kind != LIBS and not conda_state_is_empty(path):
                problems.append(f"added: {path}")
        else:
            problems.append(f"changed: {path}")
    return problems


def compare_scripts(gold: dict[str, str], now: dict[str, str]) -> list[str]:
    """Login scripts: same commands as gold (comments and blank lines aside); a script gold did
    not have must be empty."""
    empty = hashlib.sha256(b"").hexdigest()
    problems = []
    for path in sorted(set(gold) | set(now)):
        if gold.get(path, empty) != now.get(path, empty):
            problems.append(f"login script differs: {path}")
    return problems


def parse_ldconfig(text: str) -> dict[str, str]:
    """`ldconfig -p` -> {"soname (abi)": path}."""
    out = {}
    for line in text.splitlines():
        if "=>" not in line:
            continue
        left, path = line.rsplit("=>", 1)
        out[" ".join(left.split())] = path.strip()
    return out


def compare_ldcache(gold: dict[str, str], now: dict[str, str]) -> list[str]:
    """Every library gold's loader cache knew must resolve to the same file (new ones may be
    added; a missing entry falls back to the trusted default directories)."""
    return [
        f"loader cache: {name} -> {now[name]} (gold: {path})"
        for name, path in sorted(gold.items())
        if name in now and now[name] != path
    ]


def parse_login_probe(text: str) -> tuple[dict[str, str], str]:
    """(exported variables, resolved `python`) from `export -p; echo SEP; command -v python`."""
    env_part, _, rest = text.partition(PROBE_SEPARATOR)
    env: dict[str, str] = {}
    for line in env_part.splitlines():
        if line.startswith("declare -x "):
            name, _, value = line[len("declare -x "):].partition("=")
            if name not in VOLATILE_ENV:
                env[name] = value
    return env, rest.strip()


def compare_login(gold: dict[str, Any], env: dict[str, str], python: str) -> list[str]:
    problems = []
    gold_env = gold["env"]
    for name in sorted(set(gold_env) | set(env)):
        if name == "PATH" and name in gold_env and name in env:
            problems += compare_path(gold_env[name], env[name])
        elif gold_env.get(name) != env.get(name):
            problems.append(f"login environment: {name}={env.get(name, '(unset)')}")
    if python != gold["python"]:
        problems.append(f"login shell runs python from {python or '(nothing)'}, "
                        f"gold from {gold['python']}")
    return problems


def compare_path(gold_value: str, value: str) -> list[str]:
    """The login PATH keeps gold's directories in gold's order; a directory it adds must hold
    nothing (Debian's ~/.profile adds ~/.local/bin whenever it exists, even empty)."""
    gold_dirs, dirs = gold_value.strip('"').split(":"), value.strip('"').split(":")
    if [d for d in dirs if d in gold_dirs] != gold_dirs:
        return [f"login environment: PATH={value}"]
    problems = []
    for extra in (d for d in dirs if d not in gold_dirs):
        try:
            held = sorted(os.listdir(extra))
        except OSError:
            continue
        if held:
            problems.append(f"login PATH adds {extra}, which holds {', '.join(held[:5])}")
    return problems


def compare_users(gold: dict[str, str], passwd_text: str) -> list[str]:
    lines = {line.split(":", 1)[0]: line for line in passwd_text.splitlines() if ":" in line}
    return [f"account changed: {user}" for user, line in sorted(gold.items())
            if lines.get(user) != line]


# ---------------------------------------------------------------- record (gold side)


def _ldd(paths: Iterable[str]) -> set[str]:
    libs: set[str] = set()
    for path in paths:
        out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if "=>" in parts and len(parts) > parts.index("=>") + 1:
                libs.add(parts[parts.index("=>") + 1])
            elif parts and parts[0].startswith("/"):
                libs.add(parts[0])
    return {p for p in libs if p.startswith("/")}


def _which(name: str, path_var: str) -> str:
    for d in path_var.split(":"):
        candidate = os.path.join(d or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return ""


def _startup_markers(interpreter: str) -> list[str]:
    bindir = os.path.dirname(interpreter)
    version = f"{sys.version_info[0]}{sys.version_info[1]}"
    return [os.path.join(bindir, "pyvenv.cfg"), os.path.join(os.path.dirname(bindir), "pyvenv.cfg"),
            os.path.join(bindir, "pybuilddir.txt"),
            os.path.join(sys.base_prefix, "lib", f"python{version}.zip"),
            "/etc/ld.so.preload"]


def login_probe(spec: dict[str, Any], env: dict[str, str]) -> str:
    script = f"export -p; echo '{PROBE_SEPARATOR}'; command -v python"
    result = subprocess.run(
        [str(spec["runuser"]), "-u", str(spec["user"]), "--", "bash", "-lc", script],
        cwd=str(spec["app"]), env=env, capture_output=True, text=True, timeout=60,
    )
    return result.stdout


def runner_env(spec: dict[str, Any]) -> dict[str, str]:
    """The environment the documented command starts from: the image's, plus HOME and the
    hash seed of verification runs (never what the caller passed in)."""
    env: dict[str, str] = dict(spec["container_env"])
    env["HOME"] = str(spec["home"])
    env["PYTHONHASHSEED"] = "1"
    return env


def record(spec: dict[str, Any]) -> dict[str, Any]:
    """The gold manifest (run in the gold image, as root)."""
    import sysconfig

    interpreter = os.path.realpath(sys.executable)
    stdlib = sysconfig.get_paths()["stdlib"]
    platstdlib = sysconfig.get_paths()["platstdlib"]
    venv, app, home = str(spec["venv"]), str(spec["app"]), str(spec["home"])
    container_path = dict(spec["container_env"]).get("PATH", "")
    bash = _which("bash", container_path)
    binaries = {interpreter, os.path.realpath(bash), os.path.realpath("/bin/bash"),
                os.path.realpath(str(spec["runuser"])), os.path.realpath("/sbin/ldconfig")}
    elf = [p for root in (stdlib, platstdlib, venv) for p in scan(root)
           if p.endswith(".so") and os.path.isfile(p)]
    libs = _ldd(sorted(binaries) + elf)
    lib_dirs = sorted({os.path.dirname(os.path.realpath(p)) for p in libs})
    loader = sorted(p for p in libs if "/ld-linux" in p)
    trees: dict[str, dict[str, Any]] = {}
    for root, kind in [(app, STRICT), (venv, STRICT), (stdlib, STRICT), (platstdlib, STRICT),
                       *[(d, LIBS) for d in lib_dirs], *[(t, STRICT) for t in CONFIG_TREES]]:
        trees[root] = {"kind": kind, "files": scan(root)}
    for path in sorted(binaries | set(loader) | set(CONFIG_FILES) | set(ROOT_PYTEST_FILES)):
        trees.setdefault(path, {"kind": STRICT, "files": scan(path)})
    # files the standard library links to elsewhere (Debian's sitecustomize in /etc)
    for path, d in list(trees[stdlib]["files"].items()):
        if d.startswith("l:"):
            target = os.path.realpath(path)
            trees.setdefault(target, {"kind": STRICT, "files": scan(target)})
    scripts = [*STARTUP_FILES, *[os.path.join(home, n) for n in HOME_STARTUP]]
    profile_d = "/etc/profile.d"
    if os.path.isdir(profile_d):
        scripts += [os.path.join(profile_d, n) for n in sorted(os.listdir(profile_d))]
    ldcache = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    env, python = parse_login_probe(login_probe(spec, runner_env(spec)))
    passwd = Path("/etc/passwd").read_text()
    users = {u: line for line in passwd.splitlines() for u in ("root", str(spec["user"]))
             if line.startswith(u + ":")}
    # what test.sh checks with busybox before it trusts this interpreter to run grade()
    boot = {p: d for root in (stdlib, platstdlib) for p, d in scan(root).items()
            if not p.endswith(".pyc")}
    boot_files = {p: d for p in sorted({interpreter, *loader, *libs,
                                        os.path.realpath("/sbin/ldconfig")})
                  if (d := digest(os.path.realpath(p)))}
    # files that, if created, would change where an interpreter finds its standard library
    absent = sorted(p for p in _startup_markers(interpreter) if not os.path.lexists(p))
    return {
        "version": MANIFEST_VERSION,
        "spec": spec,
        "interpreter": interpreter,
        "bash": bash,
        "python_home": sys.base_prefix,
        "stdlib": stdlib,
        "lib_dirs": lib_dirs,
        "loader": loader[0] if loader else "",
        "trees": trees,
        "scripts": {p: script_digest(p) for p in scripts if os.path.isfile(p)},
        "profile_d": profile_d,
        "ldcache": parse_ldconfig(ldcache),
        "login": {"env": env, "python": python},
        "users": users,
        "boot": {"stdlib_roots": sorted({stdlib, platstdlib}), "stdlib_files": sorted(boot),
                 "files": boot_files, "absent": absent},
    }


# ---------------------------------------------------------------- grade (task side)


def check_integrity(manifest: dict[str, Any]) -> list[str]:
    """Every difference from gold on the grading path that a repair would not leave."""
    problems: list[str] = []
    trees = manifest["trees"]
    for root, entry in trees.items():
        problems += compare_tree(entry["kind"], entry["files"], scan(root))
    spec = manifest["spec"]
    scripts = manifest["scripts"]
    profile_d = str(manifest["profile_d"])
    now_scripts = {p: script_digest(p) for p in scripts if os.path.exists(p)}
    if os.path.isdir(profile_d):
        for name in os.listdir(profile_d):
            path = os.path.join(profile_d, name)
            now_scripts[path] = script_digest(path)
    home = str(spec["home"])
    for name in HOME_STARTUP:
        path = os.path.join(home, name)
        if os.path.exists(path):
            now_scripts[path] = script_digest(path)
    problems += compare_scripts(scripts, now_scripts)
    try:
        passwd = Path("/etc/passwd").read_text()
    except OSError:
        passwd = ""
    problems += compare_users(manifest["users"], passwd)
    path = str(spec["container_env"].get("PATH", ""))
    bash = _which("bash", path)
    if bash != manifest["bash"]:
        problems.append(f"runuser would start bash from {bash or '(nothing)'}, "
                        f"gold from {manifest['bash']}")
    if problems:
        return problems  # the checks below run programs that the files above must vouch for
    ldcache = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    problems += compare_ldcache(manifest["ldcache"], parse_ldconfig(ldcache))
    env, python = parse_login_probe(login_probe(spec, runner_env(spec)))
    problems += compare_login(manifest["login"], env, python)
    return problems


def grade(junit_text: str | None, expected: dict[str, list[str]]) -> tuple[bool, list[str]]:
    """(all passed, report lines) for the expected FAIL_TO_PASS and PASS_TO_PASS tests. A
    test missing from the report, skipped, failed or errored counts as not passed; so does a
    missing or unreadable report, so a broken runner can never grade as success."""
    if not junit_text:
        return False, ["no junit report: the test runner did not run"]
    try:
        seen = outcomes(junit_text)
    except JunitParseError as err:
        return False, [f"unreadable junit report: {err}"]
    lines = []
    ok = True
    for group in ("fail_to_pass", "pass_to_pass"):
        wanted = expected.get(group, [])
        bad = [t for t in wanted if seen.get(t) != "passed"]
        ok = ok and not bad
        lines.append(f"{group}: {len(wanted) - len(bad)}/{len(wanted)} passed")
        lines += [f"  not passed ({seen.get(t, 'missing')}): {t}" for t in bad[:50]]
    return ok, lines


def run_tests(spec: dict[str, Any], timeout_sec: int) -> str | None:
    """The documented command, as the test user in a login shell; the junit report's text."""
    results = str(spec["results_dir"])
    if os.path.islink(results) or os.path.isfile(results):
        os.unlink(results)
    elif os.path.isdir(results):
        shutil.rmtree(results)
    os.makedirs(results, mode=0o755)
    os.chown(results, int(spec["uid"]), int(spec["gid"]))
    argv = [str(spec["runuser"]), "-u", str(spec["user"]), "--", "bash", "-lc",
            str(spec["test_script"])]
    try:
        result = subprocess.run(argv, cwd=str(spec["app"]), env=runner_env(spec),
                                capture_output=True, text=True, errors="replace",
                                timeout=timeout_sec, start_new_session=True)
        print("\n".join((result.stdout + result.stderr).splitlines()[-15:]))
    except subprocess.TimeoutExpired:
        print(f"the tests did not finish within {timeout_sec} s")
    junit = Path(results) / "junit.xml"
    return junit.read_text(errors="replace") if junit.is_file() else None


def load_manifest(path: str) -> dict[str, Any]:
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    manifest = json.loads(data)
    if manifest.get("version") != MANIFEST_VERSION:
        raise SystemExit(f"unknown manifest version {manifest.get('version')}")
    return dict(manifest)


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[1] == "record":
        spec = json.loads(Path(argv[2]).read_text())
        sys.stdout.write(json.dumps(record(spec), sort_keys=True))
        return 0
    if len(argv) >= 5 and argv[1] == "grade":
        manifest = load_manifest(argv[2])
        expected = json.loads(Path(argv[3]).read_text())
        problems = check_integrity(manifest)
        if problems:
            print(f"integrity: {len(problems)} difference(s) from the original environment "
                  "on the grading path")
            print("\n".join(f"  {p}" for p in problems[:MAX_LISTED]))
            print("RESULT: FAIL")
            return 1
        print("integrity: the grading path matches the original environment")
        ok, lines = grade(run_tests(manifest["spec"], int(argv[4])), expected)
        print("\n".join(lines))
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    print("usage: grader.py record SPEC.json | grade MANIFEST EXPECTED.json TIMEOUT_SEC")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
