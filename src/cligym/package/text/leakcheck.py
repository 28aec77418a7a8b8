"""The issue-text leak checker: a published text must not name the fault's target, the package
version involved, or the fix.

Secrets come from the candidate: the paths its faults target or its steps and solution touch
(except the context every task shares, such as /app or the venv), the versions in its fault
parameters and pip pins, and the solution's command lines. Paths and versions match as whole
tokens, so `/tmp` does not match `/tmp/x` and `1.2` does not match `1.2.3`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cligym.records import DEFAULT_LAYOUT, Candidate, Layout, Task
from cligym.testbed.layout import TEST_USER

SHARED_PATHS = frozenset(
    {"/", f"/home/{TEST_USER}", "/tmp", "/usr/bin", "/usr/local/bin", "/bin", "/etc", "/usr",
     "/usr/lib", "/dev/null"}
)


def context_paths(layout: Layout) -> frozenset[str]:
    """Paths every task of a gold env shares: naming them gives nothing away."""
    env = layout.env_dir
    return SHARED_PATHS | {layout.app_dir, env, f"{env}/bin", f"{env}/bin/python"}


CONTEXT_PATHS = context_paths(DEFAULT_LAYOUT)
_PATH = re.compile(r"(?<![\w.~-])(/[\w.@+-]+(?:/[\w.@+-]+)*)")
_PIN = re.compile(r"\b([A-Za-z0-9][\w.-]*)==([\w.+!-]+)")
_VERSION = re.compile(r"^\d+(\.\d+)+([a-z]+\d*)?$")
REDACTED = "…"


@dataclass(frozen=True)
class Secrets:
    """What a task's texts must never contain."""

    paths: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset()
    fixes: frozenset[str] = frozenset()


def secrets_for(candidate: Candidate | Task, layout: Layout = DEFAULT_LAYOUT) -> Secrets:
    """Pure: the secrets of a candidate's (or task's) faults, steps and solution."""
    paths: set[str] = set()
    versions: set[str] = set()
    fixes: set[str] = set()
    for fault in candidate.faults:
        value = fault.resource.name
        if value.startswith("/"):
            paths.add(value.rstrip("/") or "/")
        for _, param in fault.params:
            if param.startswith("/"):
                paths.add(param.rstrip("/"))
            elif _VERSION.match(param):
                versions.add(param)
    for line in (*candidate.steps, *candidate.solution):
        paths.update(p.rstrip("/") for p in _PATH.findall(line))
        for name, version in _PIN.findall(line):
            fixes.add(f"{name}=={version}")
            versions.add(version)
    for line in candidate.solution:
        if len(line.strip()) >= 12:
            fixes.add(" ".join(line.split()))
    paths |= {alias for p in paths for alias in usrmerge_aliases(p)}
    context = context_paths(layout)
    paths = {p for p in paths if p and p not in context and len(p) > 4}
    return Secrets(frozenset(paths), frozenset(versions), frozenset(fixes))


_MERGED = ("/bin", "/sbin", "/lib", "/lib64")


def usrmerge_aliases(path: str) -> list[str]:
    """Other names of a path on a merged-/usr system (/lib/x is /usr/lib/x)."""
    for top in _MERGED:
        if path.startswith(top + "/"):
            return ["/usr" + path]
        if path.startswith("/usr" + top + "/"):
            return [path[4:]]
    return []


def path_forms(path: str) -> list[str]:
    """A path as texts write it: as is, and under the test user's home as ~ and $HOME."""
    home = f"/home/{TEST_USER}/"
    if path.startswith(home):
        rest = path[len(home):]
        return [path, f"~/{rest}", f"$HOME/{rest}", f"${{HOME}}/{rest}"]
    return [path]


def _path_pattern(path: str) -> re.Pattern[str]:
    """The path itself, or anything under it (`/a/b` also matches `/a/b/c`)."""
    forms = "|".join(re.escape(f) for f in path_forms(path))
    return re.compile(r"(?<![\w.@+-])(?<![\w.@+-]/)(?:" + forms + r")(?![\w@+-]|\.\w)")


def _version_pattern(version: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.])v?" + re.escape(version) + r"(?![\w]|\.\d)")


def find_leaks(text: str, secrets: Secrets) -> list[str]:
    """Pure: one reason per secret that `text` names."""
    found = []
    flat = " ".join(text.split())
    for path in sorted(secrets.paths):
        if _path_pattern(path).search(text):
            found.append(f"names the fault's target path {path}")
    for version in sorted(secrets.versions):
        if _version_pattern(version).search(text):
            found.append(f"names the package version {version}")
    for fix in sorted(secrets.fixes):
        if fix in flat:
            found.append(f"names the fix `{fix[:60]}`")
    return found


def redact(text: str, secrets: Secrets) -> str:
    """Pure: `text` with every secret path and version replaced by an ellipsis."""
    for path in sorted(secrets.paths, key=len, reverse=True):
        text = _path_pattern(path).sub(REDACTED, text)
    for version in sorted(secrets.versions, key=len, reverse=True):
        text = _version_pattern(version).sub(REDACTED, text)
    for fix in secrets.fixes:
        text = text.replace(fix, REDACTED)
    return text
