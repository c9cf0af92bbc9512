"""Release ids, bench/capacity extraction and the content shape."""

import datetime as dt
import json

import pytest

from latte.release.content import Canary, bench_entries, build_content, next_release_id
from latte.release.errors import ReleaseError
from latte.release.inputs import BuiltModel

NOW = dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC)


def test_ids_count_per_utc_day():
    assert next_release_id(NOW, []) == "2026.11.30.1"
    assert next_release_id(NOW, ["", "2026.11.29.7", "2026.11.30.1"]) == "2026.11.30.2"
    assert next_release_id(NOW, ["2026.11.30.9", "2026.11.30.10"]) == "2026.11.30.11"
    late = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert next_release_id(late, ["2026.11.30.4"]) == "2026.12.01.1"


def _bench(tmp_path, capacity):
    path = tmp_path / "bench.json"
    report = {
        "status": "passed",
        "device": {"key": "cpu:1x Xeon"},
        "slo": {"passed": True, "measured_p95_ms": 4.123456},
        "capacity": capacity,
    }
    path.write_text(json.dumps(report))
    return path


def test_bench_and_capacity_come_from_bench_json(tmp_path):
    path = _bench(
        tmp_path,
        {
            "per_replica_rps_at_slo": 812.5,
            "concurrency_at_slo": 16,
            "replicas": 2,
            "hpa": {"target_average_value": 568.75},
        },
    )
    bench, capacity = bench_entries({"digits": path})
    assert bench == {
        "digits": {
            "p95Ms": 4.123,
            "throughputRps": 812.5,
            "device": "cpu:1x Xeon",
            "concurrency": 16,
        }
    }
    assert capacity == {
        "digits": {"perReplicaRps": 812.5, "replicas": 2, "hpaTargetRps": 568.75, "device": "cpu"}
    }


def test_no_replica_count_means_no_capacity_entry(tmp_path):
    path = _bench(tmp_path, {"per_replica_rps_at_slo": 0.0, "replicas": None, "hpa": None})
    bench, capacity = bench_entries({"digits": path})
    assert bench["digits"]["concurrency"] == 1
    assert capacity == {}


def test_unreadable_bench_json_is_named(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text("{")
    with pytest.raises(ReleaseError, match=r"bench.json: not readable JSON"):
        bench_entries({"digits": path})
    path.write_text("[]")
    with pytest.raises(ReleaseError, match="expected a JSON object"):
        bench_entries({"digits": path})


def test_content_routes_all_traffic_to_the_released_version():
    model = BuiltModel("digits", 3, "sha256:" + "a" * 64, "pytorch", {"f1": 0.9}, ("dev:current",))
    content = build_content(
        commit="c" * 40,
        gates=["tests", "slo"],
        models=[model],
        benches={},
        images={"gateway": {"repository": "r", "tag": "c" * 40, "digest": ""}},
    )
    assert content["release"] == {"commit": "c" * 40, "gates": {"tests": "passed", "slo": "passed"}}
    assert content["models"]["digits"] == {
        "version": 3,
        "digest": "sha256:" + "a" * 64,
        "artifacts": {"3": "sha256:" + "a" * 64},
        "framework": "pytorch",
        "aliases": ["dev:current"],
        "metrics": {"f1": 0.9},
    }
    assert content["routing"]["digits"] == {
        "stable": 3,
        "versions": {"3": 100},
        "stickyHeader": "x-latte-route-key",
        "shadow": None,
    }


def test_a_canary_keeps_the_stable_version_and_pins_both_digests():
    new, old = "sha256:" + "b" * 64, "sha256:" + "a" * 64
    model = BuiltModel("digits", 12, new, "pytorch", {}, ())
    content = build_content(
        commit="c" * 40, gates=[], models=[model], benches={}, images={},
        canary=Canary(percent=10, stable={"digits": (9, old)}),
    )  # fmt: skip
    assert content["models"]["digits"]["artifacts"] == {"9": old, "12": new}  # numeric order
    assert (content["models"]["digits"]["version"], content["models"]["digits"]["digest"]) == (
        12,
        new,
    )
    assert content["routing"]["digits"] == {
        "stable": 9,
        "versions": {"9": 90, "12": 10},
        "stickyHeader": "x-latte-route-key",
        "shadow": None,
    }
    shadow = build_content(
        commit="c" * 40, gates=[], models=[model], benches={}, images={},
        canary=Canary(percent=0, stable={"digits": (9, old)}, shadow=True),
    )  # fmt: skip
    assert shadow["routing"]["digits"]["versions"] == {"9": 100, "12": 0}
    assert shadow["routing"]["digits"]["shadow"] == 12
