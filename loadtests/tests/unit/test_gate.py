import pytest

from latte_loadtests.gate import capacity_plan, evaluate_slo
from latte_loadtests.profiles import Capacity, Slo
from latte_loadtests.sweep import StepResult

SLO = Slo(p95_ms=20.0, at_concurrency=4)


def step(users, rps, p95, failures=0, requests=1000):
    return StepResult(
        concurrency=users, seconds=10.0, requests=requests, failures=failures, rows=requests * 2,
        rps=rps, rows_per_s=rps * 2, error_rate=failures / requests, avg_ms=p95 / 2,
        p50_ms=p95 / 2, p90_ms=p95, p95_ms=p95, p99_ms=p95 * 2, generator_cpu_percent=20.0,
    )  # fmt: skip


def test_gate_passes_within_bounds():
    result = evaluate_slo("digits", SLO, [step(1, 100, 5), step(4, 300, 12)])
    assert result.passed
    assert result.message.startswith("SLO met for digits")


def test_gate_names_the_slo_and_the_measured_p95():
    result = evaluate_slo("digits", SLO, [step(1, 100, 5), step(4, 300, 31)])
    assert not result.passed
    assert result.measured_p95_ms == 31
    assert "p95 <= 20 ms at concurrency 4" in result.message
    assert "measured p95 31 ms at concurrency 4" in result.message


def test_gate_fails_on_any_error_over_the_sweep():
    result = evaluate_slo("digits", SLO, [step(1, 100, 5, failures=1), step(4, 300, 12)])
    assert not result.passed
    assert "measured error rate 0.0005 over 2000 requests" in result.message


def test_gate_fails_when_the_slo_level_was_not_run():
    result = evaluate_slo("digits", SLO, [step(1, 100, 5)])
    assert not result.passed
    assert "no step ran at concurrency 4" in result.message


def test_capacity_uses_the_busiest_step_within_the_slo():
    steps = [step(1, 100, 5), step(4, 300, 12), step(16, 500, 80)]
    plan = capacity_plan(SLO, steps, target_rps=1000, policy=Capacity(headroom=0.5))
    assert plan["per_replica_rps_at_slo"] == 300
    assert plan["concurrency_at_slo"] == 4
    assert plan["replicas"] == 7  # 1000 / (300 * 0.5) = 6.7
    assert plan["hpa"]["target_average_value"] == pytest.approx(150)
    assert plan["hpa"]["max_replicas"] == 14


def test_capacity_keeps_the_minimum_replicas():
    plan = capacity_plan(SLO, [step(4, 300, 12)], target_rps=1, policy=Capacity(min_replicas=3))
    assert plan["replicas"] == 3


def test_capacity_without_any_step_in_the_slo_says_so():
    plan = capacity_plan(SLO, [step(4, 300, 99)], target_rps=10, policy=Capacity())
    assert plan["replicas"] is None
    assert "no step met the SLO" in plan["note"]
