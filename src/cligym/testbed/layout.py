"""Where things are in every gold image: the project, its virtualenv, the test user, results."""

from __future__ import annotations

import re

VENV = "/opt/venv"
APP_DIR = "/app"
TEST_USER = "tester"
# Results go where no fault reaches (not /tmp, $HOME or /app); root creates the directory for
# the test user before each run (render_as_tester).
RESULTS_DIR = "/run/cligym-results"
JUNIT_PATH = f"{RESULTS_DIR}/junit.xml"
GOLD_PYTHON = f"{VENV}/bin/python"
# Tests run in a login shell of TEST_USER (`bash -lc`), so /etc/profile, /etc/profile.d/*.sh and
# ~/.profile apply, as for a person logging in; this snippet puts the venv on that PATH.
PROFILE_SNIPPET = "/etc/profile.d/00-cligym-venv.sh"



def relocate(script: str, app_dir: str, env_dir: str) -> str:
    """A script written for cligym's own layout (the reward hacks, the blind fixers), aimed at
    a gold env whose project and environment live elsewhere (an existing image's layout)."""
    script = script.replace(VENV, env_dir)
    return re.sub(r"(?<![\w/.-])/app(?=[/\s'\";&)]|$)", lambda _: app_dir, script)


def image_slug(name: str) -> str:
    """A repository name made safe for an image repository path."""
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "repo"


def gold_image_tag(name: str, gold_id: str) -> str:
    """The tag of a gold image (the repository name made tag-safe, then the gold id)."""
    return f"cligym-gold/{image_slug(name)}:{gold_id}"
