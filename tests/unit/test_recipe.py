from cligym.gold.recipe import ProjectFiles, RecipeProfile, plan_recipe


def files(**texts: str) -> ProjectFiles:
    paths = {k.replace("__", "/").replace("_dot_", ".") for k in texts}
    mapped = {k.replace("__", "/").replace("_dot_", "."): v for k, v in texts.items()}
    return ProjectFiles(tuple(sorted(paths | {"tests/test_x.py"})), mapped)


def test_pyproject_test_extra_and_plugins_from_imports_and_fixtures():
    recipe = plan_recipe(
        files(
            pyproject_dot_toml='[project]\nname="x"\n[project.optional-dependencies]\n'
            'tests=["pytest"]\ndocs=["sphinx"]\n',
            tests__test_a_dot_py="import hypothesis\nfrom freezegun import freeze_time\n"
            "def test_a(mocker, tmp_path):\n    pass\n",
        )
    )
    assert recipe.install_project
    assert recipe.extras == ("tests",)
    assert recipe.requirements[0] == "pytest"
    assert {"hypothesis", "freezegun", "pytest-mock"} <= set(recipe.requirements)


def test_setup_cfg_extras_and_cov_addopts():
    recipe = plan_recipe(
        files(
            setup_dot_cfg="[metadata]\nname = x\n[options.extras_require]\ntesting =\n  pytest\n"
            "[tool:pytest]\naddopts = --cov=x -p no:warnings\n",
        )
    )
    assert recipe.extras == ("testing",)
    assert "pytest-cov" in recipe.requirements


def test_setup_py_extras_via_named_dict():
    setup_py = (
        "from setuptools import setup\nEXTRAS = {'test': ['pytest'], 'dev': ['black']}\n"
        "setup(name='x', extras_require=EXTRAS)\n"
    )
    recipe = plan_recipe(files(setup_dot_py=setup_py))
    assert recipe.extras == ("test",)


def test_dev_extra_is_fallback_only():
    recipe = plan_recipe(
        files(
            pyproject_dot_toml='[project]\nname="x"\n[project.optional-dependencies]\ndev=["pytest"]\n'
        )
    )
    assert recipe.extras == ("dev",)


def test_requirement_files_and_plain_requirements_project():
    recipe = plan_recipe(
        files(
            **{
                "requirements_dot_txt": "requests\n",
                "requirements-test_dot_txt": "pytest\n",
            }
        )
    )
    assert not recipe.install_project
    assert recipe.requirement_files == ("requirements-test.txt",) or recipe.requirement_files == (
        "requirements.txt",
        "requirements-test.txt",
    )
    assert "requirements.txt" in recipe.requirement_files


def test_dependency_groups_with_include():
    recipe = plan_recipe(
        files(
            pyproject_dot_toml='[project]\nname="x"\n[dependency-groups]\n'
            'lint=["ruff"]\ntest=["pytest-xdist", {include-group = "base"}]\nbase=["attrs"]\n'
        )
    )
    assert "pytest-xdist" in recipe.requirements and "attrs" in recipe.requirements
    assert "ruff" not in recipe.requirements


def test_tox_deps_skip_substitutions_and_factors():
    recipe = plan_recipe(
        files(
            setup_dot_py="from setuptools import setup\nsetup(name='x')\n",
            tox_dot_ini="[testenv]\ndeps =\n  pytest-mock\n  -r{toxinidir}/req.txt\n"
            "  py38: importlib-metadata\n  {env:EXTRA}\n",
        )
    )
    assert "pytest-mock" in recipe.requirements
    assert not any("{" in r or "importlib" in r for r in recipe.requirements)


def test_local_helper_module_is_not_a_dependency():
    recipe = plan_recipe(
        files(
            setup_dot_py="from setuptools import setup\nsetup(name='x')\n",
            tests__mock_dot_py="",
            tests__test_a_dot_py="import mock\n",
        )
    )
    assert "mock" not in recipe.requirements


def test_scm_version_is_pretended():
    recipe = plan_recipe(
        files(
            pyproject_dot_toml='[build-system]\nrequires=["setuptools_scm"]\n[project]\nname="x"\n'
            'dynamic=["version"]\n'
        ),
        version_hint="1.2.3",
    )
    assert ("SETUPTOOLS_SCM_PRETEND_VERSION", "1.2.3") in recipe.env


def test_profile_overrides_and_drops():
    profile = RecipeProfile(
        extras=["all"],
        requirements=["numpy"],
        drop_requirements=["hypothesis"],
        apt_packages=["libxml2-dev"],
        pytest_args=["-k", "not slow"],
    )
    recipe = plan_recipe(
        files(
            pyproject_dot_toml='[project]\nname="x"\n[project.optional-dependencies]\ntest=["a"]\n',
            tests__test_a_dot_py="import hypothesis\n",
        ),
        profile,
    )
    assert recipe.extras == ("all",)
    assert "numpy" in recipe.requirements and "hypothesis" not in recipe.requirements
    assert recipe.apt_packages == ("libxml2-dev",)
    assert recipe.pytest_args == ("-k", "not slow")


def test_profile_merge_prefers_specific():
    merged = RecipeProfile(extras=["a"], requirements=["x"]).merged(
        RecipeProfile(extras=["b"], requirements=["y"])
    )
    assert merged.extras == ["b"] and merged.requirements == ["x", "y"]


def test_extras_that_name_the_project_itself_are_installed_by_name():
    """`tests = ["My.Proj[yaml,toml]"]`: the extras it names (and those they name in turn)
    join the install explicitly, whatever pip makes of a project requiring itself."""
    recipe = plan_recipe(
        files(
            pyproject_dot_toml='[project]\nname="my_proj"\n[project.optional-dependencies]\n'
            'tests=["pytest", "My.Proj[yaml, toml]"]\nyaml=["pyyaml"]\n'
            'toml=["tomli", "my-proj[fast]"]\nfast=["ujson"]\ndocs=["sphinx"]\n'
            'other=["otherproj[yaml]"]\n',
        )
    )
    assert recipe.extras == ("tests", "yaml", "toml", "fast")
    assert any("named by the project's own extras" in n for n in recipe.notes)
    cfg = plan_recipe(
        files(
            setup_dot_cfg="[metadata]\nname = x\n[options.extras_require]\n"
            "testing =\n  pytest\n  x[cli]\ncli =\n  click\n",
        )
    )
    assert cfg.extras == ("testing", "cli")


def test_requirement_files_by_pattern_and_the_noxfile_test_session():
    """Test requirement files by name pattern before dev ones; with neither, extras or tox,
    the literal names a noxfile's test session installs."""
    recipe = plan_recipe(
        files(**{"requirements-tests-py3_dot_txt": "pytest\n", "requirements-dev-ci_dot_txt": "x\n",
                 "setup_dot_py": "from setuptools import setup\nsetup(name='x')\n"})
    )
    assert recipe.requirement_files == ("requirements-tests-py3.txt",)
    dev = plan_recipe(files(**{"requirements__dev-ci_dot_txt": "black\n",
                               "setup_dot_py": "from setuptools import setup\nsetup(name='x')\n"}))
    assert dev.requirement_files == ("requirements/dev-ci.txt",)
    noxfile = (
        "import nox\n@nox.session\ndef tests(session):\n"
        "    session.install('.')\n    session.install('pytest', 'hypothesis')\n"
        "    session.install('-r', 'docs.txt')\n    session.run('pytest')\n"
        "@nox.session\ndef docs(session):\n    session.install('sphinx')\n"
    )
    nox = plan_recipe(files(noxfile_dot_py=noxfile,
                            setup_dot_py="from setuptools import setup\nsetup(name='x')\n"))
    assert "hypothesis" in nox.requirements and "sphinx" not in nox.requirements
    assert any("noxfile" in n for n in nox.notes)


def test_a_per_test_limit_unless_the_project_sets_its_own():
    from cligym.gold.recipe import PER_TEST_TIMEOUT_SEC

    plain = plan_recipe(files(pyproject_dot_toml='[project]\nname="x"\n'))
    assert plain.per_test_timeout_sec == PER_TEST_TIMEOUT_SEC
    assert "pytest-timeout" in plain.requirements
    # the project's own setting applies as configured (the plugin is still installed)
    own = plan_recipe(files(pytest_dot_ini="[pytest]\ntimeout = 30\n"))
    assert own.per_test_timeout_sec == 0 and "pytest-timeout" in own.requirements
    assert any("project's own pytest-timeout" in n for n in own.notes)
    # pytest 9's native TOML table, with a dotted key (filelock's pyproject)
    dotted = plan_recipe(files(pyproject_dot_toml="[tool.pytest]\nini_options.timeout = 20\n"))
    assert dotted.per_test_timeout_sec == 0
    # a profile (or --per-test-timeout) wins; 0 turns ours off and adds no plugin
    off = plan_recipe(files(pyproject_dot_toml='[project]\nname="x"\n'),
                      RecipeProfile(per_test_timeout_sec=0))
    assert off.per_test_timeout_sec == 0 and "pytest-timeout" not in off.requirements
    assert RecipeProfile(per_test_timeout_sec=5).merged(RecipeProfile()).per_test_timeout_sec == 5


def test_requires_python_from_pyproject_setup_cfg_or_an_sdists_headers():
    from cligym.gold.recipe import requires_python, supports

    assert requires_python(files(**{"pyproject.toml": '[project]\nrequires-python = ">=3.12"\n'}))\
        == ">=3.12"
    assert requires_python(files(**{"setup.cfg": "[options]\npython_requires = >=3.8, <4\n"}))\
        == ">=3.8, <4"
    assert requires_python(files(**{"PKG-INFO": "Name: x\nRequires-Python: >=3.13\n\nbody"}))\
        == ">=3.13"
    assert requires_python(files(**{"PKG-INFO": "Name: x\n\nRequires-Python: >=3.13\n"})) is None
    assert requires_python(files()) is None
    assert supports(">=3.12", "3.13.5") and not supports(">=3.12", "3.11.2")
    assert supports(None, "3.11.2") and supports("not a spec", "3.11.2")
