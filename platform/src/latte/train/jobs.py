"""Kubeflow Trainer v2 ``TrainJob`` manifests for a training run on a cluster.

digits: the ``latte-torch-distributed`` runtime; Trainer sets ``PET_*`` for ``torchrun``, which
reads them as its defaults, so the job's command is ``torchrun`` + the local worker command.
tumor: Trainer v2 has no TensorFlow runtime (kubeflow/trainer#2443), so the plain
``latte-tf-multiworker`` runtime runs a shell line that builds ``TF_CONFIG`` from the pod's
index (``JOB_COMPLETION_INDEX``) and the JobSet's stable DNS names, then the same command.
Jobs are created suspended with a Kueue queue label: Kueue admits them when quota allows.
Runtimes and queues ship in ``gitops/training/``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path
from typing import Any

from latte.train.errors import TrainError
from latte.train.launch import LaunchRequest, engine_of, worker_command

__all__ = ["API_VERSION", "RUNTIMES", "JobRequest", "render_job"]

API_VERSION = "trainer.kubeflow.org/v1alpha1"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
RUNTIMES = {"torch": "latte-torch-distributed", "tensorflow": "latte-tf-multiworker"}
TF_PORT = 2222  # the runtime's tf-worker containerPort
_PINNED = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$")


@dataclasses.dataclass(frozen=True)
class JobRequest:
    """What a TrainJob needs beyond the local run: where and with what it runs."""

    model: str
    nodes: int
    image: str
    checkpoint_url: str
    name: str = ""
    namespace: str = "latte-training"
    queue: str = "training"
    gpus_per_node: int = 1
    cpu_per_node: str = "4"
    memory_per_node: str = "16Gi"
    build_dir: str = "/workspace/build"
    checkpoint_every: int = 20
    # where the chief copies its build, for `latte train --register-from`
    upload_url: str = ""
    # the S3 endpoint the pods use; credentials come from the Secret named `s3_credentials`
    s3_endpoint: str = ""
    s3_credentials: str = "latte-s3"

    @property
    def job_name(self) -> str:
        return self.name or f"latte-train-{self.model}"


def render_job(request: JobRequest) -> dict[str, Any]:
    """The TrainJob for ``request`` (checked: pinned image, a DNS-safe name, >= 1 node)."""
    engine = engine_of(request.model)
    _check(request)
    trainer: dict[str, Any] = {
        "image": request.image,
        "numNodes": request.nodes,
        "resourcesPerNode": _resources(request),
        **_command(request, engine),
        "env": _env(request),
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "TrainJob",
        "metadata": {
            "name": request.job_name,
            "namespace": request.namespace,
            "labels": {QUEUE_LABEL: request.queue, "latte.dev/model": request.model},
        },
        "spec": {
            "runtimeRef": {
                "apiGroup": "trainer.kubeflow.org",
                "kind": "ClusterTrainingRuntime",
                "name": RUNTIMES[engine],
            },
            # Kueue unsuspends the job once the queue has quota for every node
            "suspend": True,
            "trainer": trainer,
        },
    }


def _check(request: JobRequest) -> None:
    if not _PINNED.match(request.image):
        raise TrainError(
            f"--image {request.image!r} is not pinned by digest; pass NAME@sha256:<64 hex> "
            "(docker buildx imagetools inspect prints it)"
        )
    if not _NAME.match(request.job_name):
        raise TrainError(
            f"job name {request.job_name!r} is not a DNS label of at most 52 characters; "
            "use lowercase letters, digits and '-'"
        )
    if request.nodes < 1:
        raise TrainError(f"--workers {request.nodes}: at least one node is needed")
    for flag, url in (
        ("--checkpoint-url", request.checkpoint_url),
        ("--upload-url", request.upload_url),
    ):
        if not url.startswith("s3://"):
            raise TrainError(
                f"{flag} {url!r} is not on S3: pods on a cluster cannot reach this machine's "
                "folders; set artifact_store_url (LATTE_ARTIFACT_STORE_URL) to s3://... or pass "
                f"{flag} s3://bucket/prefix"
            )


def _resources(request: JobRequest) -> dict[str, Any]:
    amounts = {"cpu": request.cpu_per_node, "memory": request.memory_per_node}
    if request.gpus_per_node:
        amounts["nvidia.com/gpu"] = str(request.gpus_per_node)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _env(request: JobRequest) -> list[dict[str, Any]]:
    """S3 settings for checkpoints and the upload; secrets by reference, never by value."""

    def secret(key: str) -> dict[str, Any]:
        return {"secretKeyRef": {"name": request.s3_credentials, "key": key}}

    return [
        {"name": "LATTE_S3_ENDPOINT", "value": request.s3_endpoint},
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": secret("access-key")},
        {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": secret("secret-key")},
    ]


def _worker_args(request: JobRequest) -> list[str]:
    local = LaunchRequest(
        model=request.model,
        workers=request.nodes,
        build_dir=Path(request.build_dir),
        checkpoint_url=request.checkpoint_url,
        checkpoint_every=request.checkpoint_every,
        upload_url=request.upload_url,
    )
    return [*worker_command(local), "--instance-kind", "gpu" if request.gpus_per_node else "cpu"]


def _command(request: JobRequest, engine: str) -> dict[str, Any]:
    args = _worker_args(request)
    if engine == "torch":
        # PET_NNODES, PET_NPROC_PER_NODE, PET_NODE_RANK, PET_MASTER_ADDR/PORT come from Trainer
        return {"command": ["torchrun"], "args": args}
    return {"command": ["sh", "-c"], "args": [_tf_script(request, args)]}


def _tf_script(request: JobRequest, args: list[str]) -> str:
    """Build TF_CONFIG from the pod's completion index, then run the worker command."""
    name = request.job_name
    workers = [f"{name}-node-0-{index}.{name}:{TF_PORT}" for index in range(request.nodes)]
    cluster = json.dumps({"worker": workers}, separators=(",", ":"))
    config = f'{{"cluster":{cluster},"task":{{"type":"worker","index":'
    return (
        f"export TF_CONFIG={shlex.quote(config)}\"$JOB_COMPLETION_INDEX\"'}}}}' && "
        f"exec python {shlex.join(args)}"
    )
