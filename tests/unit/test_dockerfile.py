import shlex

from cligym.gold.dockerfile import render_gold_dockerfile, render_pip_install
from cligym.records import DEFAULT_LAYOUT, RecipeSpec, RepoSource, SourceKind
from cligym.testbed.command import render_test_command, render_test_script, render_user_command

SOURCE = RepoSource(kind=SourceKind.LOCAL, spec="./x", name="x", location="/x", content_sha256="ab")


def test_pip_install_quotes_extras_and_specs():
    recipe = RecipeSpec(
        extras=("test", "toml"),
        requirement_files=("req test.txt",),
        requirements=("pytest", "hypothesis>=6; python_version>'3'"),
    )
    line = render_pip_install(recipe)
    assert shlex.split(line) == [
        "pip",
        "install",
        "--no-cache-dir",
        "--editable",
        ".[test,toml]",
        "--requirement",
        "req test.txt",
        "pytest",
        "hypothesis>=6; python_version>'3'",
    ]


def test_gold_dockerfile_layout():
    recipe = RecipeSpec(
        apt_packages=("libxml2-dev",), env=(("SETUPTOOLS_SCM_PRETEND_VERSION", "1.0"),)
    )
    text = render_gold_dockerfile("cligym-base:bookworm", recipe, SOURCE)
    lines = text.splitlines()
    assert "FROM cligym-base:bookworm" in lines
    assert "COPY app/ /app/" in lines and "WORKDIR /app" in lines
    assert any(ln.startswith("RUN apt-get update") and "libxml2-dev" in ln for ln in lines)
    assert any(ln.startswith("RUN SETUPTOOLS_SCM_PRETEND_VERSION=1.0 pip install") for ln in lines)
    assert any("useradd" in ln and "tester" in ln for ln in lines)


def test_test_script_runs_pytest_with_junit():
    script = render_test_script(
        RecipeSpec(pytest_args=("-k", "not slow")), DEFAULT_LAYOUT, with_metadata=True
    )
    assert "pip freeze" in script and "python.txt" in script
    pytest_cmd = shlex.split(script.split("; ")[-1])
    # exactly the documented command (python from the login PATH), then the reporting options
    user = render_user_command(RecipeSpec(pytest_args=("-k", "not slow")), DEFAULT_LAYOUT)
    assert user == "cd /app && python -m pytest -k 'not slow'"
    assert script.split("; ")[-1].startswith(user + " -p no:cacheprovider")
    assert "--junitxml=/run/cligym-results/junit.xml" in pytest_cmd
    assert not any(a.startswith(("/tmp", "/home", "/app/")) for a in pytest_cmd)


def test_tests_run_as_the_user_in_a_login_shell_with_results_out_of_faults_reach():
    argv = render_test_command("cd /app && python -m pytest", DEFAULT_LAYOUT)
    assert argv[:2] == ["bash", "-c"]
    assert "chown tester:tester /run/cligym-results" in argv[2]
    assert argv[2].endswith("runuser -u tester -- bash -lc 'cd /app && python -m pytest'")


def test_the_per_test_limit_is_part_of_the_documented_command_and_can_be_overridden():
    """The issue text quotes the command the tests are measured with: the limit included."""
    limited = RecipeSpec(pytest_args=("-k", "x"), per_test_timeout_sec=90)
    user = render_user_command(limited, DEFAULT_LAYOUT)
    assert user == "cd /app && python -m pytest -k x -o timeout=90"
    script = render_test_script(limited, DEFAULT_LAYOUT, with_metadata=False)
    assert script.startswith(user + " -p no:cacheprovider")
    # pytest takes the last -o for a key: the probe's `timeout=0` wins over ours
    probe = shlex.split(render_test_script(
        limited, DEFAULT_LAYOUT, False, ("-p", "probe", "-o", "timeout=0")
    ))
    assert probe[-4:] == ["-p", "probe", "-o", "timeout=0"] and "timeout=90" in probe
    assert "timeout=" not in render_test_script(RecipeSpec(), DEFAULT_LAYOUT, with_metadata=False)
