"""Shell helpers the families share: quoting, mtime-keeping wrappers, reinstall commands.

Everything here renders text for a Dockerfile `RUN` line (run as root in the gold image); nothing
runs on the host. Touched files keep their mtimes so no fresh timestamp points at the fault.
"""

from __future__ import annotations

import os
import shlex

from cligym.records import Layout


def pip(layout: Layout) -> str:
    """pip of the environment the tests use, run by its own interpreter."""
    return f"{layout.python} -m pip"


def q(value: str) -> str:
    return shlex.quote(value)


def keep_mtime(path: str, command: str, *, expr: bool = False) -> str:
    """Run `command` on `path` and restore the file's mtime (a new mtime tells the fix).

    With `expr`, `path` is a shell expression such as "$real" and is used unquoted."""
    p = path if expr else q(path)
    return f"m=$(stat -c %Y {p}) && {command} && touch -h -d @$m {p}"


def cut_short(path: str, divisor: int) -> str:
    """Truncate `path` to 1/`divisor` of its size, keeping its mtime (a write cut off)."""
    return keep_mtime(path, f"truncate -s $(( $(stat -c %s {q(path)}) / {divisor} )) {q(path)}")


def keep_dir_mtime(path: str, command: str) -> str:
    """Run `command` that adds/removes `path` in its directory; restore that dir's mtime and
    give an added `path` the same one (the newest files must not point at the fault)."""
    d, p = q(os.path.dirname(path) or "/"), q(path)
    date_added = f"{{ [ ! -e {p} ] || touch -h -d @$dm {p}; }}"
    return f"dm=$(stat -c %Y {d}) && {command} && {date_added} && touch -d @$dm {d}"


def reinstall(packages: str) -> str:
    """Reinstall Debian packages (space-separated names) and leave no apt lists behind."""
    names = " ".join(q(p) for p in packages.split())
    return (
        "apt-get update -qq && apt-get install -y -qq --reinstall "
        f"{names} >/dev/null && rm -rf /var/lib/apt/lists/*"
    )


def backdated(command: str, root: str) -> str:
    """Run a pip command, then give everything it wrote under `root` the mtime of `root`'s
    site-packages from before, so no fresh timestamp points at what changed."""
    site = f"{root}/lib"
    return (
        f"dm=$(stat -c %Y {site}) && t0=$(date +%s) && {command} && "
        f'find {root} -newermt "@$t0" -exec touch -h -d "@$dm" {{}} +'
    )


def reinstall_dist(dist: str, version: str, layout: Layout) -> str:
    spec = q(f"{dist}=={version}")
    return f"{pip(layout)} install --no-cache-dir --force-reinstall --no-deps {spec}"
