"""TrainJob generation: the shape, the pinned image, TF_CONFIG wiring, strict CRD validity."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from latte.gitops.manifests import Manifest
from latte.gitops.schemas import load_crd_schemas, validate_crds
from latte.train.errors import TrainError
from latte.train.jobs import JobRequest, render_job

REPO = Path(__file__).resolve().parents[4]
IMAGE = "ghcr.io/example/latte-train@sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def crds():
    configured = os.environ.get("LATTE_CRD_SCHEMAS", "")
    folder = Path(configured) if configured else REPO.parent / "shared" / "schemas"
    folder = folder if folder.is_absolute() else REPO / folder
    if not (folder / "kubeflow-trainer").is_dir():
        pytest.skip(f"Kubeflow Trainer CRDs not available ({folder}): strict validation not run")
    return load_crd_schemas(folder)


def _job(model, **overrides):
    request = JobRequest(
        model=model, nodes=2, image=IMAGE, checkpoint_url="s3://ckpt/digits",
        upload_url="s3://ckpt/runs", s3_endpoint="s3.example.com",
    )  # fmt: skip
    return render_job(JobRequest(**{**request.__dict__, **overrides}))


def test_a_torch_job_runs_torchrun_with_the_local_worker_command():
    job = _job("digits")
    assert job["apiVersion"] == "trainer.kubeflow.org/v1alpha1"
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "training"
    spec = job["spec"]
    assert spec["suspend"] is True
    assert spec["runtimeRef"]["name"] == "latte-torch-distributed"
    trainer = spec["trainer"]
    assert trainer["numNodes"] == 2
    assert trainer["image"] == IMAGE
    assert trainer["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == "1"
    assert trainer["command"] == ["torchrun"]
    assert trainer["args"][:4] == ["-m", "latte_models", "train", "digits"]
    assert "s3://ckpt/digits" in trainer["args"]
    env = {e["name"]: e for e in trainer["env"]}
    assert env["LATTE_S3_ENDPOINT"]["value"] == "s3.example.com"
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "latte-s3"


def test_the_runtimes_the_jobs_name_ship_in_gitops_training():
    shipped = (REPO / "gitops/training/runtimes.yaml").read_text()
    for model in ("digits", "tumor"):
        assert f"name: {_job(model)['spec']['runtimeRef']['name']}\n" in shipped


def test_a_tf_job_builds_tf_config_from_the_pod_index():
    job = _job("tumor", name="tumor-run")
    trainer = job["spec"]["trainer"]
    assert job["spec"]["runtimeRef"]["name"] == "latte-tf-multiworker"
    assert trainer["command"] == ["sh", "-c"]
    # run the job's own shell line, with `exec python` swapped for printing the variable
    script = trainer["args"][0].split(" && ")[0] + ' && printf %s "$TF_CONFIG"'
    env = {"JOB_COMPLETION_INDEX": "1", "PATH": os.environ["PATH"]}
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=True)
    config = json.loads(done.stdout)
    assert config == {
        "cluster": {
            "worker": ["tumor-run-node-0-0.tumor-run:2222", "tumor-run-node-0-1.tumor-run:2222"]
        },
        "task": {"type": "worker", "index": 1},
    }
    assert "exec python -m latte_models train tumor" in trainer["args"][0]


def test_cpu_only_jobs_ask_for_no_gpu():
    trainer = _job("digits", gpus_per_node=0)["spec"]["trainer"]
    assert "nvidia.com/gpu" not in trainer["resourcesPerNode"]["limits"]
    assert trainer["args"][-2:] == ["--instance-kind", "cpu"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image": "ghcr.io/example/latte-train:1.0"}, "not pinned by digest"),
        ({"name": "Bad_Name"}, "is not a DNS label"),
        ({"nodes": 0}, "at least one node"),
        ({"model": "nope"}, "unknown model 'nope'"),
        ({"checkpoint_url": "/home/me/ckpt"}, "--checkpoint-url '/home/me/ckpt' is not on S3"),
    ],
)
def test_bad_requests_are_refused_naming_the_value(overrides, message):
    with pytest.raises(TrainError, match=message):
        _job(**{"model": "digits", **overrides})


@pytest.mark.parametrize("model", ["digits", "tumor"])
def test_generated_jobs_validate_strictly_against_the_trainer_crd(crds, model):
    assert validate_crds([Manifest("job.yaml", _job(model))], crds) == []


def test_a_misspelled_trainjob_field_fails_strict_validation(crds):
    job = _job("digits")
    job["spec"]["trainer"]["numNode"] = job["spec"]["trainer"].pop("numNodes")
    (finding,) = validate_crds([Manifest("job.yaml", job)], crds)
    assert finding.key == "TrainJob/latte-train-digits spec.trainer"
    assert "'numNode' was unexpected" in finding.message
