"""``latte release``: gate, collect and pin the built models in ``gitops/envs/<env>/``."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latte.release.canary import resolve_canary
from latte.release.content import Canary, build_content
from latte.release.devices import check_devices, env_setting, gpu_enabled
from latte.release.errors import GateFailedError, ReleaseError
from latte.release.gates import GateInputs, evaluate_gates
from latte.release.inputs import BuiltModel, point_current, read_bench, read_builds, resolve_models
from latte.release.routing import check_release, served
from latte.release.runtime import (
    TFSERVING,
    choose_runtimes,
    parse_runtime,
    runtime_problems,
    saved_model_pins,
)
from latte.release.schema import check_against_chart
from latte.release.source import ENVS_PATH, read_source
from latte.release.writer import CurrentRelease, ReleaseOutcome, write_release
from latte_contracts.layout import BuildLayout

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["DEFAULT_GATEWAY_IMAGE", "register", "release"]

DEFAULT_GATEWAY_IMAGE = "ghcr.io/example/latte-gateway"
DEFAULT_TRITON_IMAGE = {
    "repository": "nvcr.io/nvidia/tritonserver",
    "tag": "24.10-py3",
    "digest": "",
}
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "release",
        help="write a versioned release into gitops/envs/dev",
        description="Refuse unless tests, security, quality and SLO gates passed for this commit; "
        "then pin the built models, bench results and gateway image in the env's release.yaml.",
    )
    parser.add_argument("--env", default="dev", help="environment folder (default: dev)")
    parser.add_argument(
        "--gateway-image",
        default=None,
        metavar="REPOSITORY",
        help="gateway image repository (default: what the env pins)",
    )
    parser.add_argument(
        "--gateway-digest",
        default="",
        metavar="sha256:HEX",
        help="pin the gateway image by digest (CI passes the pushed digest)",
    )
    parser.add_argument(
        "--canary",
        type=_percent,
        default=None,
        metavar="PERCENT",
        help="keep each model's stable version and send PERCENT (1-99) to the new one "
        "(default: a full cut-over to the new versions)",
    )
    parser.add_argument(
        "--shadow",
        action="store_true",
        help="also mirror every request to the new version (alone: weight 0, mirror only)",
    )
    parser.add_argument(
        "--runtime",
        type=_runtime,
        action="append",
        default=[],
        metavar="MODEL=RUNTIME",
        help="serve MODEL with RUNTIME (triton or tfserving; repeatable). Default: what the "
        "env's release says, else triton. tfserving pins the model's SavedModel artifact",
    )
    parser.set_defaults(handler=_handle)


def _runtime(text: str) -> tuple[str, str]:
    try:
        return parse_runtime(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _percent(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 99:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole percent from 1 to 99 (100 is the default full cut-over)"
        )
    return int(text)


def _handle(args: argparse.Namespace, settings: Settings) -> int:
    if args.gateway_digest and not _DIGEST.match(args.gateway_digest):
        raise ReleaseError(
            f"--gateway-digest {args.gateway_digest!r} is not sha256:<64 hex>; "
            "pass the digest the registry returned for the pushed image"
        )
    canary = args.canary if args.canary is not None else (0 if args.shadow else None)
    outcome = release(
        settings, env=args.env, gateway_image=args.gateway_image,
        gateway_digest=args.gateway_digest, canary=canary, shadow=args.shadow,
        runtimes=dict(args.runtime),
    )  # fmt: skip
    print(describe(outcome, settings))
    return 0


def release(
    settings: Settings,
    *,
    env: str = "dev",
    gateway_image: str | None = None,
    gateway_digest: str = "",
    canary: int | None = None,
    shadow: bool = False,
    runtimes: Mapping[str, str] | None = None,
    registry: Callable[[Settings], Any] | None = None,
    now: dt.datetime | None = None,
) -> ReleaseOutcome:
    """Check the gates for the source commit, then write the env's release (if it changed).

    ``canary`` (a percent; 0 with ``shadow``) keeps each model's stable version beside the new
    one. ``runtimes`` (model -> triton|tfserving) overrides what the env's release says.
    Every refusal happens before anything is written (files or registry aliases).
    """
    env_dir = settings.root / ENVS_PATH / env
    if not env_dir.is_dir():
        raise ReleaseError(f"no environment folder {ENVS_PATH}/{env}; choose one that exists")
    source = read_source(settings.root)
    if source.dirty:
        shown = ", ".join(source.dirty[:3]) + (" ..." if len(source.dirty) > 3 else "")
        raise GateFailedError(
            f"uncommitted changes ({shown}): the gates did not run on commit "
            f"{source.sha[:12]}; commit them and rerun the pipeline"
        )
    build = settings.path(settings.build_dir)
    builds = read_builds(build)
    if not builds:
        raise ReleaseError(
            f"nothing to release: no {build}/models/*/metrics.json; run `nox -s build`"
        )
    benches = read_bench(build, sorted(builds))
    inputs = GateInputs(BuildLayout(build).reports, builds, benches, source.time)
    failed = [gate for gate in evaluate_gates(inputs) if not gate.passed]
    if failed:
        names = ", ".join(g.name for g in failed)
        raise GateFailedError(
            f"gate {names} did not pass for commit {source.sha[:12]}: {failed[0].reason}"
        )
    where = f"{ENVS_PATH}/{env}/release.yaml"
    with _open(settings, registry) as lookup:
        models = resolve_models(builds, lookup, env)
        plan = None
        current = _current(env_dir)
        if canary is not None:
            plan = resolve_canary(current, where, models, lookup, percent=canary, shadow=shadow)
        chosen = choose_runtimes([m.name for m in models], runtimes or {}, current)
        saved = {
            m.name: saved_model_pins(m.name, _released_versions(m, plan), lookup)
            for m in models
            if chosen[m.name] == TFSERVING
        }
        content = build_content(
            commit=source.sha,
            gates=["tests", "security", "quality", "slo"],
            models=models,
            benches=benches,
            images=_images(env_dir, source.sha, gateway_image, gateway_digest),
            canary=plan,
            runtimes=chosen,
            saved_models=saved,
        )
        check_against_chart(settings.root, content)
        check_release(where, content)
        _check_runtimes(settings.root, env, where, content)
        _check_devices(settings.root, env, models, lookup)
        point_current(models, lookup, env)
    return write_release(env_dir, content, now=now or dt.datetime.now(dt.UTC))


def _released_versions(model: BuiltModel, plan: Canary | None) -> list[int]:
    if plan is None:
        return [model.version]
    return sorted({model.version, plan.stable[model.name][0]})


def _check_runtimes(root: Path, env: str, where: str, content: Mapping[str, Any]) -> None:
    enabled, _ = env_setting(root, env, ("tfServing", "enabled"), False)
    for key, message in runtime_problems(content, bool(enabled)):
        raise ReleaseError(f"{where}: {key}: {message}")


def _current(env_dir: Any) -> dict[str, Any]:
    return dict(CurrentRelease.read(env_dir / "release.yaml").content)


def _check_devices(root: Any, env: str, models: list[BuiltModel], lookup: Any) -> None:
    """Refuse a GPU-only model config for a CPU env (the stable side was checked when it was
    released there)."""
    gpu, values = gpu_enabled(root, env)
    if gpu:
        return
    configs = {}
    with tempfile.TemporaryDirectory(prefix="latte-release-") as tmp:
        for model in models:
            tree = lookup.fetch(model.name, model.version, Path(tmp) / model.name)
            config = tree / "config.pbtxt"
            text = config.read_text(encoding="utf-8") if config.is_file() else ""
            configs[(model.name, model.version)] = text
    check_devices(values, gpu, configs)


def _open(settings: Settings, factory: Callable[[Settings], Any] | None) -> Any:
    if factory is not None:
        return factory(settings)
    from latte.registry import open_registry  # SQLAlchemy stays unloaded for other commands

    return open_registry(settings, actor="latte release")


def _images(env_dir: Any, sha: str, repository: str | None, digest: str) -> dict[str, Any]:
    current = CurrentRelease.read(env_dir / "release.yaml").content.get("images") or {}
    gateway = current.get("gateway") or {}
    return {
        "gateway": {
            "repository": repository or gateway.get("repository") or DEFAULT_GATEWAY_IMAGE,
            "tag": sha,
            "digest": digest,
        },
        "triton": dict(current.get("triton") or DEFAULT_TRITON_IMAGE),
    }


def describe(outcome: ReleaseOutcome, settings: Settings) -> str:
    """One line: what was released, where, and whether anything was written."""
    where = outcome.path.relative_to(settings.root).as_posix()
    models = ", ".join(
        served(name, version, outcome.routing.get(name) or {})
        for name, version in sorted(outcome.models.items())
    )
    if not outcome.changed:
        return (
            f"{outcome.env} already pins release {outcome.release_id} ({models}); {where} unchanged"
        )
    return f"released {outcome.release_id} to {outcome.env}: {where} ({models})"
