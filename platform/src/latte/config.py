"""Settings: read once at the CLI's edge, frozen, passed down.

Precedence, lowest first: the defaults below, ``latte.toml`` at the repository root,
``LATTE_<FIELD>`` environment variables, then explicit overrides (CLI flags). Library code
never reads the environment itself; it receives a :class:`Settings`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latte.errors import ConfigError

__all__ = ["CONFIG_FILE", "Settings", "find_root", "load_settings", "settings_variables"]

CONFIG_FILE = "latte.toml"
_ENV_PREFIX = "LATTE_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything latte is configured with. Relative paths are relative to ``root``."""

    root: Path
    build_dir: Path = Path("build")
    state_dir: Path = Path(".latte")
    # task runner cache (local, and an optional shared S3/MinIO cache: s3://bucket/prefix)
    cache_dir: Path = Path(".latte/cache")
    remote_cache_url: str = ""
    remote_cache_write: bool = False
    # model registry: SQLAlchemy URL for metadata, local folder or s3://bucket/prefix for blobs
    registry_url: str = "sqlite:///.latte/registry.db"
    artifact_store_url: str = ".latte/artifacts"
    # S3 / MinIO endpoint shared by the remote cache and the artifact store
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_secure: bool = True
    s3_access_key: str = dataclasses.field(default="", repr=False)
    s3_secret_key: str = dataclasses.field(default="", repr=False)
    # serving
    triton_url: str = ""
    # promotion: forge = "" (print the PR) or "github"
    forge: str = ""
    forge_repo: str = ""
    forge_api_url: str = "https://api.github.com"
    forge_token: str = dataclasses.field(default="", repr=False)
    git_remote: str = "origin"
    # Argo CD / Rollouts CRDs for offline validation; unset means those checks do not run
    crd_schemas: str = ""
    # kubeconfig for `latte status` (Argo CD / Rollout state); "" means no cluster is read
    kubeconfig: str = ""
    ci: bool = False

    def path(self, value: Path | str) -> Path:
        """Resolve a configured path against the repository root."""
        candidate = Path(value)
        return candidate if candidate.is_absolute() else self.root / candidate


# Secrets are accepted from the environment only, never from latte.toml.
_SECRETS = frozenset({"s3_access_key", "s3_secret_key", "forge_token"})
# Conventional variable names honoured besides LATTE_<FIELD>.
_ENV_ALIASES = {
    "s3_access_key": ("AWS_ACCESS_KEY_ID", "MINIO_ROOT_USER"),
    "s3_secret_key": ("AWS_SECRET_ACCESS_KEY", "MINIO_ROOT_PASSWORD"),
    "forge_token": ("GITHUB_TOKEN",),
    "ci": ("CI",),
    "kubeconfig": ("KUBECONFIG",),
}


def settings_variables(environ: Mapping[str, str]) -> list[str]:
    """The variables of ``environ`` that latte reads: every LATTE_* plus the aliases above."""
    aliases = {name for names in _ENV_ALIASES.values() for name in names}
    return sorted(name for name in environ if name.startswith(_ENV_PREFIX) or name in aliases)


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding latte.toml, else ``start`` itself."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return start


def load_settings(
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings from latte.toml, the environment and explicit overrides."""
    environ = environ if environ is not None else {}
    root = find_root(root or Path.cwd())
    values: dict[str, Any] = {}
    values.update(_from_file(root / CONFIG_FILE))
    values.update(_from_environ(environ))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return Settings(root=root, **_coerce_all(values))


def _from_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file and retry") from exc
    table = data.get("latte", data)
    for key in table:
        if key in _SECRETS:
            raise ConfigError(
                f"{path}: '{key}' is a secret; set LATTE_{key.upper()} in the environment instead"
            )
    return dict(table)


def _from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in _field_names():
        for variable in (_ENV_PREFIX + name.upper(), *_ENV_ALIASES.get(name, ())):
            if variable in environ:
                found[name] = environ[variable]
                break
    return found


def _field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Settings) if f.name != "root"]


def _coerce_all(values: Mapping[str, Any]) -> dict[str, Any]:
    kinds = {f.name: f.default for f in dataclasses.fields(Settings) if f.name != "root"}
    unknown = sorted(set(values) - set(kinds))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(kinds))}"
        )
    return {name: _coerce(name, value, kinds[name]) for name, value in values.items()}


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ConfigError(f"setting '{name}' must be true or false, got {value!r}")
    if isinstance(default, Path):
        return Path(str(value))
    if not isinstance(value, str | int | float):
        raise ConfigError(f"setting '{name}' must be a string, got {value!r}")
    return str(value)
