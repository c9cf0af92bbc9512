"""The contracts across packages, on real builds: every package's code path agrees.

The models env has platform and loadtests installed beside it for exactly these tests.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from latte.config import load_settings
from latte.registry import InvalidInputError, open_registry, register_build
from latte.registry import tree_digest as registry_digest
from latte.registry.build import build_record
from latte.registry.digest import hash_tree
from latte.release.content import bench_entries
from latte.release.errors import ReleaseError
from latte.release.gates import GateInputs, quality_gate
from latte.release.inputs import load_build_report, read_builds
from latte_contracts.layout import BuildLayout
from latte_contracts.reports import BenchReport, BuildReport
from latte_loadtests.bench import _served
from latte_loadtests.cachekey import key_env, model_env
from latte_loadtests.payloads import built_test_rows, held_out_rows
from latte_models import config_path, load_config
from latte_models import tree_digest as models_digest

MODELS = ("digits", "tumor")


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "latte.toml").write_text("")
    return load_settings(root=tmp_path, environ={})


@pytest.mark.parametrize("name", MODELS)
def test_every_package_computes_the_same_digest_of_a_built_model(built, build_dir, name):
    layout = BuildLayout(build_dir)
    tree = layout.model_tree(name)
    written = BuildReport.read(layout.metrics(name)).artifact_digest  # the models writer
    assert written == built[name].artifact_digest
    assert written.startswith("sha256:")
    assert models_digest(tree) == written
    assert registry_digest(tree) == written
    assert hash_tree(tree).digest == written
    cache_key = key_env(build_dir, "cpu", [name])[model_env(name)]  # the bench task's key
    assert "sha256:" + cache_key == written
    assert _served(tree) == (1, written)  # what bench.json records as measured


def test_the_registry_stores_and_returns_the_built_digest(built, build_dir, settings, tmp_path):
    registered = register_build(settings, build_dir)
    assert {mv.name: mv.digest for mv in registered} == {
        name: built[name].artifact_digest for name in MODELS
    }
    with open_registry(settings) as registry:
        fetched = registry.fetch("digits", 1, tmp_path / "fetched")
    assert models_digest(fetched) == built["digits"].artifact_digest


def test_metrics_json_from_models_is_read_by_the_registry_and_the_release(built, build_dir):
    layout = BuildLayout(build_dir)
    path = layout.metrics("tumor")
    report = load_build_report(path)  # the release's reader
    assert report == BuildReport.read(path)
    assert report.metrics == built["tumor"].report["metrics"]
    name, tree, metrics, lineage, expected = build_record(path, build_dir)  # the registry's
    assert (name, tree, expected) == ("tumor", layout.model_tree("tumor"), report.artifact_digest)
    assert metrics["recall"] == report.metrics["recall"]
    assert lineage["data_digest"] == report.data_digest
    assert lineage["gates_passed"] == "true"
    builds = read_builds(build_dir)
    assert builds == {n: layout.metrics(n) for n in MODELS}
    gate = quality_gate(GateInputs(layout.reports, builds, {}, commit_time=0))
    assert (gate.passed, gate.reason) == (True, "")


def test_a_report_with_an_unknown_schema_version_is_refused_everywhere(build_dir, tmp_path):
    data = json.loads(BuildLayout(build_dir).metrics("digits").read_text())
    copy = BuildLayout(tmp_path / "build")
    copy.model_tree("digits").mkdir(parents=True)
    copy.metrics("digits").parent.mkdir(parents=True)
    copy.metrics("digits").write_text(json.dumps({**data, "schema": 2}))
    refused = (
        r"metrics.json: build report \(metrics.json\) schema version 2 is not supported "
        r"\(this code reads version 1\); rebuild"
    )
    with pytest.raises(InvalidInputError, match=refused):
        build_record(copy.metrics("digits"), copy.root)
    with pytest.raises(ReleaseError, match=refused):
        load_build_report(copy.metrics("digits"))
    bench = copy.bench_report("digits")
    bench.parent.mkdir(parents=True)
    BenchReport(status="passed", model="digits").write(bench)
    bench.write_text(bench.read_text().replace('"schema_version": 1', '"schema_version": 9'))
    with pytest.raises(ReleaseError, match=f"{bench}: bench report .* version 9 is not supported"):
        bench_entries({"digits": bench})


@pytest.mark.parametrize(("name", "dataset"), [("digits", "digits"), ("tumor", "breast_cancer")])
def test_the_benchmark_sends_the_rows_the_build_held_out(built, build_dir, name, dataset):
    rows = built_test_rows(BuildLayout(build_dir).test_split(name))
    assert rows is not None
    assert rows.dtype == np.float32
    assert len(rows) == built[name].report["data"]["sizes"]["test"]
    # without a build (a remote target) the benchmark derives the same rows
    config = load_config(config_path(name))
    derived = held_out_rows(dataset, test_fraction=config.test_fraction, seed=config.seed)
    np.testing.assert_array_equal(rows, derived.astype(np.float32))


def test_the_tumor_saved_model_is_registered_and_delivered_by_its_own_digest(
    built, build_dir, settings, tmp_path
):
    """The real TF build's SavedModel: its digest in metrics.json, in the registry beside the
    ONNX tree, and after `latte registry fetch --runtime tfserving` are the same, and the
    delivered SavedModel still answers as the build's ONNX model does."""
    import tensorflow as tf

    from latte.deliver import fetch_saved_models
    from latte.deliver.plan import DeliveryPlan, ModelDelivery
    from latte.registry.marker import RepositoryMarker

    exports = {
        e["kind"]: e for e in BuildReport.read(BuildLayout(build_dir).metrics("tumor")).exports
    }
    written = exports["saved_model"]["digest"]
    assert registry_digest(build_dir / exports["saved_model"]["path"]) == written
    tumor = {mv.name: mv for mv in register_build(settings, build_dir)}["tumor"]
    assert tumor.artifacts == {"saved_model": written}
    assert written != tumor.digest
    plan = DeliveryPlan("test", (ModelDelivery("tumor", ((tumor.version, written),)),))
    with open_registry(settings) as registry:
        fetch_saved_models(registry.store, plan, tmp_path / "tf")
    assert RepositoryMarker.read(tmp_path / "tf").models == {"tumor": {tumor.version: written}}
    x = built_test_rows(BuildLayout(build_dir).test_split("tumor"))
    assert x is not None
    x = x.astype(np.float32)
    served = tf.saved_model.load(str(tmp_path / "tf" / "tumor" / str(tumor.version)))
    config = load_config(config_path("tumor"))
    signature = served.signatures["serving_default"]
    got = signature(**{config.input_name: tf.constant(x[:8])})[config.output_name].numpy()
    import onnxruntime as ort

    session = ort.InferenceSession(
        str(BuildLayout(build_dir).model_tree("tumor") / "1" / "model.onnx")
    )
    want = session.run(None, {config.input_name: x[:8]})[0]
    np.testing.assert_allclose(got, want, atol=config.atol)
