"""A model served by TF Serving, end to end on real parts: the build's SavedModel tree is
registered beside the ONNX tree (its own digest), pinned by `latte release --runtime`, fetched
and verified by `latte registry fetch --runtime tfserving`, and rendered by the real helm into
a TF Serving pod that passes the Kubernetes schemas and the policy. The digest is the same at
every step. (TF Serving itself is not run here: no binary installs on this machine.)"""

import json

import pytest
from release_repo import REPO, git, ready_repo, settings, write_bench
from ruamel.yaml import YAML

from latte.cli import main
from latte.gitops.check import render_env, run_checks
from latte.gitops.helm import find_helm
from latte.gitops.layout import GitopsLayout
from latte.gitops.policy import check_policies
from latte.registry import open_registry, tree_digest
from latte.registry.build import register_build
from latte.registry.marker import RepositoryMarker
from latte.release import ReleaseError, release

pytestmark = pytest.mark.integration
SAVED_MODEL_FILES = {
    "1/saved_model.pb": b"\x08\x01saved-model-graph",
    "1/variables/variables.index": b"index-bytes",
    "1/variables/variables.data-00000-of-00001": b"\x00weights\xff" * 64,
}


def _build_tumor(root, *, saved_model=True, weights=b"tumor-onnx-v1"):
    """What `latte build` leaves for tumor: the Triton tree, the TF Serving tree, metrics.json
    listing both exports with the digests the build computed."""
    tree = root / "build" / "model-repository" / "tumor"
    (tree / "1").mkdir(parents=True, exist_ok=True)
    (tree / "config.pbtxt").write_text('name: "tumor"\n')
    (tree / "1" / "model.onnx").write_bytes(weights)
    exports = [{"kind": "onnx", "path": "model-repository/tumor", "digest": tree_digest(tree)}]
    if saved_model:
        tf_tree = root / "build" / "tf-serving" / "tumor"
        for relative, data in SAVED_MODEL_FILES.items():
            (tf_tree / relative).parent.mkdir(parents=True, exist_ok=True)
            (tf_tree / relative).write_bytes(data)
        exports.append(
            {"kind": "saved_model", "path": "tf-serving/tumor", "digest": tree_digest(tf_tree)}
        )
    folder = root / "build" / "models" / "tumor"
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "name": "tumor",
        "framework": "tensorflow",
        "artifact_digest": tree_digest(tree),
        "metrics": {"f1_macro": 0.96, "accuracy": 0.97},
        "gates_passed": True,
        "gates": [{"metric": "f1_macro", "min": 0.9, "value": 0.96, "passed": True}],
        "exports": exports,
    }
    (folder / "metrics.json").write_text(json.dumps(report))
    write_bench(root, "tumor")
    return {m.name: m for m in register_build(settings(root))}["tumor"]


def _enable_tfserving(root, enabled=True):
    values = root / "gitops" / "envs" / "dev" / "values.yaml"
    text = values.read_text()
    values.write_text(text + f"tfServing:\n  enabled: {str(enabled).lower()}\n")
    git(root, "commit", "-qam", "dev runs TF Serving")


@pytest.fixture
def repo(tmp_path):
    return ready_repo(tmp_path / "repo")


def _release_doc(root):
    return YAML(typ="safe").load(root / "gitops" / "envs" / "dev" / "release.yaml")


def test_saved_model_digest_is_equal_from_registry_to_release_to_fetch(repo, tmp_path, capsys):
    version = _build_tumor(repo)
    tf_digest = tree_digest(repo / "build" / "tf-serving" / "tumor")
    assert version.artifacts == {"saved_model": tf_digest}
    assert tf_digest != version.digest  # its own digest, beside the ONNX tree's

    _enable_tfserving(repo)
    release(settings(repo), runtimes={"tumor": "tfserving"})
    tumor = _release_doc(repo)["models"]["tumor"]
    assert tumor["runtime"] == "tfserving"
    assert tumor["savedModels"] == {str(version.version): tf_digest}
    assert tumor["artifacts"] == {str(version.version): version.digest}
    assert "runtime" not in _release_doc(repo)["models"]["digits"]  # absent = triton

    dest = tmp_path / "tf-models"
    release_file = repo / "gitops" / "envs" / "dev" / "release.yaml"
    args = ["registry", "fetch", f"--release={release_file}", f"--dest={dest}"]
    code = main(["--root", str(repo), *args, "--runtime=tfserving"])
    assert code == 0, capsys.readouterr().err
    assert f"fetched tumor version {version.version} ({tf_digest}) verified" in (
        capsys.readouterr().out
    )
    assert sorted(p.name for p in dest.iterdir()) == [
        ".latte-repository.json",
        "models.config",
        "tumor",
    ]  # only the tfserving model: digits stays Triton's
    for relative, data in SAVED_MODEL_FILES.items():
        placed = relative.replace("1/", f"{version.version}/", 1)
        assert (dest / "tumor" / placed).read_bytes() == data
    assert RepositoryMarker.read(dest).models == {"tumor": {version.version: tf_digest}}
    config = (dest / "models.config").read_text()
    assert f'base_path: "{(dest / "tumor").as_posix()}"' in config
    assert f"model_version_policy {{ specific {{ versions: {version.version} }} }}" in config

    # the Triton fetch of the same release is unchanged: every model's ONNX tree
    triton = tmp_path / "triton"
    assert main(["--root", str(repo), *args[:2], f"--release={release_file}",
                 f"--dest={triton}", "--instance-kind=cpu"]) == 0  # fmt: skip
    assert RepositoryMarker.read(triton).models["tumor"] == {version.version: version.digest}


def test_a_tampered_saved_model_fails_the_fetch_and_leaves_nothing(repo, tmp_path, capsys):
    version = _build_tumor(repo)
    _enable_tfserving(repo)
    release(settings(repo), runtimes={"tumor": "tfserving"})
    with open_registry(settings(repo)) as registry:
        manifest = json.loads(
            registry.store.get_bytes(
                f"trees/sha256/{version.artifacts['saved_model'].split(':')[1]}.json"
            )
        )
        blob = next(f["sha256"] for f in manifest["files"] if f["path"] == "1/saved_model.pb")
        path = repo / ".latte" / "artifacts" / "blobs" / "sha256" / blob
    path.write_bytes(b"evil graph")
    dest = tmp_path / "tf-models"
    release_file = repo / "gitops" / "envs" / "dev" / "release.yaml"
    code = main(["--root", str(repo), "registry", "fetch", f"--release={release_file}",
                 f"--dest={dest}", "--runtime=tfserving"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1
    assert f"model tumor version {version.version}: expected " in err
    assert not dest.exists()


def test_runtime_tfserving_without_a_saved_model_is_refused(repo):
    _build_tumor(repo, saved_model=False)
    _enable_tfserving(repo)
    before = _release_doc(repo)
    with pytest.raises(ReleaseError, match=r"runtime tfserving needs a SavedModel artifact"):
        release(settings(repo), runtimes={"tumor": "tfserving"})
    assert _release_doc(repo) == before  # nothing half-written


def test_runtime_tfserving_in_an_env_without_tf_serving_is_refused(repo):
    _build_tumor(repo)
    with pytest.raises(ReleaseError, match=r"tfServing.enabled is false in this env"):
        release(settings(repo), runtimes={"tumor": "tfserving"})


def test_the_runtime_stays_chosen_and_an_unknown_model_is_refused(repo):
    _build_tumor(repo)
    _enable_tfserving(repo)
    release(settings(repo), runtimes={"tumor": "tfserving"})
    _build_tumor(repo, weights=b"tumor-onnx-v2")  # a new version, same SavedModel bytes
    release(settings(repo))  # no --runtime: the env's release keeps tfserving
    tumor = _release_doc(repo)["models"]["tumor"]
    assert (tumor["version"], tumor["runtime"]) == (2, "tfserving")
    assert set(tumor["savedModels"]) == {"2"}
    with pytest.raises(ReleaseError, match=r"--runtime resnet=\.\.\.: no built model 'resnet'"):
        release(settings(repo), runtimes={"resnet": "tfserving"})


def test_cli_runtime_flag_is_validated(repo, capsys):
    assert main(["--root", str(repo), "release", "--runtime", "tumor=onnxruntime"]) == 2
    assert "write MODEL=RUNTIME, RUNTIME one of triton, tfserving" in capsys.readouterr().err


def test_rendered_tf_serving_passes_schemas_and_policy(repo):
    version = _build_tumor(repo)
    _enable_tfserving(repo)
    release(settings(repo), runtimes={"tumor": "tfserving"})
    helm = find_helm(REPO / ".latte" / "tools")
    layout = GitopsLayout.discover(repo)
    manifests, failed = render_env(layout, helm, "dev")
    assert failed == []
    by_name = {(m.kind, m.doc["metadata"]["name"]): m.doc for m in manifests}
    deployment = by_name[("Deployment", "latte-dev-tfserving")]
    pod = deployment["spec"]["template"]["spec"]
    server = pod["containers"][0]
    assert server["command"] == ["tensorflow_model_server"]
    assert "--monitoring_config_file=/etc/latte/tfserving/monitoring.config" in server["args"]
    assert server["readinessProbe"]["httpGet"] == {"path": "/v1/models/tumor", "port": "rest"}
    assert {p["containerPort"] for p in server["ports"]} == {8500, 8501}
    fetch = pod["initContainers"][0]
    assert fetch["args"][-1] == "--runtime=tfserving"
    delivered = YAML(typ="safe").load(
        by_name[("ConfigMap", "latte-dev-tfserving")]["data"]["release.yaml"]
    )
    assert delivered["models"]["tumor"]["savedModels"] == {
        str(version.version): version.artifacts["saved_model"]
    }
    assert set(delivered["models"]) == {"tumor"}
    assert ("PodDisruptionBudget", "latte-dev-tfserving") in by_name
    assert ("NetworkPolicy", "latte-dev-tfserving") in by_name
    monitor = by_name[("ServiceMonitor", "latte-dev-tfserving")]
    assert monitor["spec"]["endpoints"][0]["path"] == "/monitoring/prometheus/metrics"
    gateway = next(
        doc for (kind, name), doc in by_name.items()
        if name == "latte-dev-gateway" and kind in ("Deployment", "Rollout")
    )  # fmt: skip
    env = {
        e["name"]: e.get("value")
        for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["LATTE_SERVING_TFSERVING_URL"] == "http://latte-dev-tfserving:8501"
    assert env["LATTE_SERVING_MODEL_RUNTIMES"] == "tumor=tfserving"
    assert check_policies(manifests) == []
    results = {r.name: r for r in run_checks(layout, helm, None, ["dev"])}
    for name in ("values (dev)", "helm template (dev)", "kubernetes schemas (dev)", "policy (dev)"):
        assert results[name].status == "passed", (name, results[name].findings)
