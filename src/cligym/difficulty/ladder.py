"""The baseline ladder: generic repair scripts of rising skill that know nothing of the task.

Each rung is what a hurried operator runs on any broken Python machine, and each includes the
rungs below it. A rung sees only what an agent sees (the broken container, as root, in the
project directory); it never reads the task's tests, issue text or solution. The lowest rung
whose repair the task's own verifier accepts says how little thought the task needs; a task no
rung solves needs diagnosis.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cligym.testbed.layout import APP_DIR, TEST_USER, VENV


@dataclass(frozen=True)
class Rung:
    level: int
    name: str
    summary: str
    script: str  # bash, run as root; never stops at a failing command

    @property
    def digest(self) -> str:
        """Stored results count only for the script that produced them."""
        return hashlib.sha256(self.script.encode()).hexdigest()[:16]


TIDY = f"""\
# caches and ownership: the project's and the virtualenv's bytecode caches (the standard
# library's belong to its Debian package), temp-dir modes, the test user's home
for d in {APP_DIR} "${{VIRTUAL_ENV:-{VENV}}}"; do
  find "$d" -name __pycache__ -type d -prune -exec rm -rf {{}} + 2>/dev/null
done
chmod 1777 /tmp /var/tmp 2>/dev/null
chown -R {TEST_USER}:{TEST_USER} /home/{TEST_USER} 2>/dev/null
ldconfig 2>/dev/null
"""

REINSTALL_FLAGGED = f"""\
# what the standard tools flag: Debian packages whose files dpkg --verify reports changed or
# missing, then every distribution pip freeze lists (not pip and setuptools, which came
# with the virtualenv; not the editable project), forcibly
export DEBIAN_FRONTEND=noninteractive
flagged=$(dpkg --verify 2>/dev/null | awk '{{print $NF}}' | xargs -r dpkg -S 2>/dev/null \\
  | cut -d: -f1 | tr ',' '\\n' | tr -d ' ' | sort -u)
if [ -n "$flagged" ]; then
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq --reinstall $flagged >/dev/null 2>&1
fi
py="${{VIRTUAL_ENV:-{VENV}}}/bin/python"
"$py" -m pip freeze --exclude-editable 2>/dev/null | grep -v '^-e ' > /tmp/.freeze
"$py" -m pip install -q --force-reinstall --no-deps -r /tmp/.freeze >/dev/null 2>&1
rm -f /tmp/.freeze
"""

RESET_CONFIG = f"""\
# configuration that changes how programs start: the preload list, Python and loader
# variables in login scripts, .pth files no distribution owns, user site-packages,
# commands in /usr/local that shadow a system command of the same name, the loader cache
rm -f /etc/ld.so.preload
for f in /etc/profile /etc/bash.bashrc /etc/environment /etc/profile.d/*.sh \\
         /root/.profile /root/.bashrc /home/{TEST_USER}/.profile /home/{TEST_USER}/.bashrc; do
  [ -f "$f" ] && sed -i -E '/^[[:space:]]*(export[[:space:]]+)?(PYTHON[A-Z_]*|LD_[A-Z_]+)=/d' "$f"
done
py="${{VIRTUAL_ENV:-{VENV}}}/bin/python"
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null)
if [ -n "$site" ]; then
  for pth in "$site"/*.pth; do
    [ -f "$pth" ] || continue
    grep -qs "$(basename "$pth")," "$site"/*.dist-info/RECORD || rm -f "$pth"
  done
fi
rm -rf /root/.local/lib/python3* /home/{TEST_USER}/.local/lib/python3*
for f in /usr/local/bin/* /usr/local/sbin/*; do
  name=$(basename "$f")
  for sys in /usr/bin /usr/sbin /bin /sbin; do
    if [ -e "$sys/$name" ] && ! dpkg -S "$f" >/dev/null 2>&1; then rm -f "$f"; break; fi
  done
done
"$py" -m pip check 2>/dev/null | awk 'NF > 1 {{print $1 "==" $2}}' | sort -u \\
  | while read -r dist; do
  "$py" -m pip install -q --force-reinstall --no-deps "$dist" >/dev/null 2>&1
done
ldconfig 2>/dev/null
"""

REBUILD_VENV = f"""\
# start the virtualenv over (pip and setuptools from the interpreter's own bundle), then
# what pip freeze listed, then the project again if it was installed editable
py="${{VIRTUAL_ENV:-{VENV}}}/bin/python"
venv="${{VIRTUAL_ENV:-{VENV}}}"
"$py" -m pip freeze 2>/dev/null > /tmp/.freeze
if [ -s /tmp/.freeze ]; then
  python3 -m venv --clear "$venv" >/dev/null 2>&1
  grep -v '^-e ' /tmp/.freeze > /tmp/.freeze.pinned
  "$venv/bin/python" -m pip install -q --no-deps -r /tmp/.freeze.pinned >/dev/null 2>&1
  if grep -q '^-e ' /tmp/.freeze; then
    "$venv/bin/python" -m pip install -q --no-deps --editable {APP_DIR} >/dev/null 2>&1
  fi
fi
rm -f /tmp/.freeze /tmp/.freeze.pinned
chown -R {TEST_USER}:{TEST_USER} {APP_DIR} 2>/dev/null
"""

_PARTS = (
    ("tidy", "clear the project's bytecode caches, fix temp-dir modes, home ownership", TIDY),
    (
        "reinstall-flagged",
        "reinstall the Debian packages dpkg --verify flags and what pip freeze lists",
        REINSTALL_FLAGGED,
    ),
    (
        "reset-config",
        "drop preloads, Python/loader variables, unowned .pth files, shadowing commands",
        RESET_CONFIG,
    ),
    ("rebuild-venv", "recreate the virtualenv from its own freeze", REBUILD_VENV),
)


def _ladder() -> tuple[Rung, ...]:
    rungs = []
    for level, (name, summary, _) in enumerate(_PARTS):
        body = "\n".join(part for _, _, part in _PARTS[: level + 1])
        rungs.append(Rung(level, name, summary, f"cd {APP_DIR}\n{body}true\n"))
    return tuple(rungs)


LADDER: tuple[Rung, ...] = _ladder()


def rung_named(name: str) -> Rung:
    for rung in LADDER:
        if rung.name == name:
            return rung
    raise KeyError(name)
