"""``python -m latte_models build NAME... --build-dir DIR``: the task runner's entry point.

``python -m latte_models train NAME --build-dir DIR`` is one worker of a data-parallel run:
it reads its place from what the engine set (torchrun's RANK/WORLD_SIZE/MASTER_ADDR/
MASTER_PORT, or TF_CONFIG), so the same command runs under ``latte train`` and in a TrainJob.
``python -m latte_models plan NAME --workers N`` checks a world size against the data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from latte_models._common.gates import parse_gate
from latte_models.config import ModelConfig, config_path, load_config
from latte_models.distributed import Run, open_checkpoints, world_from_env
from latte_models.errors import ConfigError, ModelsError
from latte_models.models import MODELS, get_family

if TYPE_CHECKING:
    from latte_models.pipeline import BuildResult

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{message} (see 'python -m latte_models build --help')")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m latte_models", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    build = commands.add_parser("build", help="train, evaluate, gate, export and verify")
    build.add_argument("names", nargs="+", metavar="NAME", help=f"one of {sorted(MODELS)}")
    build.add_argument("--build-dir", type=Path, default=Path("build"))
    build.add_argument("--config", type=Path, help="config file (default configs/NAME.toml)")
    build.add_argument(
        "--gate", action="append", default=[], metavar="METRIC=MIN",
        help="override a quality gate, e.g. --gate f1_macro=0.97 (repeatable)",
    )  # fmt: skip
    build.add_argument(
        "--instance-kind", choices=("gpu", "cpu"),
        help="Triton instance_group kind in config.pbtxt (default: the config's, gpu)",
    )  # fmt: skip
    train = commands.add_parser("train", help="one worker of a data-parallel build")
    train.add_argument("name", metavar="NAME", help=f"one of {sorted(MODELS)}")
    train.add_argument("--build-dir", type=Path, default=Path("build"))
    train.add_argument("--config", type=Path, help="config file (default configs/NAME.toml)")
    train.add_argument("--instance-kind", choices=("gpu", "cpu"))
    train.add_argument(
        "--checkpoint-url", default="",
        help="checkpoint folder or s3://bucket/prefix (default: no checkpoints)",
    )  # fmt: skip
    train.add_argument("--checkpoint-every", type=int, default=20, metavar="STEPS")
    train.add_argument(
        "--upload-url", default="",
        help="also copy the chief's build here (folder or s3://), for latte train --register-from",
    )  # fmt: skip
    train.add_argument("--rendezvous-timeout", type=float, default=60.0, metavar="SECONDS")
    plan = commands.add_parser("plan", help="check a world size against the training data")
    plan.add_argument("name", metavar="NAME")
    plan.add_argument("--workers", type=int, required=True)
    plan.add_argument("--config", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, build each model in turn, map errors to exit codes."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "train":
            return _train(args, os.environ)
        if args.command == "plan":
            return _plan(args)
        if args.config is not None and len(args.names) > 1:
            raise ConfigError("--config applies to one model; build the others separately")
        gates = dict(parse_gate(text) for text in args.gate)
        for name in args.names:
            _build_one(name, args, gates)
    except ModelsError as exc:
        print(f"latte_models: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def _config(name: str, path: Path | None) -> ModelConfig:
    get_family(name)  # an unknown name is reported as such, not as a missing config file
    config = load_config(path or config_path(name))
    if config.name != name:
        raise ConfigError(f"{config.source} configures model {config.name!r}, not {name!r}")
    return config


def _plan(args: argparse.Namespace) -> int:
    from latte_models._common.data import split_dataset
    from latte_models.distributed import plan_steps

    config = _config(args.name, args.config)
    family = get_family(args.name)
    split = split_dataset(
        family.load_data(), seed=config.seed,
        validation_fraction=config.validation_fraction, test_fraction=config.test_fraction,
    )  # fmt: skip
    rows = split.sizes()["train"]
    steps = plan_steps(rows, int(config.train["batch_size"]), args.workers)
    print(f"{args.name}: {args.workers} worker(s), {rows} training rows, {steps} steps per epoch")
    return 0


def _train(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from latte_models.pipeline import build_distributed

    config = _config(args.name, args.config)
    if args.instance_kind:
        config = config.with_instance_kind(args.instance_kind)
    if args.checkpoint_every < 1:
        raise ConfigError(f"--checkpoint-every {args.checkpoint_every}: must be at least 1")
    world = world_from_env(get_family(args.name).framework, environ)
    store = None
    if args.checkpoint_url:
        store = open_checkpoints(args.checkpoint_url, _s3_client(args.checkpoint_url, environ))
    run = Run(world, store, args.checkpoint_every, args.rendezvous_timeout)
    say = (lambda line: print(line, flush=True)) if world.is_chief else _quiet
    result = build_distributed(config, args.build_dir, run, progress=say)
    if result is not None:
        print(f"{args.name}: {result.artifact_digest} -> {result.model_repository} "
              f"(world size {world.size}, {world.backend})", flush=True)  # fmt: skip
        if args.upload_url:
            _upload(args, result, environ)
    return 0


def _upload(args: argparse.Namespace, result: BuildResult, environ: Mapping[str, str]) -> None:
    from latte_models.distributed.checkpoints import upload_build

    store = open_checkpoints(args.upload_url, _s3_client(args.upload_url, environ))
    folders = sorted({e["path"] for e in result.report["exports"]} | {f"models/{args.name}"})
    count = upload_build(store, Path(args.build_dir).resolve(), folders)
    print(f"{args.name}: uploaded {count} files to {args.upload_url}", flush=True)


def _quiet(line: str) -> None:
    """Workers other than the chief report only resumes and problems."""
    if "resumed" in line:
        print(line, flush=True)


def _s3_client(url: str, environ: Mapping[str, str]) -> object | None:
    """A minio client from LATTE_S3_* (or AWS_*) variables, for s3:// checkpoint locations."""
    if not url.startswith("s3://") or not environ.get("LATTE_S3_ENDPOINT"):
        return None
    from minio import Minio

    return Minio(
        environ["LATTE_S3_ENDPOINT"],
        access_key=environ.get("LATTE_S3_ACCESS_KEY") or environ.get("AWS_ACCESS_KEY_ID"),
        secret_key=environ.get("LATTE_S3_SECRET_KEY") or environ.get("AWS_SECRET_ACCESS_KEY"),
        secure=environ.get("LATTE_S3_SECURE", "true").lower() == "true",
        region=environ.get("LATTE_S3_REGION", "us-east-1"),
    )


def _build_one(name: str, args: argparse.Namespace, gates: dict[str, float]) -> None:
    from latte_models.pipeline import build

    get_family(name)  # an unknown name is reported as such, not as a missing config file
    config = load_config(args.config or config_path(name)).with_gates(gates)
    if config.name != name:
        raise ConfigError(f"{config.source} configures model {config.name!r}, not {name!r}")
    if args.instance_kind:
        config = config.with_instance_kind(args.instance_kind)
    started = time.perf_counter()
    result = build(config, args.build_dir, progress=lambda line: print(line, flush=True))
    print(
        f"{name}: {result.artifact_digest} -> {result.model_repository} "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ info logs drown the progress
    sys.exit(main())
