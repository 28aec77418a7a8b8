"""Detect how to install a repository and its test requirements.

`plan_recipe` is pure: it reads a `ProjectFiles` view (paths plus the text of the few files that
matter) and returns a `RecipeSpec` with a note for every choice, so a surprising recipe explains
itself. A `RecipeProfile` (built-in per project, `[tool.cligym]` in the repo, or --profile FILE)
overrides detection where a project has quirks.
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from pydantic import BaseModel, ConfigDict, Field

from cligym.records import RecipeSpec

TEST_EXTRAS = ("test", "tests", "testing")
PER_TEST_TIMEOUT_SEC = 120
"""Default pytest-timeout limit for one test: far above any test of the corpus (the slowest
takes seconds), so only a hang reaches it, and then only that test fails."""
_PROJECT_TIMEOUT = re.compile(r"^\s*(?:ini_options\.)?timeout\s*=|--timeout\b", re.M)
FALLBACK_EXTRAS = ("dev",)
TEST_REQUIREMENT_FILES = (
    "requirements-test.txt",
    "requirements_test.txt",
    "requirements-tests.txt",
    "requirements_tests.txt",
    "test-requirements.txt",
    "test_requirements.txt",
    "tests-requirements.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
    "requirements/testing.txt",
    "tests/requirements.txt",
    "test/requirements.txt",
)
DEV_REQUIREMENT_FILES = (
    "requirements-dev.txt",
    "requirements_dev.txt",
    "dev-requirements.txt",
    "requirements/dev.txt",
)
# Test tooling that test code imports (top-level module) -> the distribution that provides it.
KNOWN_TEST_IMPORTS = {
    "hypothesis": "hypothesis",
    "pytest_mock": "pytest-mock",
    "freezegun": "freezegun",
    "responses": "responses",
    "pytest_asyncio": "pytest-asyncio",
    "pytest_benchmark": "pytest-benchmark",
    "requests_mock": "requests-mock",
    "pytest_httpserver": "pytest-httpserver",
    "time_machine": "time-machine",
    "dirty_equals": "dirty-equals",
    "syrupy": "syrupy",
    "pytest_lazyfixture": "pytest-lazy-fixture",
    "pytest_cases": "pytest-cases",
    "pytest_subtests": "pytest-subtests",
    "testpath": "testpath",
    "pytest_timeout": "pytest-timeout",
    "trustme": "trustme",
    "pretend": "pretend",
    "mock": "mock",
    "nose": "pynose",
    "pytest_regressions": "pytest-regressions",
    "pytest_datadir": "pytest-datadir",
    "pytest_randomly": "pytest-randomly",
    "pytest_xdist": "pytest-xdist",
    "flaky": "flaky",
    "parameterized": "parameterized",
    "attr": "attrs",
    "yaml": "PyYAML",
    "toml": "toml",
    "tomli": "tomli",
    "tomli_w": "tomli-w",
    "typing_extensions": "typing-extensions",
    "pytz": "pytz",
    "dateutil": "python-dateutil",
    "numpy": "numpy",
    "hamcrest": "PyHamcrest",
    "sortedcontainers": "sortedcontainers",
    "ddt": "ddt",
    "coverage": "coverage",
}
# Fixtures that only exist with a plugin installed.
KNOWN_FIXTURES = {
    "mocker": "pytest-mock",
    "benchmark": "pytest-benchmark",
    "subtests": "pytest-subtests",
    "httpserver": "pytest-httpserver",
    "snapshot": "syrupy",
    "freezer": "pytest-freezer",
    "requests_mock": "requests-mock",
}
# pytest options (addopts) and ini keys that need a plugin.
KNOWN_OPTIONS = {
    "--cov": "pytest-cov",
    "--benchmark": "pytest-benchmark",
    "-n ": "pytest-xdist",
    "--numprocesses": "pytest-xdist",
    "--timeout": "pytest-timeout",
    "--doctest-rst": "pytest-doctestplus",
    "--mypy": "pytest-mypy",
    "--flake8": "pytest-flake8",
    "--reruns": "pytest-rerunfailures",
    "asyncio_mode": "pytest-asyncio",
    "--dist": "pytest-xdist",
    "--randomly": "pytest-randomly",
    "timeout =": "pytest-timeout",
    "--doctest-glob=*.rst": "",
    "--strict-config": "",
}
SCM_BACKENDS = (
    "setuptools_scm",
    "setuptools-scm",
    "hatch-vcs",
    "hatch_vcs",
    "versioningit",
    "dunamai",
    "pbr",
    "poetry-dynamic-versioning",
    "flit_scm",
    "vcs-versioning",
)
_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)", re.M)
_FIXTURE_ARG = re.compile(r"def\s+test\w*\s*\(([^)]*)\)")
_CONFIG_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "tox.ini",
    "pytest.ini",
    "noxfile.py",
    "PKG-INFO",
)


class RecipeProfile(BaseModel):
    """Per-project overrides, as data (TOML). Unset fields keep what detection found."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    apt_packages: list[str] = []
    install_project: bool | None = None
    extras: list[str] | None = None
    requirement_files: list[str] | None = None
    requirements: list[str] = []
    drop_requirements: list[str] = []
    pytest_args: list[str] = []
    env: dict[str, str] = {}
    per_test_timeout_sec: int | None = Field(default=None, ge=0)

    def merged(self, other: RecipeProfile) -> RecipeProfile:
        """`other` (more specific) wins for scalars; lists of additions are concatenated."""
        return RecipeProfile(
            apt_packages=[*self.apt_packages, *other.apt_packages],
            install_project=other.install_project
            if other.install_project is not None
            else self.install_project,
            extras=other.extras if other.extras is not None else self.extras,
            requirement_files=other.requirement_files
            if other.requirement_files is not None
            else self.requirement_files,
            requirements=[*self.requirements, *other.requirements],
            drop_requirements=[*self.drop_requirements, *other.drop_requirements],
            pytest_args=[*self.pytest_args, *other.pytest_args],
            env={**self.env, **other.env},
            per_test_timeout_sec=other.per_test_timeout_sec
            if other.per_test_timeout_sec is not None
            else self.per_test_timeout_sec,
        )


@dataclass(frozen=True)
class ProjectFiles:
    """What recipe detection looks at: every path, and the text of config and test files."""

    paths: tuple[str, ...]
    texts: dict[str, str] = field(default_factory=dict)

    def text(self, path: str) -> str | None:
        return self.texts.get(path)

    @classmethod
    def read(cls, root: Path, paths: list[Path]) -> ProjectFiles:
        names = tuple(p.as_posix() for p in paths)
        wanted = [n for n in names if _is_interesting(n)]
        texts: dict[str, str] = {}
        for name in wanted:
            try:
                texts[name] = (root / name).read_text(errors="replace")[:400_000]
            except OSError:
                continue
        return cls(names, texts)


def _is_interesting(name: str) -> bool:
    path = PurePosixPath(name)
    if name in _CONFIG_FILES or name in TEST_REQUIREMENT_FILES or name in DEV_REQUIREMENT_FILES:
        return True
    if len(path.parts) == 1 and path.name.startswith("requirements") and path.suffix == ".txt":
        return True
    return path.suffix == ".py" and (
        path.name.startswith("test") or path.name == "conftest.py" or path.stem.endswith("_test")
    )


def plan_recipe(
    files: ProjectFiles, profile: RecipeProfile | None = None, version_hint: str | None = None
) -> RecipeSpec:
    """Pure: detect the install recipe, then apply the profile."""
    profile = profile or RecipeProfile()
    notes: list[str] = []
    pyproject = _load_toml(files.text("pyproject.toml"))
    setup_cfg = _load_cfg(files.text("setup.cfg"))
    setup_py = files.text("setup.py") or ""

    installable = (
        bool(setup_py)
        or "build-system" in pyproject
        or "project" in pyproject
        or (setup_cfg.has_section("metadata"))
    )
    if profile.install_project is not None:
        installable = profile.install_project
        notes.append(f"install project: {installable} (profile)")
    elif installable:
        notes.append("install project in editable mode (found a build configuration)")

    declared = _declared_extras(pyproject, setup_cfg, setup_py)
    extras = [e for e in TEST_EXTRAS if e in declared]
    if not extras:
        extras = [e for e in FALLBACK_EXTRAS if e in declared]
    if profile.extras is not None:
        extras = list(profile.extras)
    own = _own_extras(pyproject, setup_cfg, extras)
    if own:
        notes.append(f"extras {', '.join(own)}: named by the project's own extras")
        extras += own
    if extras:
        notes.append(f"extras {','.join(extras)} (declared: {', '.join(sorted(declared))})")

    req_files = [f for f in TEST_REQUIREMENT_FILES if f in files.paths]
    if not req_files:
        req_files = _matching(files.paths, _TEST_REQ_NAME)
    if not req_files and not extras:
        req_files = [f for f in DEV_REQUIREMENT_FILES if f in files.paths]
        req_files = req_files or _matching(files.paths, _DEV_REQ_NAME)
    if "requirements.txt" in files.paths and not installable:
        req_files.insert(0, "requirements.txt")
    if profile.requirement_files is not None:
        req_files = list(profile.requirement_files)
    if req_files:
        notes.append(f"requirement files {', '.join(req_files)}")

    requirements: list[str] = ["pytest"]
    groups = _dependency_groups(pyproject)
    if groups and not extras and not req_files:
        requirements += groups
        notes.append("dependency group test/dev from pyproject")
    elif not extras and not req_files:
        tox_deps = _tox_deps(files.text("tox.ini"))
        nox_deps = _nox_deps(files.text("noxfile.py"))
        if tox_deps:
            requirements += tox_deps
            notes.append("test deps from tox.ini [testenv] deps")
        elif nox_deps:
            requirements += [d for d in nox_deps if d not in requirements]
            notes.append("test deps from the noxfile's test session")

    config_text = "\n".join(
        t
        for n, t in files.texts.items()
        if n in ("pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini")
    )
    plugins = _needed_plugins(files, config_text)
    requirements += [p for p in plugins if p not in requirements]
    if plugins:
        notes.append(f"test tooling used by the tests/config: {', '.join(plugins)}")
    timeout = _per_test_timeout(config_text, profile, notes)
    if timeout and "pytest-timeout" not in requirements:
        requirements.append("pytest-timeout")
    requirements += [r for r in profile.requirements if r not in requirements]
    dropped = {_req_name(d) for d in profile.drop_requirements}
    requirements = [r for r in requirements if _req_name(r) not in dropped]

    env = dict(profile.env)
    build_text = (files.text("pyproject.toml") or "") + setup_py + (files.text("setup.cfg") or "")
    if any(b in build_text for b in SCM_BACKENDS):
        version = version_hint or _pkg_info_version(files) or "0.0.0"
        env.setdefault("SETUPTOOLS_SCM_PRETEND_VERSION", version)
        notes.append(f"VCS-derived version without VCS metadata: pretend version {version}")

    return RecipeSpec(
        apt_packages=tuple(dict.fromkeys(profile.apt_packages)),
        install_project=installable,
        extras=tuple(extras),
        requirement_files=tuple(req_files),
        requirements=tuple(dict.fromkeys(requirements)),
        pytest_args=tuple(profile.pytest_args),
        env=tuple(sorted(env.items())),
        per_test_timeout_sec=timeout,
        notes=tuple(notes),
    )


def _per_test_timeout(config_text: str, profile: RecipeProfile, notes: list[str]) -> int:
    """Ours unless the project sets its own (then its configuration applies, plugin and all)."""
    if profile.per_test_timeout_sec is not None:
        notes.append(f"per-test timeout {profile.per_test_timeout_sec} s (profile)")
        return profile.per_test_timeout_sec
    if _PROJECT_TIMEOUT.search(config_text):
        notes.append("per-test timeout: the project's own pytest-timeout setting")
        return 0
    notes.append(f"per-test timeout {PER_TEST_TIMEOUT_SEC} s (pytest-timeout)")
    return PER_TEST_TIMEOUT_SEC


def _load_toml(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _load_cfg(text: str | None) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    if text:
        with contextlib.suppress(configparser.Error):
            parser.read_string(text)
    return parser


def _table(data: object, *keys: str) -> dict[str, object]:
    for key in keys:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if isinstance(data, dict) else {}


def _declared_extras(
    pyproject: dict[str, object], cfg: configparser.ConfigParser, setup_py: str
) -> set[str]:
    declared = set(_table(pyproject, "project", "optional-dependencies"))
    declared |= set(_table(pyproject, "tool", "poetry", "extras"))
    if cfg.has_section("options.extras_require"):
        declared |= set(cfg.options("options.extras_require"))
    declared |= _setup_py_extras(setup_py)
    return declared


_SELF_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*\[([^\]]*)\]")


def _own_extras(
    pyproject: dict[str, object], cfg: configparser.ConfigParser, chosen: list[str]
) -> list[str]:
    """Extras that the chosen ones pull in by naming the project itself (`tests =
    ["proj[yaml,toml]"]`), recursively, in the order found. Named explicitly, they install
    whatever pip makes of such a self-reference (left to pip, a project not on the index was
    installed without them, and collection failed with `No module named ...`)."""
    name = _table(pyproject, "project").get("name")
    if not isinstance(name, str) and cfg.has_option("metadata", "name"):
        name = cfg.get("metadata", "name")
    if not isinstance(name, str):
        return []
    requires: dict[str, list[str]] = {}
    for extra, reqs in _table(pyproject, "project", "optional-dependencies").items():
        requires[extra] = [r for r in reqs if isinstance(r, str)] if isinstance(reqs, list) else []
    if cfg.has_section("options.extras_require"):
        for extra in cfg.options("options.extras_require"):
            lines = cfg.get("options.extras_require", extra).splitlines()
            requires.setdefault(extra, [line.strip() for line in lines if line.strip()])
    own, queue = [], list(chosen)
    while queue:
        for req in requires.get(queue.pop(0), []):
            match = _SELF_REQ.match(req)
            if match and canonicalize_name(match.group(1)) == canonicalize_name(name):
                for extra in (e.strip() for e in match.group(2).split(",")):
                    if extra and extra not in chosen and extra not in own:
                        own.append(extra)
                        queue.append(extra)
    return own


def _setup_py_extras(setup_py: str) -> set[str]:
    """Keys of a literal `extras_require` dict (or a module-level dict it names) in setup.py."""
    if "extras_require" not in setup_py:
        return set()
    try:
        tree = ast.parse(setup_py)
    except SyntaxError:
        return set(re.findall(r"[\"'](tests?|testing|dev)[\"']\s*:", setup_py))
    dicts: dict[str, ast.Dict] = {}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    dicts[target.id] = node.value
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "extras_require":
            value = node.value
            if isinstance(value, ast.Name):
                value = dicts.get(value.id, value)
            if isinstance(value, ast.Dict):
                found |= {
                    k.value
                    for k in value.keys
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                }
    return found


def _dependency_groups(pyproject: dict[str, object]) -> list[str]:
    groups = _table(pyproject, "dependency-groups")
    for name in (*TEST_EXTRAS, *FALLBACK_EXTRAS):
        if name in groups:
            return _expand_group(groups, name, set())
    return []


def _expand_group(groups: dict[str, object], name: str, seen: set[str]) -> list[str]:
    if name in seen:
        return []
    seen.add(name)
    out: list[str] = []
    entries = groups.get(name)
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            out += _expand_group(groups, entry["include-group"], seen)
    return out


# requirement files named for tests or development beyond the usual names (pip reads them in
# the build context, so their paths are enough): requirements-test-py3.txt, requirements/dev-ci.txt
_TEST_REQ_NAME = re.compile(r"^requirements[-_/](tests?|testing)[^/]*\.txt$")
_DEV_REQ_NAME = re.compile(r"^requirements[-_/]dev[^/]*\.txt$")


def _matching(paths: tuple[str, ...], pattern: re.Pattern[str]) -> list[str]:
    return sorted(p for p in paths if pattern.match(p))


def _nox_deps(text: str | None) -> list[str]:
    """What a noxfile's test session (`def test(session)`, `tests`, `testing`) installs with
    `session.install("pytest", "hypothesis")`: literal names only; `-r`, `-e`, `.` and
    variables are left to the other sources."""
    if not text:
        return []
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    deps: list[str] = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef) or func.name not in TEST_EXTRAS:
            continue
        for call in ast.walk(func):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "install"
            ):
                args = [a.value for a in call.args if isinstance(a, ast.Constant)]
                if any(isinstance(a, str) and a.startswith("-") for a in args):
                    continue  # -r FILE, -e ., --upgrade: not a plain list of names
                names = [a for a in args if isinstance(a, str) and a not in (".", "")]
                deps += [a for a in names if a not in deps]
    return deps


def _tox_deps(text: str | None) -> list[str]:
    cfg = _load_cfg(text)
    if not cfg.has_section("testenv") or not cfg.has_option("testenv", "deps"):
        return []
    deps: list[str] = []
    for raw in cfg.get("testenv", "deps").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or "{" in line or line.startswith("-") or re.match(r"^[\w,!-]+:\s", line):
            continue
        deps.append(line)
    return deps


def _needed_plugins(files: ProjectFiles, config_text: str) -> list[str]:
    needed: list[str] = []
    for name, text in sorted(files.texts.items()):
        if not name.endswith(".py") or name in ("setup.py", "noxfile.py"):
            continue
        for module in _IMPORT.findall(text):
            dist = KNOWN_TEST_IMPORTS.get(module)
            if dist and dist not in needed and not _is_local_module(files, module):
                needed.append(dist)
        for args in _FIXTURE_ARG.findall(text):
            for arg in (a.split(":")[0].split("=")[0].strip() for a in args.split(",")):
                dist = KNOWN_FIXTURES.get(arg)
                if dist and dist not in needed and f"def {arg}(" not in text:
                    needed.append(dist)
    for marker, dist in KNOWN_OPTIONS.items():
        if dist and marker in config_text and dist not in needed:
            needed.append(dist)
    for line in re.findall(r"required_plugins\s*=\s*([^\n\]]+)", config_text):
        for dist in re.findall(r"[A-Za-z0-9_.-]+", line):
            if dist not in needed:
                needed.append(dist)
    return needed


def _is_local_module(files: ProjectFiles, module: str) -> bool:
    """A test helper named like a known package (e.g. tests/mock.py) is not a dependency."""
    return any(
        p.endswith((f"/{module}.py", f"/{module}/__init__.py")) or p == f"{module}.py"
        for p in files.paths
    )


def _pkg_info_version(files: ProjectFiles) -> str | None:
    text = files.text("PKG-INFO")
    match = re.search(r"^Version:\s*(\S+)", text or "", re.M)
    return match.group(1) if match else None


def _req_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9_.-]+)", requirement)
    return match.group(1).lower().replace("_", "-") if match else requirement


def requires_python(files: ProjectFiles) -> str | None:
    """Pure: the Python versions the project says it supports (`requires-python` of pyproject,
    `python_requires` of setup.cfg, or an sdist's `Requires-Python`), or None."""
    declared = _table(_load_toml(files.text("pyproject.toml")), "project").get("requires-python")
    if isinstance(declared, str) and declared.strip():
        return declared.strip()
    cfg = _load_cfg(files.text("setup.cfg"))
    if cfg.has_option("options", "python_requires"):
        return cfg.get("options", "python_requires").strip() or None
    for line in (files.text("PKG-INFO") or "").splitlines():
        if line.lower().startswith("requires-python:"):
            return line.split(":", 1)[1].strip() or None
        if not line.strip():
            break  # the headers end at the first blank line
    return None


def supports(spec: str | None, python: str) -> bool:
    """Pure: whether `python` (X.Y.Z) is in `spec`; an unreadable or missing spec admits it."""
    if not spec:
        return True
    try:
        return SpecifierSet(spec).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True
