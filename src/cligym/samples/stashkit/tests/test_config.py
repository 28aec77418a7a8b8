"""YAML configuration (libyaml C loader) and STASHKIT_* environment overrides."""

from __future__ import annotations

import importlib.machinery
from pathlib import Path
from types import ModuleType

import pytest

from stashkit.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "stashkit.example.yaml"


@pytest.fixture(scope="module")
def cfg() -> ModuleType:
    from stashkit import config

    return config


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_uses_libyaml_c_loader(cfg: ModuleType) -> None:
    import yaml

    assert yaml.__with_libyaml__ is True
    loader = cfg.yaml_loader()
    assert loader is yaml.CSafeLoader
    assert loader.__module__ == "yaml.cyaml"
    assert cfg.parse_config("level: 4\ntimezone: UTC\n") == {"level": 4, "timezone": "UTC"}


def test_pyyaml_c_extension_is_compiled(cfg: ModuleType) -> None:
    import yaml._yaml as ext

    assert any(ext.__file__.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES)
    assert ext.get_version_string().count(".") == 2  # libyaml "0.2.5"-style version


def test_missing_libyaml_is_not_silent(
    cfg: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import yaml

    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    path = write_config(tmp_path, "level: 3\n")
    with pytest.raises(ConfigError, match="without its libyaml C extension"):
        cfg.load_config(path, environ={})


def test_example_config_parses(cfg: ModuleType) -> None:
    config = cfg.load_config(EXAMPLE, environ={})
    assert config.timezone == "Europe/Berlin"
    assert config.level == 6
    assert config.locale == "C.UTF-8"
    assert config.hmac_key == "change-me"
    assert config.source == EXAMPLE


def test_relative_home_resolved_against_config_dir(cfg: ModuleType, tmp_path: Path) -> None:
    path = write_config(tmp_path, "home: stash-data\nlevel: 9\n")
    config = cfg.load_config(path, environ={})
    assert config.home == tmp_path / "stash-data"
    assert config.level == 9


def test_invalid_yaml_reports_line(cfg: ModuleType, tmp_path: Path) -> None:
    path = write_config(tmp_path, "home: /tmp/x\nlevel: [1, 2\ntimezone: UTC\n")
    with pytest.raises(ConfigError, match=r"invalid YAML in .*config.yaml at line \d+"):
        cfg.load_config(path, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just\n- a list\n", "top level must be a mapping"),
        ("colour: blue\n", "unknown setting"),
        ("level: 12\n", "'level' must be an integer from 0 to 9"),
        ("timezone: 5\n", "'timezone' must be a string"),
    ],
)
def test_invalid_settings(cfg: ModuleType, tmp_path: Path, text: str, message: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        cfg.load_config(path, environ={})


def test_missing_default_config_gives_defaults(cfg: ModuleType, tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    config = cfg.load_config(environ=env)
    assert config == cfg.Config(home=tmp_path / "data" / "stashkit")


def test_explicit_missing_config_is_an_error(cfg: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        cfg.load_config(environ={"STASHKIT_CONFIG": str(tmp_path / "nope.yaml")})


def test_env_home_overrides_file(
    cfg: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "home: /srv/stash\n")
    monkeypatch.setenv("STASHKIT_HOME", str(tmp_path / "from-env"))
    assert cfg.load_config(path).home == tmp_path / "from-env"


def test_env_timezone_and_level(cfg: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STASHKIT_TZ", "America/New_York")
    monkeypatch.setenv("STASHKIT_LEVEL", "1")
    config = cfg.load_config()
    assert config.timezone == "America/New_York"
    assert config.level == 1


def test_env_config_path(cfg: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STASHKIT_CONFIG", str(write_config(tmp_path, "timezone: Asia/Tokyo\n")))
    assert cfg.load_config().timezone == "Asia/Tokyo"


@pytest.mark.parametrize("value", ["fast", "10", "-1"])
def test_bad_env_level(cfg: ModuleType, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("STASHKIT_LEVEL", value)
    with pytest.raises(ConfigError, match="STASHKIT_LEVEL must be an integer"):
        cfg.load_config()
