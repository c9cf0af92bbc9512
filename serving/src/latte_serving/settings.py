"""Gateway settings: pydantic-settings at the service edge (``LATTE_SERVING_*`` variables).

Built once by ``python -m latte_serving serve`` from the environment and flags and passed to
:func:`latte_serving.app.create_app`; nothing below reads the environment itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from latte_serving.errors import ConfigFileError
from latte_serving.faults import Fault, parse_faults

__all__ = ["RUNTIMES", "GatewaySettings", "Runtime", "hash_api_key"]

Runtime = Literal["triton", "tfserving"]
RUNTIMES: tuple[Runtime, ...] = ("triton", "tfserving")


def hash_api_key(key: str) -> str:
    """The sha256 hex digest stored in config instead of the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()


class GatewaySettings(BaseSettings):
    """Everything the gateway is configured with."""

    model_config = SettingsConfigDict(env_prefix="LATTE_SERVING_", frozen=True)

    model_repository: Path = Path("build/model-repository")
    backend: Literal["auto", "local", "triton"] = "auto"
    triton_url: str = ""
    # TF Serving's REST base URL (http://HOST:8501) for the models mapped to it below
    tfserving_url: str = ""
    # "model=runtime,..." (runtime triton|tfserving); a model not listed uses ``backend``
    model_runtimes: Annotated[dict[str, Runtime], NoDecode] = Field(default_factory=dict)
    routing_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # sha256 hex digests of accepted API keys, comma-separated in LATTE_SERVING_API_KEY_HASHES;
    # empty = no authentication (local use only; the Helm chart always sets them)
    api_key_hashes: Annotated[tuple[str, ...], NoDecode] = ()
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    # request line + headers; larger heads get a 431 before the API key is looked at
    max_header_bytes: int = Field(default=64 * 1024, gt=0)
    # tensor elements one request may carry in all, unless the model's config parameter
    # latte_max_elements says otherwise
    max_request_elements: int = Field(default=16 * 1024 * 1024, gt=0)
    header_timeout_s: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    body_timeout_s: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    request_timeout_s: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    canary_timeout_s: float = Field(default=2.0, gt=0, allow_inf_nan=False)
    ready_timeout_s: float = Field(default=2.0, gt=0, allow_inf_nan=False)
    local_dynamic_batching: bool = True
    local_threads: int = Field(default=1, ge=1)
    shadow_log_size: int = Field(default=1000, ge=0)
    drain_timeout_s: float = Field(default=30.0, ge=0, allow_inf_nan=False)
    # triton backend without a local repository: how long to wait for Triton's models
    discovery_timeout_s: float = Field(default=120.0, ge=0, allow_inf_nan=False)
    # how often the routing file is checked for changes (0: read once at startup)
    routing_reload_s: float = Field(default=2.0, ge=0, allow_inf_nan=False)
    # --start-triton: restarts of a Triton that died before the gateway exits (exit code 3)
    triton_max_restarts: int = Field(default=3, ge=0)
    log_level: str = "info"
    # live monitoring (feedback, events, tenants): latte_serving.monitoring's file format
    monitoring: bool = True
    monitoring_file: Path | None = None
    # game-day fault injection (latte_serving.faults), e.g. "tiny@2:errors=0.2"; empty = off
    faults: Annotated[tuple[Fault, ...], NoDecode] = ()

    @field_validator("api_key_hashes", mode="before")
    @classmethod
    def _split_hashes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("model_runtimes", mode="before")
    @classmethod
    def _split_runtimes(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        runtimes: dict[str, str] = {}
        for part in (p.strip() for p in value.split(",")):
            model, sep, runtime = part.partition("=")
            if not part:
                continue
            if not sep or not model.strip() or runtime.strip() not in RUNTIMES:
                raise ValueError(
                    f"model_runtimes entry {part[:60]!r} must be MODEL=RUNTIME with RUNTIME "
                    f"one of {', '.join(RUNTIMES)}"
                )
            runtimes[model.strip()] = runtime.strip()
        return runtimes

    def tfserving_models(self) -> tuple[str, ...]:
        """The models TF Serving answers for, in name order."""
        return tuple(sorted(m for m, r in self.model_runtimes.items() if r == "tfserving"))

    @field_validator("faults", mode="before")
    @classmethod
    def _parse_faults(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_faults(value)
            except ConfigFileError as exc:  # pydantic reports ValueErrors as setting errors
                raise ValueError(str(exc)) from exc
        return value

    def resolved_backend(self) -> Literal["local", "triton"]:
        """``auto`` is triton when a Triton URL is configured, else local."""
        if self.backend == "auto":
            return "triton" if self.triton_url else "local"
        return self.backend
