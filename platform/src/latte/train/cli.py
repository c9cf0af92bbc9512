"""``latte train MODEL --workers N``: train data-parallel here, then register like a build;
``--emit trainjob`` writes the Kubeflow Trainer job for a cluster instead."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latte.errors import UsageError
from latte.train.errors import TrainError

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model data-parallel (torchrun / TF multi-worker) or emit a TrainJob",
        description=__doc__,
    )
    parser.add_argument("model", help="digits (torchrun + DDP) or tumor (TF multi-worker)")
    parser.add_argument("--workers", type=int, default=1, help="world size (default 1)")
    parser.add_argument(
        "--checkpoint-url", default="",
        help="checkpoint folder or s3://bucket/prefix (default: the artifact store's "
        "checkpoints/<model>/w<N>)",
    )  # fmt: skip
    parser.add_argument("--checkpoint-every", type=int, default=20, metavar="STEPS")
    parser.add_argument(
        "--max-restarts", type=int, default=0,
        help="torchrun restarts of a failed worker group (they resume from a checkpoint)",
    )  # fmt: skip
    parser.add_argument("--rendezvous-timeout", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument(
        "--upload-url", default="",
        help="--emit: where the chief copies its build (default: the artifact store's "
        "train-runs/<model>)",
    )  # fmt: skip
    parser.add_argument(
        "--register-from", default="", metavar="URL",
        help="register a finished run's uploaded build (folder or s3://) instead of training",
    )  # fmt: skip
    parser.add_argument("--emit", choices=("trainjob",), help="write a TrainJob, do not train")
    parser.add_argument("--output", type=Path, help="--emit: write here (default stdout)")
    parser.add_argument("--image", default="", help="--emit: image pinned by @sha256 digest")
    parser.add_argument("--queue", default="training", help="--emit: the Kueue LocalQueue")
    parser.add_argument("--namespace", default="latte-training")
    parser.add_argument("--gpus-per-node", type=int, default=1)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: at least one worker is needed")
    if args.register_from:
        return _register_from(settings, args.register_from)
    checkpoints = args.checkpoint_url or _store_url(
        settings, f"checkpoints/{args.model}/w{args.workers}"
    )
    if args.emit:
        return _emit(args, settings, checkpoints)
    return _train(args, settings, checkpoints)


def _store_url(settings: Settings, tail: str) -> str:
    """``tail`` below the artifact store (an s3:// URL or a folder)."""
    store = settings.artifact_store_url.rstrip("/")
    return f"{store}/{tail}" if store.startswith("s3://") else str(settings.path(store) / tail)


def _register_from(settings: Settings, url: str) -> int:
    """Register the build a cluster run's chief uploaded (``--upload-url``)."""
    import tempfile

    if not url.startswith("s3://"):
        _register(settings, settings.path(url))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        _download(settings, url, Path(tmp))
        _register(settings, Path(tmp))
    return 0


def _download(settings: Settings, url: str, dest: Path) -> None:
    from latte.s3 import S3Location, make_client

    location, client = S3Location.parse(url), make_client(settings)
    prefix = location.key("")
    prefix = f"{prefix}/" if prefix else ""
    count = 0
    for item in client.list_objects(location.bucket, prefix=prefix, recursive=True):
        relative = item.object_name[len(prefix) :]
        client.fget_object(location.bucket, item.object_name, str(dest / relative))
        count += 1
    if not count:
        raise TrainError(f"nothing at {url}; did the run finish with --upload-url {url}?")


def _train(args: argparse.Namespace, settings: Settings, checkpoints: str) -> int:
    from latte.train.launch import LaunchRequest, run_local

    build_dir = settings.path(settings.build_dir) / "train" / args.model
    request = LaunchRequest(
        model=args.model,
        workers=args.workers,
        build_dir=build_dir,
        checkpoint_url=checkpoints,
        checkpoint_every=args.checkpoint_every,
        max_restarts=args.max_restarts,
        rendezvous_timeout=args.rendezvous_timeout,
        extra_env=_s3_env(settings),
    )
    run_local(request, os.environ)
    _register(settings, build_dir)
    return 0


def _s3_env(settings: Settings) -> dict[str, str]:
    """The S3 settings the workers need for s3:// checkpoints (secrets stay in the env)."""
    if not settings.s3_endpoint:
        return {}
    env = {
        "LATTE_S3_ENDPOINT": settings.s3_endpoint,
        "LATTE_S3_REGION": settings.s3_region,
        "LATTE_S3_SECURE": str(settings.s3_secure).lower(),
    }
    if settings.s3_access_key:
        env["LATTE_S3_ACCESS_KEY"] = settings.s3_access_key
        env["LATTE_S3_SECRET_KEY"] = settings.s3_secret_key
    return env


def _register(settings: Settings, build_dir: Path) -> None:
    """Register the chief's build exactly as ``latte build`` does, plus how it was trained."""
    from latte.registry.build import git_commit, register_build

    commit = git_commit(settings.root)
    versions = register_build(
        settings, build_dir, lineage={"git_commit": commit} if commit else None
    )
    if not versions:
        raise TrainError(f"no built model in {build_dir} (models/<name>/metrics.json) to register")
    for mv in versions:
        training = {k: v for k, v in mv.lineage.items() if k.startswith("training.")}
        print(f"registered {mv.name} version {mv.version} ({mv.digest}) {training}")


def _emit(args: argparse.Namespace, settings: Settings, checkpoints: str) -> int:
    import yaml

    from latte.train.jobs import JobRequest, render_job

    job = render_job(
        JobRequest(
            model=args.model,
            nodes=args.workers,
            image=args.image,
            checkpoint_url=checkpoints,
            namespace=args.namespace,
            queue=args.queue,
            gpus_per_node=args.gpus_per_node,
            checkpoint_every=args.checkpoint_every,
            upload_url=args.upload_url or _store_url(settings, f"train-runs/{args.model}"),
            s3_endpoint=settings.s3_endpoint,
        )
    )
    note = _validate(settings, job)
    text = yaml.safe_dump(job, sort_keys=False)
    if args.output is None:
        sys.stdout.write(text)
    else:
        from latte_contracts.atomic import write_atomic

        write_atomic(settings.path(args.output), text)
    print(note, file=sys.stderr)
    return 0


def _validate(settings: Settings, job: dict[str, Any]) -> str:
    """Strict validation against the Trainer CRD; refuses an invalid job, says when not run."""
    if not settings.crd_schemas:
        return "TrainJob not validated: crd_schemas (LATTE_CRD_SCHEMAS) is not set"
    from latte.gitops import schemas
    from latte.gitops.manifests import Manifest

    crds = schemas.load_crd_schemas(settings.path(settings.crd_schemas))
    manifest = Manifest("latte train --emit", job)
    if (manifest.api_version, manifest.kind) not in crds:
        raise TrainError(f"no TrainJob CRD in {settings.crd_schemas}; add Kubeflow Trainer's")
    findings = schemas.validate_crds([manifest], crds)
    if findings:
        raise TrainError(f"the generated TrainJob does not validate: {findings[0]}")
    cel = schemas.cel_note([manifest], crds)
    return f"TrainJob validated strictly against its CRD; {cel}" if cel else "TrainJob validated"
