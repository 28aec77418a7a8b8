"""Change-time noise in task images: why "list the newest files" is not the answer.

Fault steps keep every mtime, but the kernel sets a file's change time (ctime) whenever its
data or metadata change, and nothing can set it back: `find / -cmin -60`, or sorting by `%C@`,
would list exactly what the steps touched. So the task image's one `RUN` refreshes the change
time of a few hundred unrelated files (same data, same mtime: `touch -r f f`) before, between
and after the steps. The faults' files then sit among them, as after a real day of package
updates; telling them apart takes the standard diagnosis tools (`dpkg --verify`, `pip`, the
error itself). BuildKit keeps the order in which the files changed, hence the interleaving;
Docker's classic builder re-extracts the layer, which gives its files change times in path
order.

Best effort and inert: every command is called by its absolute path and may fail (a step may
have broken `find` itself) without failing the build, no file's data, mode or mtime changes,
and nothing is created.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from cligym.ids import content_id
from cligym.records import DEFAULT_LAYOUT, Layout
from cligym.verify.leaks import BACKUP_PATTERNS

SYSTEM_ROOTS = ("/usr/lib", "/usr/share", "/usr/bin", "/usr/sbin", "/etc")


def noise_roots(layout: Layout) -> tuple[str, ...]:
    """Where noise goes: the system's files and the gold env's Python environment."""
    return (*SYSTEM_ROOTS, layout.env_dir)


ROOTS = noise_roots(DEFAULT_LAYOUT)
SHARE = 0.02  # of the (small) files under ROOTS, over all segments: ~300 in a gold image
MAX_SIZE = "-64k"  # small files only: each refreshed file is copied into the task's layer


def noise_segment(seed: int, share: float, roots: Sequence[str] = ROOTS) -> str:
    """One shell command: refresh the change time of about `share` of the files under ROOTS."""
    # no name that looks like a leak (a backup file) is ever touched
    excluded = " ".join(f"! -name {shlex.quote(p)}" for p in BACKUP_PATTERNS)
    # braced whole, `|| :` included: in `a && { n || :; } && b` a failed `a` still fails
    return (
        f"{{ {{ /usr/bin/find {' '.join(roots)} -xdev -type f -size {MAX_SIZE} {excluded} "
        f"2>/dev/null | /usr/bin/awk -v seed={seed} 'BEGIN {{ srand(seed) }} rand() < {share:.5f}'"
        ' | while IFS= read -r f; do /usr/bin/touch -c -h -r "$f" "$f" 2>/dev/null; done;'
        " } || :; }"
    )


def with_noise(steps: Sequence[str], roots: Sequence[str] = ROOTS) -> str:
    """The steps as one shell command, each in its own subshell, with noise segments before,
    between and after them (seeded by the steps: the same task always gets the same noise)."""
    if not steps:
        return ""
    seed = int(content_id("noise", list(steps)), 16) % 2**31
    share = SHARE / (len(steps) + 1)
    parts = [noise_segment(seed, share, roots)]
    for i, step in enumerate(steps, start=1):
        parts += [f"( {step} )", noise_segment(seed + i, share, roots)]
    return " && ".join(parts)
