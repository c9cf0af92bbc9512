"""Quality gates: a minimum per metric; a build below any of them fails, naming which."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from latte_models.errors import ConfigError, GateError

__all__ = ["GateResult", "check_gates", "enforce_gates", "parse_gate"]


@dataclasses.dataclass(frozen=True)
class GateResult:
    metric: str
    minimum: float
    value: float

    @property
    def passed(self) -> bool:
        return self.value >= self.minimum

    def to_dict(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "min": self.minimum,
            "value": self.value,
            "passed": self.passed,
        }


def check_gates(metrics: Mapping[str, float], gates: Mapping[str, float]) -> list[GateResult]:
    """Compare each gate with its metric; a gate on a metric the build does not compute is a
    config error rather than a silent pass."""
    unknown = sorted(set(gates) - set(metrics))
    if unknown:
        raise ConfigError(
            f"gate(s) on unknown metric(s) {', '.join(unknown)}; "
            f"gates can use: {', '.join(sorted(metrics))}"
        )
    return [GateResult(name, float(gates[name]), metrics[name]) for name in sorted(gates)]


def enforce_gates(model: str, results: list[GateResult], source: str) -> None:
    """Raise :class:`GateError` naming every failed gate, its value and its minimum."""
    failed = [r for r in results if not r.passed]
    if failed:
        detail = "; ".join(f"{r.metric} = {r.value:.4f} < gate {r.minimum:.4f}" for r in failed)
        raise GateError(
            f"model {model!r} failed its quality gate(s): {detail} (gates in {source}); "
            "improve the model or change the gate deliberately"
        )


def parse_gate(text: str) -> tuple[str, float]:
    """``"f1_macro=0.97"`` -> ``("f1_macro", 0.97)``, for ``--gate`` overrides."""
    name, sep, value = text.partition("=")
    try:
        minimum = float(value)
    except ValueError:
        minimum = float("nan")
    if not sep or not name.strip() or not 0.0 <= minimum <= 1.0:
        raise ConfigError(
            f"--gate {text!r} is not METRIC=MIN with MIN between 0 and 1; e.g. --gate recall=0.97"
        )
    return name.strip(), minimum
