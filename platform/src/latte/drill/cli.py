"""``latte drill``: run a restore drill and print measured RTO and RPO."""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latte.errors import UsageError

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "drill",
        help="restore drill: back up, destroy, restore, verify, serve; prints RTO and RPO",
        description=(
            "Registers versions on PostgreSQL + S3, backs them up, destroys both, restores "
            "into fresh ones, verifies every digest and serves the restored model through "
            "`latte up dev`. Starts a throwaway PostgreSQL and moto S3 server unless given; on "
            "given servers it creates its own databases and bucket and, when it succeeds, "
            "drops and empties them again."
        ),
    )
    parser.add_argument(
        "--versions", type=int, default=3, metavar="N", help="versions to back up (>= 2; default 3)"
    )
    parser.add_argument(
        "--size-kib", type=int, default=256, metavar="KIB", help="size of each version (256)"
    )
    parser.add_argument(
        "--postgres-url", metavar="URL", help="a server where the drill may create databases"
    )
    parser.add_argument(
        "--s3-endpoint", metavar="HOST:PORT", help="an S3 server (credentials: LATTE_S3_*)"
    )
    parser.add_argument(
        "--work", type=Path, metavar="DIR", help="scratch folder (default: a temporary one)"
    )
    parser.set_defaults(handler=_drill)


def _drill(args: argparse.Namespace, settings: Settings) -> int:
    from latte.drill.run import DrillConfig, run_drill
    from latte.drill.servers import postgres_server, s3_server

    if args.versions < 2 or args.size_kib < 0:
        raise UsageError(
            f"--versions {args.versions} --size-kib {args.size_kib}: the drill needs at least "
            "2 versions (one backed up twice) and a size of 0 KiB or more"
        )
    with ExitStack() as stack:
        postgres = args.postgres_url or stack.enter_context(postgres_server())
        work = args.work or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="latte-drill-"))
        )
        config = DrillConfig(
            repo_root=settings.root,
            work=work,
            postgres_url=postgres,
            s3_endpoint=args.s3_endpoint or stack.enter_context(s3_server()),
            versions=args.versions,
            padding_bytes=args.size_kib * 1024,
        )
        if args.s3_endpoint:  # a real server: this machine's credentials and TLS setting
            config = dataclasses.replace(
                config,
                s3_access_key=settings.s3_access_key,
                s3_secret_key=settings.s3_secret_key,
                s3_secure=settings.s3_secure,
            )
        report = run_drill(config, on_step=lambda line: print(f"drill: {line}", flush=True))
    for line in report.lines():
        print(line)
    return 0
