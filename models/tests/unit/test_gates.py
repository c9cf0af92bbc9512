import pytest

from latte_models import ConfigError, GateError
from latte_models._common.gates import check_gates, enforce_gates, parse_gate


def test_a_metric_below_its_gate_fails_naming_metric_value_and_gate():
    results = check_gates({"recall": 0.9, "accuracy": 0.99}, {"recall": 0.95, "accuracy": 0.9})
    assert [r.passed for r in results] == [True, False]
    with pytest.raises(GateError, match=r"recall = 0\.9000 < gate 0\.9500 \(gates in cfg\.toml\)"):
        enforce_gates("tumor", results, "cfg.toml")


def test_gates_at_or_above_pass():
    enforce_gates("digits", check_gates({"f1_macro": 0.95}, {"f1_macro": 0.95}), "c")


def test_a_gate_on_an_unknown_metric_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown metric"):
        check_gates({"f1_macro": 0.9}, {"f1": 0.9})


@pytest.mark.parametrize("text", ["recall", "recall=high", "=0.5", "recall=1.5"])
def test_bad_gate_overrides_are_refused(text):
    with pytest.raises(ConfigError, match="METRIC=MIN"):
        parse_gate(text)


def test_gate_override_parses():
    assert parse_gate(" recall = 0.97") == ("recall", 0.97)
