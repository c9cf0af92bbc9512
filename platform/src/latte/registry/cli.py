"""``latte registry ...``: list, show, register, alias, block, export-repo, backup, restore."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latte.registry.errors import InvalidInputError, StoreError
from latte.registry.progress import copy_progress
from latte_contracts.timestamps import utc_timestamp

if TYPE_CHECKING:
    from latte.config import Settings
    from latte.registry.registry import Registry
    from latte.registry.values import ModelVersion

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``latte registry`` and its subcommands to the CLI."""
    parser = subparsers.add_parser(
        "registry", help="list, register, alias and block model versions"
    )
    parser.add_argument("--registry-url", help="metadata database URL (overrides registry_url)")
    parser.add_argument("--artifact-store-url", help="folder or s3://bucket/prefix for artifacts")
    commands = parser.add_subparsers(dest="registry_command", metavar="SUBCOMMAND", required=True)
    _add(commands, "list", "list registered versions", _list, ("name", {"nargs": "?"}), _JSON)
    _add(
        commands,
        "show",
        "show one version (NAME, NAME@VERSION or NAME@ALIAS)",
        _show,
        ("selector", {}),
        _JSON,
    )
    _add(
        commands,
        "register",
        "register an exported model folder",
        _register,
        ("name", {}),
        ("artifact_dir", {"type": Path}),
        ("--metrics", {"type": Path, "help": "JSON file: {name: number}"}),
        ("--lineage", {"action": "append", "default": [], "metavar": "KEY=VALUE"}),
        ("--expect-digest", {"help": "refuse unless the folder has this sha256:... digest"}),
        _JSON,
    )
    _add(
        commands,
        "alias",
        "point an alias (e.g. production:champion) at a version",
        _alias,
        ("name", {}),
        ("alias", {}),
        ("version", {"type": _positive}),
    )
    _add(
        commands,
        "block",
        "block a version so it cannot be promoted or served",
        _block,
        ("name", {}),
        ("version", {"type": _positive}),
        ("--reason", {"required": True}),
    )
    _add(
        commands,
        "export-repo",
        "write a Triton model repository (folder or s3://...)",
        _export,
        ("dest", {}),
        ("selectors", {"nargs": "*", "metavar": "SELECTOR"}),
    )
    fetch = commands.add_parser(
        "fetch",
        help="deliver a release's routed versions into a Triton (or TF Serving) model folder "
        "(no database)",
    )
    fetch.add_argument("--release", type=Path, required=True, help="release.yaml (models+routing)")
    fetch.add_argument("--dest", type=Path, required=True, help="the model repository folder")
    fetch.add_argument(
        "--instance-kind", choices=("cpu", "gpu"), help="Triton's instance kind (triton only)"
    )
    fetch.add_argument(
        "--runtime",
        choices=("triton", "tfserving"),
        default="triton",
        help="which server the folder is for: triton (every model's Triton tree, default) or "
        "tfserving (the SavedModels of the models whose runtime is tfserving, + models.config)",
    )
    fetch.set_defaults(handler=_fetch)
    _add(
        commands,
        "backup",
        "add a snapshot to a backup chain (folder or s3://...; only new blobs are copied)",
        _backup,
        ("target", {"help": "a new or empty folder or s3://bucket/prefix, or this chain"}),
        ("--keep", {"type": _positive, "metavar": "N", "help": _KEEP}),
    )
    _add(
        commands,
        "restore",
        "restore a backup snapshot into an empty registry, every digest verified",
        _restore,
        ("source", {"help": "a backup chain: folder or s3://bucket/prefix"}),
        ("--snapshot", {"metavar": "ID", "help": "which snapshot (default: the newest)"}),
    )
    snapshots = commands.add_parser(
        "snapshots", help="list the snapshots of a backup chain, oldest first (no database)"
    )
    snapshots.add_argument("source", help="a backup chain: folder or s3://bucket/prefix")
    snapshots.set_defaults(handler=_snapshots)
    _add(commands, "audit", "print the audit log", _audit, ("name", {"nargs": "?"}), _JSON)


_JSON = ("--json", {"action": "store_true", "help": "print JSON"})
_KEEP = "then keep only the N newest snapshots and delete the blobs no kept snapshot references"


def _add(commands: Any, name: str, help_text: str, handler: Any, *arguments: Any) -> None:
    command = commands.add_parser(name, help=help_text)
    for flag, options in arguments:
        command.add_argument(flag, **options)
    command.set_defaults(handler=lambda args, settings: _run(handler, args, settings))


def _positive(text: str) -> int:
    from latte.registry.values import parse_version

    try:
        return parse_version(text)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _run(handler: Any, args: argparse.Namespace, settings: Settings) -> int:
    from latte.registry.registry import open_registry  # deferred: keeps `latte --help` fast

    overrides = {"registry_url": args.registry_url, "artifact_store_url": args.artifact_store_url}
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v})
    # export-repo needs the settings too (the S3 endpoint); the registry itself holds none
    args = argparse.Namespace(**vars(args), settings=settings)
    try:
        with open_registry(settings, actor=_actor()) as registry:
            return int(handler(registry, args))
    except OSError as exc:  # a path the user named (or the store) cannot be written or read
        where = exc.filename or "a file"
        raise StoreError(
            f"cannot use {where}: {exc.strerror or exc}; pick a path you can write "
            "(or fix the permissions) and retry"
        ) from exc


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary uid in a container
        return "unknown"


def _print_versions(versions: list[ModelVersion], as_json: bool) -> None:
    if as_json:
        print(json.dumps([mv.to_dict() for mv in versions], indent=1))
        return
    for mv in versions:
        state = f"BLOCKED: {mv.blocked_reason}" if mv.blocked else ""
        created = mv.created.strftime("%Y-%m-%d %H:%M")
        print(f"{mv.name:<24} {mv.version:>5}  {mv.digest[:19]}  {created}  {state}".rstrip())


def _list(registry: Registry, args: argparse.Namespace) -> int:
    if args.name:
        registry.require_model(args.name)
    _print_versions(registry.list(args.name), args.json)
    return 0


def _show(registry: Registry, args: argparse.Namespace) -> int:
    from latte.registry.values import parse_selector

    mv = registry.resolve_selector(parse_selector(args.selector))
    data = mv.to_dict()
    data["aliases"] = sorted(a for a, v in registry.aliases(mv.name).items() if v == mv.version)
    print(json.dumps(data, indent=1) if args.json else _describe(data))
    return 0


def _describe(data: dict[str, Any]) -> str:
    lines = [f"{data['name']} version {data['version']}"]
    for key in ("digest", "created", "created_by", "blocked_reason", "aliases"):
        lines.append(f"  {key}: {data[key]}")
    lines += [f"  metric {k}: {v}" for k, v in sorted(data["metrics"].items())]
    lines += [f"  lineage {k}: {v}" for k, v in sorted(data["lineage"].items())]
    return "\n".join(lines)


def _register(registry: Registry, args: argparse.Namespace) -> int:
    mv = registry.register(
        args.name,
        args.artifact_dir,
        metrics=_read_metrics(args.metrics) if args.metrics else None,
        lineage=dict(_pair(item) for item in args.lineage),
        expected_digest=args.expect_digest,
    )
    _print_versions([mv], args.json)
    return 0


def _read_metrics(path: Path) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"--metrics {path}: not a readable JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"--metrics {path}: holds a JSON {type(data).__name__}, not an object; "
            'write {"name": number, ...}'
        )
    return data


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InvalidInputError(f"--lineage {text!r}: write KEY=VALUE, e.g. git_commit=abc123")
    return key, value


def _alias(registry: Registry, args: argparse.Namespace) -> int:
    registry.set_alias(args.name, args.alias, args.version)
    print(f"{args.name} {args.alias} -> version {args.version}")
    return 0


def _block(registry: Registry, args: argparse.Namespace) -> int:
    mv = registry.block(args.name, args.version, args.reason)
    print(f"{mv.name} version {mv.version} blocked: {mv.blocked_reason}")
    return 0


def _export(registry: Registry, args: argparse.Namespace) -> int:
    from latte.deliver import referenced_versions
    from latte.registry.export import export_repository

    keep = referenced_versions(args.settings.path("gitops/envs"))
    result = export_repository(
        registry,
        args.dest,
        args.selectors,
        settings=args.settings,
        keep=keep,
        guards=[Path.cwd()],
    )
    for mv in result.versions:
        print(f"exported {mv.name} version {mv.version} ({mv.digest})")
    for name, version in result.kept:
        print(f"kept {name} version {version} (an environment still references it)")
    print(f"model repository: {result.triton_url}")
    return 0


def _fetch(args: argparse.Namespace, settings: Settings) -> int:
    """Only the artifact store is opened: the Triton pod's init container has no database."""
    from latte.deliver import fetch_release, fetch_saved_models, read_plan
    from latte.deliver.fetch import MODEL_CONFIG
    from latte.registry.artifacts import open_store

    if args.artifact_store_url:
        settings = dataclasses.replace(settings, artifact_store_url=args.artifact_store_url)
    tfserving = args.runtime == "tfserving"
    if not tfserving and args.instance_kind is None:
        raise InvalidInputError("--instance-kind cpu|gpu is required for --runtime triton")
    plan = read_plan(args.release, args.runtime)
    store = open_store(settings.artifact_store_url, settings)
    if tfserving:
        result = fetch_saved_models(store, plan, args.dest, guards=[Path.cwd()])
    else:
        result = fetch_release(
            store, plan, args.dest, instance_kind=args.instance_kind, guards=[Path.cwd()]
        )
    for model in result.models:
        for version, digest in model.versions:
            print(f"fetched {model.name} version {version} ({digest}) verified")
    if tfserving:
        print(f"TF Serving models: {result.destination} (--model_config_file {MODEL_CONFIG})")
    else:
        print(f"model repository: {result.destination} (instance kind {result.instance_kind})")
    return 0


def _backup(registry: Registry, args: argparse.Namespace) -> int:
    from latte.registry.backup import backup_registry, open_target

    target = open_target(args.target, args.settings)
    with copy_progress("backup") as on_bytes:
        result = backup_registry(registry, target, keep=args.keep, on_bytes=on_bytes)
    print(
        f"backed up {result.versions} versions to {args.target} as snapshot {result.snapshot}: "
        f"{result.trees_copied} trees copied, {result.trees_reused} already there, "
        f"{result.blobs_sent} blobs ({result.bytes_sent} bytes) sent"
    )
    if result.pruned:
        print(
            f"pruned {len(result.pruned)} old snapshots and {result.blobs_deleted} blobs "
            f"(keeping {args.keep})"
        )
    return 0


def _restore(registry: Registry, args: argparse.Namespace) -> int:
    from latte.registry.backup import open_target, restore_registry

    source = open_target(args.source, args.settings)
    with copy_progress("restore") as on_bytes:
        result = restore_registry(registry, source, snapshot=args.snapshot, on_bytes=on_bytes)
    print(
        f"restored {result.versions} versions from {args.source} (snapshot {result.snapshot}); "
        "every digest verified"
    )
    return 0


def _snapshots(args: argparse.Namespace, settings: Settings) -> int:
    from latte.registry.backup import list_snapshots, open_target

    for snapshot in list_snapshots(open_target(args.source, settings)):
        print(snapshot)
    return 0


def _audit(registry: Registry, args: argparse.Namespace) -> int:
    if args.name:
        registry.require_model(args.name)
    entries = registry.audit(args.name)
    if args.json:
        print(json.dumps([entry.to_dict() for entry in entries], indent=1))
        return 0
    for entry in entries:
        version = "" if entry.version is None else f" v{entry.version}"
        at = utc_timestamp(entry.at)
        print(
            f"{at} {entry.actor} {entry.action} {entry.model}{version} {json.dumps(entry.detail)}"
        )
    return 0
