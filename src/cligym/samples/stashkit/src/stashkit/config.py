"""Configuration: a YAML file plus ``STASHKIT_*`` environment overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from stashkit.defaults import DEFAULT_LEVEL, DEFAULT_LOCALE, DEFAULT_TIMEZONE
from stashkit.errors import ConfigError

ENV_CONFIG = "STASHKIT_CONFIG"
ENV_HOME = "STASHKIT_HOME"
ENV_TZ = "STASHKIT_TZ"
ENV_LEVEL = "STASHKIT_LEVEL"

_KNOWN_KEYS = frozenset({"home", "timezone", "level", "locale", "hmac_key"})


@dataclass(frozen=True)
class Config:
    """Effective stashkit settings."""

    home: Path
    timezone: str = DEFAULT_TIMEZONE
    level: int = DEFAULT_LEVEL
    locale: str = DEFAULT_LOCALE
    hmac_key: str | None = None
    source: Path | None = None


def yaml_loader() -> type[Any]:
    """Return PyYAML's libyaml-backed safe loader.

    stashkit deliberately refuses the pure-Python fallback: a PyYAML build
    without its C extension usually means a broken or mismatched install.
    """
    if not getattr(yaml, "__with_libyaml__", False):
        raise ConfigError(
            "PyYAML is installed without its libyaml C extension (yaml._yaml); "
            "reinstall PyYAML with libyaml support"
        )
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        raise ConfigError("PyYAML does not provide CSafeLoader; libyaml bindings are broken")
    return loader  # type: ignore[no-any-return]


def parse_config(text: str, source: str = "<config>") -> dict[str, Any]:
    """Parse YAML configuration text into a mapping."""
    try:
        data = yaml.load(text, Loader=yaml_loader())  # CSafeLoader: safe subset only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError(f"invalid YAML in {source}{where}: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in {source}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping, not {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s): {', '.join(unknown)}")
    return data


def _parse_level(value: Any, origin: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigError(f"{origin} must be an integer from 0 to 9, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise ConfigError(f"{origin} must be an integer from 0 to 9, got {value!r}")
    return value


def _require_str(data: Mapping[str, Any], key: str, source: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{source}: {key!r} must be a string")
    return value


def default_config_path(environ: Mapping[str, str]) -> Path:
    """Location of the per-user configuration file."""
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "stashkit" / "config.yaml"


def default_home(environ: Mapping[str, str]) -> Path:
    """Default stash directory."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stashkit"


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load configuration from *path* (or the default location) and the environment.

    An explicitly requested file (argument or ``STASHKIT_CONFIG``) must exist;
    the default per-user file is optional.
    """
    env = os.environ if environ is None else environ
    explicit = path is not None or bool(env.get(ENV_CONFIG))
    if path is None:
        path = Path(env[ENV_CONFIG]) if env.get(ENV_CONFIG) else default_config_path(env)
    path = Path(path).expanduser()

    data: dict[str, Any] = {}
    source: Path | None = None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist") from None
    except PermissionError:
        raise ConfigError(f"cannot read config file {path}: permission denied") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    else:
        data = parse_config(text, str(path))
        source = path

    config = Config(home=default_home(env), source=source)
    home = _require_str(data, "home", str(path))
    if home is not None:
        home_path = Path(home).expanduser()
        if not home_path.is_absolute():
            home_path = path.absolute().parent / home_path
        config = replace(config, home=home_path)
    timezone = _require_str(data, "timezone", str(path))
    if timezone is not None:
        config = replace(config, timezone=timezone)
    locale_name = _require_str(data, "locale", str(path))
    if locale_name is not None:
        config = replace(config, locale=locale_name)
    hmac_key = data.get("hmac_key")
    if hmac_key is not None:
        config = replace(config, hmac_key=str(hmac_key))
    if "level" in data:
        config = replace(config, level=_parse_level(data["level"], f"{path}: 'level'"))
    return apply_environment(config, env)


def apply_environment(config: Config, environ: Mapping[str, str]) -> Config:
    """Apply ``STASHKIT_HOME``, ``STASHKIT_TZ`` and ``STASHKIT_LEVEL`` overrides."""
    if environ.get(ENV_HOME):
        config = replace(config, home=Path(environ[ENV_HOME]).expanduser())
    if environ.get(ENV_TZ):
        config = replace(config, timezone=environ[ENV_TZ])
    if ENV_LEVEL in environ:
        config = replace(config, level=_parse_level(environ[ENV_LEVEL], ENV_LEVEL))
    return config
