"""BuildReport and BenchReport: typed round trips, and files they must refuse."""

from __future__ import annotations

import json

import pytest

from latte_contracts.errors import (
    ReportError,
    ReportShapeError,
    ReportSyntaxError,
    ReportVersionError,
)
from latte_contracts.reports import BenchReport, BuildReport, GateRecord

BUILD = BuildReport(
    name="digits",
    framework="pytorch",
    artifact_digest="sha256:" + "a" * 64,
    metrics={"accuracy": 0.98, "per_class": {"0": {"f1": 1.0}}},
    gates=(GateRecord("accuracy", True, 0.9, 0.98),),
    gates_passed=True,
    exports=({"kind": "onnx", "path": "model-repository/digits"},),
    verify_atol=1e-4,
)


def test_a_build_report_round_trips_through_its_file(tmp_path):
    path = tmp_path / "metrics.json"
    BUILD.write(path)
    assert BuildReport.read(path) == BUILD
    data = json.loads(path.read_text())
    assert data["schema"] == 1
    assert data["gates"] == [{"metric": "accuracy", "min": 0.9, "value": 0.98, "passed": True}]
    assert "latency" not in data  # unset fields are left out, not written as null
    assert path.read_text() == json.dumps(data, indent=2, sort_keys=True) + "\n"


def test_a_bench_report_names_what_it_measured(tmp_path):
    path = tmp_path / "bench.json"
    report = BenchReport(status="passed", model="digits", models=("digits",), version=1,
                         digest="sha256:" + "b" * 64, slo={"passed": True})  # fmt: skip
    report.write(path)
    data = json.loads(path.read_text())
    assert list(data)[:2] == ["schema", "schema_version"]
    assert (data["schema"], data["schema_version"]) == ("latte.bench", 1)
    assert (data["model"], data["version"], data["digest"]) == ("digits", 1, "sha256:" + "b" * 64)
    assert BenchReport.read(path) == report
    assert BenchReport(status="passed").to_json() == {
        "schema": "latte.bench",
        "schema_version": 1,
        "status": "passed",
    }


def test_files_without_a_version_read_as_version_one(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"artifact_digest": "sha256:x", "gates": [{"metric": "f1"}]}))
    report = BuildReport.read(path)
    assert report.artifact_digest == "sha256:x"
    assert report.gates == (GateRecord("f1", False),)
    assert report.name is None


@pytest.mark.parametrize(
    ("cls", "header", "found"),
    [
        (BuildReport, {"schema": 2}, "2"),
        (BuildReport, {"schema": "1"}, "'1'"),
        (BenchReport, {"schema": "latte.bench", "schema_version": 7}, "7"),
    ],
)
def test_an_unknown_schema_version_is_refused_naming_file_found_and_supported(
    tmp_path, cls, header, found
):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({**header, "status": "passed", "name": "x"}))
    with pytest.raises(ReportVersionError) as caught:
        cls.read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert f"schema version {found} is not supported (this code reads version 1)" in message


def test_unreadable_and_misshapen_files_are_named(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text("{")
    with pytest.raises(ReportSyntaxError, match=r"bench.json: not valid JSON"):
        BenchReport.read(path)
    with pytest.raises(ReportSyntaxError, match="not valid JSON"):
        BenchReport.read(tmp_path / "missing.json")
    path.write_text("[]")
    with pytest.raises(ReportShapeError, match="must hold a JSON object") as caught:
        BenchReport.read(path)
    assert caught.value.path == path
    assert caught.value.detail == "must hold a JSON object, not list"
    assert caught.value.field is None
    path.write_text(json.dumps({"schema": "latte.other"}))
    with pytest.raises(ReportShapeError, match="not a bench report"):
        BenchReport.read(path)


@pytest.mark.parametrize(
    ("cls", "field", "value", "what"),
    [
        (BuildReport, "metrics", [1], "a JSON object"),
        (BuildReport, "gates_passed", "yes", "true or false"),
        (BuildReport, "artifact_digest", 3, "a string"),
        (BuildReport, "verify_atol", True, "a number"),
        (BuildReport, "gates", {}, "a list"),
        (BuildReport, "exports", [1], "a list of JSON objects"),
        (BenchReport, "version", "1", "an integer"),
        (BenchReport, "models", [1], "a list of strings"),
    ],
)
def test_a_field_of_the_wrong_type_is_refused(tmp_path, cls, field, value, what):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({field: value}))
    with pytest.raises(ReportShapeError, match=f"field '{field}' must be {what}") as caught:
        cls.read(path)
    assert caught.value.field == field


def test_a_gate_entry_must_be_an_object(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"gates": ["f1"]}))
    with pytest.raises(ReportError, match="each entry of 'gates' must be a JSON object"):
        BuildReport.read(path)
