"""cligym impact probe: a pytest plugin copied into gold containers (stdlib only, Python >= 3.8).

Loaded with `-p cligym_probe`, it records per test id what the test touches, so the inversion
search can aim faults at resources that tests really use:
- modules whose Python code ran, and owners of C functions called (a profile hook);
- modules imported (at collection time they count for every test of that module);
- files opened, executables started, libraries dlopen'ed (audit hooks);
- environment variables read (os.environ lookups).
At the end it maps loaded extension modules and the interpreter to the shared libraries they
need (`ldd`) and writes one JSON file to $CLIGYM_PROBE_OUT.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from types import FrameType
from typing import Any

import pytest

_SKIP_PREFIXES = ("/proc/", "/dev/", "/sys/")
_SESSION = "<session>"
_ENV_PLUMBING = ("os", "_collections_abc", "collections.abc")


class _Recorder:
    def __init__(self) -> None:
        self.context = _SESSION
        self.data: dict[str, dict[str, set[str]]] = {}
        self.active = True

    def bucket(self, kind: str) -> set[str]:
        per = self.data.setdefault(self.context, {})
        return per.setdefault(kind, set())

    # -- audit hook ---------------------------------------------------------------------
    def audit(self, event: str, args: Any) -> None:
        if not self.active:
            return
        try:
            if event == "open":
                path = args[0]
                if isinstance(path, bytes):
                    path = path.decode(errors="replace")
                if (
                    isinstance(path, str)
                    and path.startswith("/")
                    and not path.startswith(_SKIP_PREFIXES)
                    and not path.endswith((".py", ".pyc"))
                ):
                    self.bucket("files").add(os.path.normpath(path))
            elif event == "import":
                self.bucket("imports").add(str(args[0]))
            elif event == "subprocess.Popen":
                executable, argv = args[0], args[1]
                name = executable or (argv[0] if isinstance(argv, (list, tuple)) and argv else argv)
                self._exe(name, args[4] if len(args) > 4 else None)
            elif event in ("os.exec", "os.posix_spawn"):
                self._exe(args[0], None)
            elif event == "ctypes.dlopen":
                self.bucket("dlopen").add(str(args[0]))
        except Exception:  # the probe must never break a test
            pass

    def _exe(self, name: Any, env: Any) -> None:
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        if not isinstance(name, str):
            name = str(name)
        self.bucket("executables").add(name)
        path = None
        if isinstance(env, dict) and "PATH" in env:
            path = env["PATH"]
        resolved = name if "/" in name else shutil.which(name, path=path)
        if resolved:
            self.bucket("executables").add(os.path.realpath(resolved))

    # -- profile hook -------------------------------------------------------------------
    def profile(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            name = frame.f_globals.get("__name__")
            if name:
                self.bucket("modules").add(name)
        elif event == "c_call":
            owner = getattr(arg, "__module__", None)
            if owner is None:
                bound = getattr(arg, "__self__", None)
                if bound is not None and not isinstance(bound, type(sys)):
                    owner = type(bound).__module__
            if owner:
                self.bucket("modules").add(owner)

    # -- environment --------------------------------------------------------------------
    def env_read(self, key: Any) -> None:
        """A read counts unless pytest itself made it (monkeypatch, PYTEST_CURRENT_TEST)."""
        if not self.active or not isinstance(key, str):
            return
        frame: FrameType | None = sys._getframe(2)
        while frame is not None and frame.f_globals.get("__name__") in _ENV_PLUMBING:
            frame = frame.f_back
        caller = frame.f_globals.get("__name__", "") if frame is not None else ""
        if not caller.startswith(("_pytest", "pytest", "pluggy")):
            self.bucket("env").add(key)


_rec = _Recorder()


def _install_environ_hook() -> None:
    environ_type = type(os.environ)
    original = environ_type.__getitem__

    def __getitem__(self: Any, key: Any) -> Any:
        _rec.env_read(key)
        return original(self, key)

    environ_type.__getitem__ = __getitem__  # type: ignore[method-assign]


def pytest_configure(config: Any) -> None:
    sys.addaudithook(_rec.audit)
    _install_environ_hook()
    sys.setprofile(_rec.profile)
    import threading

    threading.setprofile(_rec.profile)


def _mapped() -> set[str]:
    """Shared objects mapped into this process right now (/proc/self/maps)."""
    try:
        with open("/proc/self/maps") as handle:
            return {
                line.split(None, 5)[5].strip()
                for line in handle
                if line.count(" ") >= 5 and ".so" in line and "/" in line
            }
    except (OSError, IndexError):
        return set()


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: Any) -> Any:
    previous = _rec.context
    before = _mapped()
    if isinstance(collector, pytest.Module):
        _rec.context = "collect:" + collector.nodeid
    yield
    _rec.bucket("mapped").update(_mapped() - before)
    _rec.context = previous


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Any:
    _rec.context = item.nodeid
    before = _mapped()
    yield
    _rec.bucket("mapped").update(_mapped() - before)
    _rec.context = _SESSION


def _ldd(path: str) -> list[str]:
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30).stdout
    except Exception:
        return []
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts:
            target = parts[parts.index("=>") + 1]
            if target.startswith("/"):
                libs.append(os.path.realpath(target) + "|" + parts[0])
        elif parts and parts[0].startswith("/"):
            libs.append(os.path.realpath(parts[0]) + "|" + os.path.basename(parts[0]))
    return libs


def _interpreter_paths() -> dict[str, str]:
    import sysconfig

    paths = dict(sysconfig.get_paths())
    paths["prefix"] = sys.prefix
    paths["base_prefix"] = sys.base_prefix
    paths["executable"] = sys.executable
    dynload = [p for p in sys.path if p.endswith("lib-dynload")]
    if dynload:
        paths["lib_dynload"] = dynload[0]
    return paths


def _distributions() -> tuple[dict[str, str], dict[str, str]]:
    """One pass over the installed distributions: their versions, and where those installed
    from a URL or a local directory came from (PEP 610 `direct_url.json`: the project
    installed editable, say), which an index cannot give back by version."""
    versions: dict[str, str] = {}
    urls: dict[str, str] = {}
    try:
        from importlib.metadata import distributions

        for d in distributions():
            name = str(d.metadata["Name"])
            versions[name] = str(d.version)
            try:
                text = d.read_text("direct_url.json")
                if text:
                    urls[name] = str(json.loads(text).get("url", ""))
            except Exception:
                pass
    except Exception:
        return {}, {}
    return versions, urls


def _dpkg_owners(paths: list[str]) -> dict[str, str]:
    """Debian package owning each path (`dpkg -S`), for package-level repairs."""
    owners: dict[str, str] = {}
    wanted = sorted({p for p in paths if p.startswith("/")})
    if not wanted or shutil.which("dpkg") is None:
        return owners
    for path in wanted:
        candidates = {path, os.path.realpath(path)}
        if path.startswith("/usr/"):
            candidates.add(path[4:])  # merged /usr: dpkg may know it as /lib/...
        for candidate in candidates:
            try:
                out = subprocess.run(
                    ["dpkg", "-S", candidate], capture_output=True, text=True, timeout=30
                ).stdout
            except Exception:
                continue
            line = out.strip().splitlines()[0] if out.strip() else ""
            if ":" in line and not line.startswith("diversion"):
                owners[path] = line.split(":", 1)[0].split(",")[0].strip()
                break
    return owners


def _module_file(module: Any) -> str | None:
    """The file a module was loaded from; None for frozen ones (os, zipimport, ... in 3.11):
    they name their source file, but the interpreter never reads it, so faults on it are duds."""
    if module is None:
        return None
    spec = getattr(module, "__spec__", None)
    if spec is not None and getattr(spec, "origin", None) == "frozen":
        return None
    return getattr(module, "__file__", None)


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    sys.setprofile(None)
    _rec.active = False
    out = os.environ.get("CLIGYM_PROBE_OUT")
    if not out:
        return
    modules: dict[str, str | None] = {}
    for name, module in list(sys.modules.items()):
        modules[name] = _module_file(module)
    extensions = {n: f for n, f in modules.items() if f and f.endswith(".so")}
    ext_libs = {f: _ldd(f) for f in sorted(set(extensions.values()))}
    interpreter = os.path.realpath(sys.executable)
    try:
        from importlib.metadata import packages_distributions

        distributions = {k: sorted(set(v)) for k, v in packages_distributions().items()}
    except Exception:
        distributions = {}
    owners = _dpkg_owners(
        [lib.split("|", 1)[0] for libs in ext_libs.values() for lib in libs]
        + [lib.split("|", 1)[0] for lib in _ldd(interpreter)]
        + [
            exe
            for kinds in _rec.data.values()
            for exe in kinds.get("executables", ())
            if exe.startswith("/")
        ]
        + [interpreter]
        + sorted(set(extensions.values()))
    )
    # Libraries the package manager and the shell need: breaking one of them makes the
    # environment unrepairable (apt cannot even run), so fault families leave them alone.
    system_libs = sorted(
        {
            lib
            for tool in (
                "/usr/bin/apt-get",
                "/usr/bin/dpkg",
                "/usr/bin/dpkg-deb",
                "/bin/bash",
                "/bin/sh",
                "/usr/bin/tar",
                "/usr/sbin/runuser",
                "/usr/bin/gpgv",
                # apt's download methods: libgnutls and what it loads (libffi, via p11-kit)
                "/usr/lib/apt/methods/http",
                "/usr/lib/apt/methods/gpgv",
                "/usr/lib/apt/methods/store",
            )
            if os.path.exists(tool)
            for lib in _ldd(tool)
        }
    )
    dist_versions, direct_urls = _distributions()
    payload = {
        "python": sys.version.split()[0],
        "system_libs": system_libs,
        "paths": _interpreter_paths(),
        "dist_versions": dist_versions,
        "direct_urls": direct_urls,
        "owners": owners,
        "executable": interpreter,
        "interpreter_libs": _ldd(interpreter),
        "builtin_modules": sorted(sys.builtin_module_names),
        "modules": modules,
        "extension_libs": ext_libs,
        "distributions": distributions,
        "contexts": {
            ctx: {kind: sorted(values) for kind, values in kinds.items()}
            for ctx, kinds in _rec.data.items()
        },
    }
    with open(out, "w") as handle:
        json.dump(payload, handle)
