"""Fault injection for game days: extra latency and/or errors for one model version.

Off unless ``LATTE_SERVING_FAULTS`` is set (the chart's ``gateway.faults`` value; the gitops
policy refuses it in production values). The idea is Istio/Envoy's HTTP fault filter, applied
where the gateway calls the backend, so everything downstream sees a real failure: the
latency histogram includes the delay, an injected error is a 503 in
``latte_gateway_requests_total`` and ``latte_gateway_errors_total{reason="injected"}``, and a
canary's injected error falls back to stable exactly as a real one does. Spec, entries
separated by ``;``::

    tiny@2:errors=0.2              # 20% of v2's backend calls fail with 503
    tiny@2:delay_ms=300            # every v2 call takes 300 ms longer
    tiny@2:errors=0.1,delay_ms=50;iris@1:delay_ms=20
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping

from latte_serving.errors import ConfigFileError

__all__ = ["Fault", "check_served", "parse_faults"]

_TARGET = re.compile(r"^(?P<model>[A-Za-z0-9_.-]+)@(?P<version>[1-9][0-9]{0,8})$")
_MAX_DELAY_MS = 60_000.0  # beyond a minute it is an outage drill, not a latency fault
_KEYS = ("errors", "delay_ms")


@dataclasses.dataclass(frozen=True)
class Fault:
    """What one model version suffers: ``error_ratio`` of calls fail, each waits ``delay_s``."""

    model: str
    version: int
    error_ratio: float = 0.0
    delay_s: float = 0.0

    def describe(self) -> str:
        delay_ms = self.delay_s * 1000
        return f"{self.model}@{self.version}:errors={self.error_ratio:g},delay_ms={delay_ms:g}"


def parse_faults(text: str) -> tuple[Fault, ...]:
    """The faults of a ``LATTE_SERVING_FAULTS`` spec; ``ConfigFileError`` names what is wrong."""
    faults: dict[tuple[str, int], Fault] = {}
    for entry in (part.strip() for part in text.split(";")):
        if not entry:
            continue
        fault = _entry(entry)
        if (fault.model, fault.version) in faults:
            raise ConfigFileError(f"LATTE_SERVING_FAULTS names {fault.model}@{fault.version} twice")
        faults[(fault.model, fault.version)] = fault
    return tuple(faults.values())


def _entry(entry: str) -> Fault:
    target, colon, settings = entry.partition(":")
    match = _TARGET.match(target.strip())
    if match is None or not colon:
        raise ConfigFileError(
            f"LATTE_SERVING_FAULTS entry {entry!r}: expected MODEL@VERSION:errors=RATIO,delay_ms=MS"
        )
    values: dict[str, float] = {}
    for pair in settings.split(","):
        key, equals, raw = (p.strip() for p in pair.partition("="))
        if key not in _KEYS or not equals:
            raise ConfigFileError(
                f"LATTE_SERVING_FAULTS entry {entry!r}: unknown setting {pair.strip()!r}; "
                f"known: {', '.join(_KEYS)}"
            )
        if key in values:
            raise ConfigFileError(f"LATTE_SERVING_FAULTS entry {entry!r}: {key} given twice")
        values[key] = _number(entry, key, raw)
    ratio, delay_ms = values.get("errors", 0.0), values.get("delay_ms", 0.0)
    if not 0.0 <= ratio <= 1.0:
        raise ConfigFileError(f"LATTE_SERVING_FAULTS entry {entry!r}: errors must be in [0, 1]")
    if not 0.0 <= delay_ms <= _MAX_DELAY_MS:
        raise ConfigFileError(
            f"LATTE_SERVING_FAULTS entry {entry!r}: delay_ms must be in [0, {_MAX_DELAY_MS:g}]"
        )
    if ratio == 0.0 and delay_ms == 0.0:
        raise ConfigFileError(f"LATTE_SERVING_FAULTS entry {entry!r} injects nothing")
    return Fault(match["model"], int(match["version"]), ratio, delay_ms / 1000.0)


def _number(entry: str, key: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigFileError(
            f"LATTE_SERVING_FAULTS entry {entry!r}: {key}={raw!r} is not a number"
        )
    return value


def check_served(faults: tuple[Fault, ...], versions: Mapping[str, tuple[int, ...]]) -> None:
    """Refuse a fault for a model or version the gateway does not serve (a typo drills nothing)."""
    for fault in faults:
        served = versions.get(fault.model)
        if served is None or fault.version not in served:
            known = ", ".join(f"{m}@{v}" for m, vs in sorted(versions.items()) for v in vs)
            raise ConfigFileError(
                f"LATTE_SERVING_FAULTS names {fault.model}@{fault.version}, which is not served; "
                f"served: {known or 'nothing'}"
            )
