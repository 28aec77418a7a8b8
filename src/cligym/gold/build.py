"""The gold stage: source -> image in which a known set of tests passes stably.

resolve source -> detect recipe -> (cache hit?) -> docker build -> N test runs in fresh containers
-> stability -> artifacts + one catalog row. Any failure removes what this attempt created (image,
staging files) and raises a CligymError with one actionable line.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name
from pydantic import ValidationError

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.errors import (
    CligymError,
    DockerOperationError,
    GoldTestsError,
    InstallError,
    SourceError,
)
from cligym.gold.devcontainer import (
    is_devcontainer,
    parse_devcontainer,
    render_setup_dockerfile,
)
from cligym.gold.dockerfile import render_gold_dockerfile
from cligym.gold.fallback import MAX_RETRIES, retry_recipe
from cligym.gold.image import (
    IMAGE_PREFIX,
    LayoutProfile,
    dockerfile_layout,
    image_recipe,
    image_ref,
    image_source,
    render_image_dockerfile,
    resolve_layout,
)
from cligym.gold.recipe import (
    ProjectFiles,
    RecipeProfile,
    plan_recipe,
    requires_python,
    supports,
)
from cligym.gold.sources import iter_files, resolve_source
from cligym.gold.stability import compute_stability
from cligym.ids import content_id
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import (
    DEFAULT_LAYOUT,
    GoldEnv,
    Layout,
    RecipeSpec,
    RepoSource,
    StabilityReport,
    TestRunResult,
)
from cligym.runtime.base import RELEASES, BaseImageResult, base_tag_for, ensure_base_image
from cligym.runtime.protocol import Runtime
from cligym.testbed.command import render_test_command, render_test_script
from cligym.testbed.junit import JunitParseError, parse_junit
from cligym.testbed.layout import RESULTS_DIR, TEST_USER, gold_image_tag, image_slug
from cligym.testbed.run import run_tests

log = logging.getLogger(__name__)

GOLD_FORMAT = "gold-v2"
IMAGE_GOLD_FORMAT = "image-gold-v1"
USER_IMAGE_FORMAT = "user-image-v1"
LABEL_GOLD_ID = "cligym.gold"


@dataclass(frozen=True)
class GoldRequest:
    """What `cligym gold` was asked to do for one SOURCE."""

    spec: str
    runs: int = 2
    min_tests: int = 5
    profile_path: Path | None = None
    rebuild: bool = False  # ignore the catalog and Docker's build cache
    tests: tuple[str, ...] = ()  # only these test paths or node ids (a huge suite, on purpose)
    keyword: str = ""  # only tests matching this pytest -k expression
    layout: str = ""  # image:REF only: a built-in layout name or a TOML file (default: detect)
    dockerfile: str = ""  # the project's own Dockerfile or devcontainer.json (relative path)
    per_test_timeout: int | None = None  # seconds one test may take (None: the recipe's default)
    python: str = ""  # X.Y: the base image (Debian release) whose python3 this is


@dataclass(frozen=True)
class GoldResult:
    gold: GoldEnv
    cached: bool
    duration_sec: float


def load_profile(name: str, repo_root: Path, profile_path: Path | None) -> RecipeProfile:
    """Built-in profile for the project, then `[tool.cligym]` in its pyproject, then --profile."""
    profile = RecipeProfile()
    builtin = resources.files("cligym.gold") / "profiles" / f"{canonicalize_name(name)}.toml"
    layers: list[tuple[str, dict[str, object]]] = []
    if builtin.is_file():
        layers.append((f"built-in profile {builtin.name}", tomllib.loads(builtin.read_text())))
    pyproject = repo_root / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text()).get("tool", {})
        except tomllib.TOMLDecodeError:
            tool = {}
        if isinstance(tool, dict) and isinstance(tool.get("cligym"), dict):
            layers.append(("[tool.cligym] in pyproject.toml", tool["cligym"]))
    if profile_path is not None:
        try:
            layers.append((str(profile_path), tomllib.loads(profile_path.read_text())))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise CligymError(f"--profile {profile_path}: cannot read TOML ({err})") from err
    for origin, data in layers:
        try:
            profile = profile.merged(RecipeProfile.model_validate(data))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CligymError(f"{origin}: invalid profile field {where!r}: {first['msg']}") from err
    return profile


def test_selection(request: GoldRequest, repo_root: Path) -> RecipeProfile:
    """`--tests`, `-k` and `--per-test-timeout` as the last profile layer: pytest's own
    arguments, so the issue text quotes the command that selects them. Paths must exist in the
    repository."""
    for test in request.tests:
        path = test.split("::", 1)[0]
        if not path or path.startswith(("-", "/")) or ".." in Path(path).parts:
            raise CligymError(f"--tests {test}: give a path inside the repository, e.g. tests/unit")
        if not (repo_root / path).exists():
            raise CligymError(f"--tests {test}: {path} is not in the repository")
    keyword = request.keyword.strip()
    if request.keyword and not keyword:
        raise CligymError("-k needs an expression, e.g. -k 'not slow'")
    if request.per_test_timeout is not None and request.per_test_timeout < 0:
        raise CligymError("--per-test-timeout: give seconds >= 0 (0 turns it off)")
    return RecipeProfile(
        pytest_args=[*request.tests, *(["-k", keyword] if keyword else [])],
        per_test_timeout_sec=request.per_test_timeout,
    )


def pick_base(
    runtime: Runtime, settings: Settings, python: str, reporter: Reporter = NULL_REPORTER
) -> tuple[BaseImageResult, str]:
    """The base image and its python3 version: the default release's, or, for `python`
    (X.Y), the first release whose python3 is that version (each base built once, cached)."""
    if python and not re.fullmatch(r"3\.\d+", python):
        raise CligymError(f"--python {python}: give a version as X.Y, e.g. 3.13")
    seen: list[str] = []
    for release, base, version in _bases(runtime, settings, RELEASES if python else RELEASES[:1],
                                         reporter):
        if not python or version.split(".")[:2] == python.split("."):
            return base, version
        seen.append(f"{release} has {version}")
    raise CligymError(f"--python {python}: no base image has it ({', '.join(seen)})")


def _base_for(
    runtime: Runtime,
    settings: Settings,
    name: str,
    wanted: str | None,
    default: str,
    reporter: Reporter,
) -> tuple[BaseImageResult, str]:
    """The base image of the first other release whose python3 the project's
    `requires-python` admits (the default release's does not)."""
    seen = [f"{RELEASES[0]} has {default}"]
    reporter.stage("base", f"{name} requires Python {wanted}: trying {', '.join(RELEASES[1:])}")
    for release, base, version in _bases(runtime, settings, RELEASES[1:], reporter):
        if supports(wanted, version):
            return base, version
        seen.append(f"{release} has {version}")
    raise CligymError(
        f"{name} requires Python {wanted}; no base image has it ({', '.join(seen)})"
    )


def _bases(
    runtime: Runtime, settings: Settings, releases: Sequence[str], reporter: Reporter
) -> Iterator[tuple[str, BaseImageResult, str]]:
    """(release, its base image, its python3 version), each base made only when reached."""
    for release in releases:
        tag = base_tag_for(settings.base_image, release)
        base = ensure_base_image(runtime, tag, release=release, reporter=reporter)
        yield release, base, base_python_version(runtime, base.tag)


def base_python_version(runtime: Runtime, base_tag: str) -> str:
    result, _ = runtime.run(
        base_tag,
        ["python3", "-c", "import platform; print(platform.python_version())"],
        stage="gold",
        timeout_sec=60,
        network=False,
    )
    version = result.output.strip().splitlines()[-1] if result.ok and result.output.strip() else ""
    if not re.fullmatch(r"\d+\.\d+\.\d+\S*", version):
        raise DockerOperationError(
            f"base image {base_tag} has no working python3: {result.output[:200]}"
        )
    return version


def build_gold(
    request: GoldRequest,
    settings: Settings,
    runtime: Runtime,
    catalog: Catalog,
    reporter: Reporter = NULL_REPORTER,
) -> GoldResult:
    """Build (or reuse) the gold environment for one SOURCE."""
    started = time.monotonic()
    paths = settings.paths.ensure()
    if request.layout and not request.spec.startswith(IMAGE_PREFIX):
        raise CligymError("--layout is for image:REF sources (an existing image's layout)")
    if request.dockerfile and request.spec.startswith(IMAGE_PREFIX):
        raise CligymError("--dockerfile is for a repository source: image:REF is built already")
    if request.python and (request.spec.startswith(IMAGE_PREFIX) or request.dockerfile):
        raise CligymError("--python picks cligym's base image: an image or a Dockerfile brings "
                          "its own Python")
    if request.spec.startswith(IMAGE_PREFIX):  # the base gives only the verifier's tools
        base = ensure_base_image(runtime, settings.base_image, reporter=reporter)
        return _build_from_image(_Job(request, settings, runtime, catalog, reporter, base, started))
    base, python = pick_base(runtime, settings, request.python, reporter)
    job = _Job(request, settings, runtime, catalog, reporter, base, started)
    staging = paths.staging_dir / f"{runtime.run_id}-{content_id(request.spec, length=8)}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        reporter.stage("source", f"resolving {request.spec}")
        snapshot = resolve_source(request.spec, paths.sources_dir, staging / "app", python=python)
        source = snapshot.source
        if request.dockerfile:
            return _build_from_dockerfile(job, source, snapshot.root)
        profile = load_profile(source.name, snapshot.root, request.profile_path)
        profile = profile.merged(test_selection(request, snapshot.root))
        files = ProjectFiles.read(snapshot.root, iter_files(snapshot.root))
        wanted = requires_python(files)
        if not request.python and not supports(wanted, python):
            base, python = _base_for(runtime, settings, source.name, wanted, python, reporter)
            job = dataclasses.replace(job, base=base)
        version_hint = source.resolved if source.kind == "pypi" else None
        recipe = plan_recipe(files, profile, version_hint=version_hint)
        return _realise_recipe(job, source, recipe, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _realise_recipe(job: _Job, source: RepoSource, recipe: RecipeSpec, staging: Path) -> GoldResult:
    """The gold env of a detected recipe; when its install fails in a way the build log
    explains (a system library's headers, a build backend this index lacks), the recipe that
    answers it is built instead (gold/fallback.py), at most once per kind of answer."""
    retries = 0
    while True:
        gold_id = content_id(GOLD_FORMAT, source.content_sha256, recipe.model_dump(),
                             job.base.image_id)
        dockerfile = render_gold_dockerfile(job.base.tag, recipe, source)
        try:
            return _realise(job, _Plan(gold_id, source, recipe, DEFAULT_LAYOUT, dockerfile),
                            staging)
        except InstallError as err:
            retry = retry_recipe(recipe, source, err.log_text) if retries < MAX_RETRIES else None
            if retry is None:
                raise
            job.reporter.stage("build", f"{source.name}: {retry.reason}")
            shutil.rmtree(staging / "artifacts", ignore_errors=True)
            recipe, retries = retry.recipe, retries + 1


def _build_from_image(job: _Job) -> GoldResult:
    """`image:REF`: the user's image plus cligym's thin layer (see gold/image.py), then the
    same test runs and stability as any gold env."""
    request, runtime = job.request, job.runtime
    ref = image_ref(request.spec)
    image_id = _present_image(runtime, ref)
    job.reporter.stage("source", f"reading the layout of {ref}")
    profile = resolve_layout(runtime, ref, request.layout)
    source = image_source(request.spec, ref, image_id)
    return _gold_on_image(job, ref, image_id, profile, source)


def _gold_on_image(
    job: _Job,
    ref: str,
    image_id: str,
    profile: LayoutProfile,
    source: RepoSource,
) -> GoldResult:
    """A gold env on an image that holds the project and its environment (`image:REF`, or the
    project's own Dockerfile built): the thin layer, then the gold test runs."""
    request, settings, runtime, base = job.request, job.settings, job.runtime, job.base
    layout = profile.layout()
    selection = _image_selection(request)
    recipe = image_recipe(profile, selection, request.per_test_timeout or 0)
    gold_id = content_id(
        IMAGE_GOLD_FORMAT, image_id, recipe.model_dump(), layout.model_dump(), base.image_id
    )
    dockerfile = render_image_dockerfile(ref, base.tag, layout, source.name)
    plan = _Plan(gold_id, source, recipe, layout, dockerfile)
    staging = settings.paths.staging_dir / f"{runtime.run_id}-{content_id(ref, length=8)}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        return _realise(job, plan, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class _Job:
    """One gold request and what every way of making its gold env uses."""

    request: GoldRequest
    settings: Settings
    runtime: Runtime
    catalog: Catalog
    reporter: Reporter
    base: BaseImageResult
    started: float


@dataclass(frozen=True)
class _Plan:
    """What a gold env is made of, before the catalog is asked for it or it is built."""

    gold_id: str
    source: RepoSource
    recipe: RecipeSpec
    layout: Layout
    dockerfile: str


def _realise(job: _Job, plan: _Plan, staging: Path) -> GoldResult:
    """The catalog's gold env for `plan`, or a new one: build `plan.dockerfile` (context:
    `staging`), run the tests, record it. Any failure removes the image it built."""
    request, settings, runtime, catalog = job.request, job.settings, job.runtime, job.catalog
    reporter, base, started = job.reporter, job.base, job.started
    name, gold_id = plan.source.name, plan.gold_id
    cached = catalog.get_gold(gold_id)
    if (
        cached is not None
        and not request.rebuild
        and cached.stability.runs >= request.runs
        and runtime.image_id(cached.image_tag) == cached.image_id
    ):
        _check_enough(cached.stability, request.min_tests, name)
        reporter.stage("gold", f"cache hit {gold_id} ({name})")
        return GoldResult(cached, True, time.monotonic() - started)
    (staging / "Dockerfile").write_text(plan.dockerfile)
    tag = gold_image_tag(name, gold_id)
    artifacts = staging / "artifacts"
    artifacts.mkdir()
    reporter.stage("build", f"building {tag}")
    build_started = time.monotonic()
    image_id = _build_image(
        runtime, staging, tag, gold_id, settings, artifacts, nocache=request.rebuild
    )
    build_sec = time.monotonic() - build_started
    try:
        test_started = time.monotonic()
        runs, python_version, freeze = _run_tests(
            runtime, tag, plan.recipe, plan.layout, request.runs, settings, artifacts, reporter
        )
        test_sec = time.monotonic() - test_started
        stability = compute_stability(runs)
        _check_runs(runs, stability, request.min_tests, name)
    except BaseException:
        runtime.remove_image(tag)
        raise
    gold = GoldEnv(
        id=gold_id,
        name=name,
        source=plan.source,
        recipe=plan.recipe,
        base_image=base.tag,
        base_image_id=base.image_id,
        image_tag=tag,
        image_id=image_id,
        python_version=python_version,
        pip_freeze=tuple(freeze),
        dockerfile=plan.dockerfile,
        stability=stability,
        build_duration_sec=round(build_sec, 2),
        test_duration_sec=round(test_sec, 2),
        created_at=datetime.now(UTC),
        layout=plan.layout,
    )
    _publish(artifacts, settings.paths.gold_artifacts(gold_id), gold)
    catalog.put_gold(gold)
    return GoldResult(gold, False, time.monotonic() - started)


def _build_from_dockerfile(
    job: _Job,
    source: RepoSource,
    root: Path,
) -> GoldResult:
    """`--dockerfile PATH`: the project's own Dockerfile (context: the project) is the recipe;
    its image is then a gold env like any existing image (layout from its WORKDIR and the
    `python` on its PATH)."""
    name = job.request.dockerfile
    if is_devcontainer(name):
        return _build_from_devcontainer(job, source, root)
    path = _repository_file(root, name)
    text = path.read_text(errors="replace")
    digest = content_id(USER_IMAGE_FORMAT, source.content_sha256, name, text)
    tag = f"cligym-user/{image_slug(source.name)}:{digest}"
    image_id = _build_user_image(job, source, root, tag, name, name)
    profile = dockerfile_layout(job.runtime, tag, name)
    return _gold_on_image(job, tag, image_id, profile, source)


def _build_from_devcontainer(job: _Job, source: RepoSource, root: Path) -> GoldResult:
    """`--dockerfile .devcontainer/devcontainer.json`: the dev container's image (its
    Dockerfile built, or the image it names), then the project copied to its workspace folder
    and the creation commands run there (gold/devcontainer.py)."""
    name = job.request.dockerfile
    if PurePosixPath(name).name == ".devcontainer":
        name = f"{name}/devcontainer.json"
    text = _repository_file(root, name).read_text(errors="replace")
    dev = parse_devcontainer(text, name, source.name)
    if dev.features:
        job.reporter.stage("build", f"{name}: features not installed: {', '.join(dev.features)}")
    slug = image_slug(source.name)
    if dev.dockerfile:
        dockerfile = _repository_file(root, dev.dockerfile)
        context = _repository_file(root, dev.context, directory=True)
        digest = content_id(USER_IMAGE_FORMAT, source.content_sha256, name, text,
                            dockerfile.read_text(errors="replace"))
        from_ref = f"cligym-user/{slug}-devcontainer:{digest}"
        _build_user_image(job, source, context, from_ref, str(dockerfile), dev.dockerfile,
                          buildargs=dev.build_args)
    else:
        from_ref = dev.image
        _present_image(job.runtime, from_ref, f"{name}: ")
    setup = render_setup_dockerfile(dev, from_ref)
    tag = f"cligym-user/{slug}:{content_id(USER_IMAGE_FORMAT, source.content_sha256, setup)}"
    staging = job.settings.paths.staging_dir / f"devcontainer-{content_id(tag, length=12)}"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        (staging / "Dockerfile").write_text(setup)
        image_id = _build_user_image(job, source, root, tag, str(staging / "Dockerfile"), name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    profile = dockerfile_layout(job.runtime, tag, name)
    return _gold_on_image(job, tag, image_id, profile, source)


def _present_image(runtime: Runtime, ref: str, origin: str = "") -> str:
    """The id of image `ref`, pulled if the engine lacks it; a one-line error if it cannot."""
    image_id = runtime.image_id(ref)
    if image_id is None and runtime.pull(ref):
        image_id = runtime.image_id(ref)
    if image_id is None:
        raise SourceError(
            f"{origin}image {ref} is not on this Docker engine and could not be pulled: "
            f"`docker pull {ref}` (or `docker load`) it first"
        )
    return image_id


def _repository_file(root: Path, name: str, directory: bool = False) -> Path:
    path = (root / name).resolve()
    exists = path.is_dir() if directory else path.is_file()
    if name.startswith("/") or not path.is_relative_to(root.resolve()) or not exists:
        kind = "a directory" if directory else "a file"
        raise CligymError(f"--dockerfile {name}: not {kind} in the repository")
    return path


def _build_user_image(
    job: _Job,
    source: RepoSource,
    context: Path,
    tag: str,
    dockerfile: str,
    label: str,
    buildargs: dict[str, str] | None = None,
) -> str:
    """The project's own image `tag` (reused unless --rebuild); `label` names it in errors."""
    request, settings, runtime = job.request, job.settings, job.runtime
    image_id = None if request.rebuild else runtime.image_id(tag)
    if image_id is not None:
        return image_id
    job.reporter.stage("build", f"building the project's {label} as {tag}")
    log = settings.paths.root / "logs" / f"dockerfile-{source.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        return runtime.build(
            context, tag, kind="user", dockerfile=dockerfile, buildargs=buildargs,
            timeout_sec=settings.build_timeout_sec, log_path=log, nocache=request.rebuild,
        )
    except DockerOperationError as err:
        reason = _install_failure_reason(log.read_text() if log.exists() else str(err))
        raise InstallError(f"building {label} failed: {reason} (full log: {log})") from err


def _image_selection(request: GoldRequest) -> tuple[str, ...]:
    """`--tests`/`-k` for an image: the paths are checked by pytest inside it (a missing one
    fails collection, so the gold runs say so)."""
    for test in request.tests:
        path = test.split("::", 1)[0]
        if not path or path.startswith(("-", "/")) or ".." in Path(path).parts:
            raise CligymError(f"--tests {test}: give a path inside the repository, e.g. tests/unit")
    keyword = request.keyword.strip()
    if request.keyword and not keyword:
        raise CligymError("-k needs an expression, e.g. -k 'not slow'")
    return (*request.tests, *(("-k", keyword) if keyword else ()))


def _build_image(
    runtime: Runtime,
    context: Path,
    tag: str,
    gold_id: str,
    settings: Settings,
    artifacts: Path,
    nocache: bool,
) -> str:
    log_path = artifacts / "build.log"
    try:
        return runtime.build(
            context,
            tag,
            kind="gold",
            labels={LABEL_GOLD_ID: gold_id},
            timeout_sec=settings.build_timeout_sec,
            log_path=log_path,
            nocache=nocache,
        )
    except DockerOperationError as err:
        kept = settings.paths.root / "logs" / f"gold-{gold_id}-build.log"
        kept.parent.mkdir(parents=True, exist_ok=True)
        if log_path.exists():
            shutil.copyfile(log_path, kept)
        log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
        reason = _install_failure_reason(log_text if log_text.strip() else str(err))
        raise InstallError(
            f"installing the project failed: {reason} (full log: {kept})", log_text=log_text
        ) from err


def _install_failure_reason(log_text: str) -> str:
    """The most telling line of a failed pip install in a build log."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log_text)
    lines = [ln.strip() for ln in plain.splitlines() if ln.strip()]
    for pattern in (
        r"^ERROR: (Could not find|No matching distribution|Cannot install|ResolutionImpossible)",
        r"^ERROR: ",
        r"error:",
        r"^ERROR",
    ):
        for line in lines:
            if re.search(pattern, line):
                return line[:300]
    return lines[-1][:300] if lines else "unknown error"


def _run_tests(
    runtime: Runtime,
    tag: str,
    recipe: RecipeSpec,
    layout: Layout,
    count: int,
    settings: Settings,
    artifacts: Path,
    reporter: Reporter,
) -> tuple[list[TestRunResult], str, list[str]]:
    """Run the suite `count` times, each in a fresh container.

    Run i uses PYTHONHASHSEED=i, so tests that depend on hash order (set/dict iteration of
    strings, a classic source of flakiness) disagree between runs and are caught as flaky.
    """
    runs: list[TestRunResult] = []
    python_version, freeze = "", []
    for index in range(1, count + 1):
        reporter.stage("test", f"test run {index}/{count}")
        script = render_test_script(recipe, layout, with_metadata=index == 1)
        run = run_tests(
            runtime,
            tag,
            render_test_command(script, layout),
            stage="gold",
            timeout_sec=settings.test_timeout_sec,
            env={"HOME": f"/home/{TEST_USER}", "PYTHONHASHSEED": str(index)},
            workdir=layout.app_dir,
        )
        result, junit = run.result, run.junit
        if result.timed_out:
            raise GoldTestsError(
                f"the test suite did not finish within {settings.test_timeout_sec} s; "
                "raise --test-timeout or exclude slow tests with a profile (pytest_args)"
            )
        (artifacts / f"pytest-{index}.log").write_text(result.output)
        if index == 1:
            python_version = (run.text(f"{RESULTS_DIR}/python.txt") or "").strip()
            freeze = (run.text(f"{RESULTS_DIR}/freeze.txt") or "").splitlines()
        if junit is None:
            tail = " | ".join(result.output.strip().splitlines()[-3:])
            raise GoldTestsError(
                f"pytest produced no report (exit code {result.exit_code}): {tail}"
            )
        (artifacts / f"junit-{index}.xml").write_text(junit)
        try:
            cases = parse_junit(junit)
        except JunitParseError as err:
            raise GoldTestsError(f"unreadable pytest report: {err}") from err
        runs.append(
            TestRunResult(
                exit_code=result.exit_code,
                duration_sec=round(result.duration_sec, 3),
                cases=tuple(cases),
                output_tail=result.output[-4000:],
            )
        )
    return runs, python_version, freeze


def _check_runs(
    runs: list[TestRunResult], stability: StabilityReport, min_tests: int, name: str
) -> None:
    total = len({c.nodeid for r in runs for c in r.cases})
    if total == 0:
        tail = " | ".join(runs[0].output_tail.strip().splitlines()[-2:]) if runs else ""
        raise GoldTestsError(f"{name}: pytest collected no tests ({tail})")
    if not stability.stable_passing and not stability.flaky and stability.failing:
        first = next(c for r in runs for c in r.cases if c.nodeid == stability.failing[0])
        reason = first.message.strip().splitlines()[0][:160] if first.message.strip() else "?"
        raise GoldTestsError(
            f"{name}: all {len(stability.failing)} tests fail in the gold image "
            f"(first: {first.nodeid}: {reason}); check the recipe or give a --profile"
        )
    _check_enough(stability, min_tests, name)


def _check_enough(stability: StabilityReport, min_tests: int, name: str) -> None:
    stable = len(stability.stable_passing)
    if stable < min_tests:
        raise GoldTestsError(
            f"{name}: only {stable} tests pass stably ({len(stability.failing)} failing, "
            f"{len(stability.flaky)} flaky), fewer than --min-tests {min_tests}"
        )


def _publish(artifacts: Path, final: Path, gold: GoldEnv) -> None:
    """Move artifacts into place atomically (rename), then the catalog row is written."""
    (artifacts / "Dockerfile").write_text(gold.dockerfile)
    (artifacts / "pip-freeze.txt").write_text("\n".join(gold.pip_freeze) + "\n")
    (artifacts / "gold.json").write_text(gold.model_dump_json(indent=2))
    if final.exists():
        shutil.rmtree(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    artifacts.rename(final)
