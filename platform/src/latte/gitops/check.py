"""``latte gitops check``: everything Argo CD would deploy, validated offline.

Per environment: the values policy, ``helm lint``, ``helm template``, Kubernetes schemas of the
rendered manifests, the Argo CRD schemas (when ``crd_schemas`` is set) and the policy rules.
Production is checked again in every region of ``gitops/regions/`` (its values layered with the
region's). Then the Argo CD manifests themselves, the training runtimes and queues
(``gitops/training/``), the registry's CloudNativePG cluster (``gitops/postgres/``) and the
regions' own manifests. Every check is reported as passed, failed or not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latte.gitops import argocd, policy, postgres, regions, schemas, training, values
from latte.gitops.crds import CRD_NOT_SET, Missing, crd_result
from latte.gitops.findings import CheckResult, Finding
from latte.gitops.helm import KUBE_VERSION, Helm
from latte.gitops.layout import GitopsLayout
from latte.gitops.manifests import Manifest, parse_manifests
from latte.release.routing import routing_problems
from latte.release.runtime import runtime_problems

__all__ = ["CRD_NOT_SET", "render_env", "run_checks"]


def run_checks(
    layout: GitopsLayout,
    helm: Helm,
    crd_dir: Path | None,
    envs: Sequence[str] | None = None,
) -> list[CheckResult]:
    """Every check for the chosen environments (default: all), then the Argo CD manifests."""
    crds = schemas.load_crd_schemas(crd_dir) if crd_dir is not None else None
    results: list[CheckResult] = []
    chosen = envs or list(layout.envs)
    for env in chosen:
        results.extend(_check_env(layout, helm, env, crds, layout.value_files(env), env))
    for region in layout.region_names() if "production" in chosen else ():
        files = layout.region_value_files(region)
        results.extend(_check_env(layout, helm, "production", crds, files, f"production@{region}"))
    results.extend(argocd.check_argocd(layout, crds))
    results.extend(training.check_training(layout, crds))
    results.extend(postgres.check_postgres(layout, crds))
    results.extend(regions.check_regions(layout, crds))
    return results


def render_env(
    layout: GitopsLayout, helm: Helm, env: str, files: Sequence[Path] | None = None
) -> tuple[list[Manifest], list[Finding]]:
    """``helm template`` for one environment, as Argo CD renders it (``files``: the value
    files, default the env folder's)."""
    files = layout.value_files(env) if files is None else files
    args = ["template", f"latte-{env}", str(layout.chart), "--namespace", f"latte-{env}"]
    args += ["--kube-version", KUBE_VERSION, *_value_args(files)]
    done = helm.run(args, cwd=layout.root)
    if done.returncode != 0:
        return [], [Finding(layout.label(layout.chart), "helm template", _last_lines(done.stderr))]
    prefix = layout.label(layout.chart.parent)
    manifests = parse_manifests(done.stdout)
    return [Manifest(f"{prefix}/{m.source}", m.doc) for m in manifests], []


def _check_env(
    layout: GitopsLayout,
    helm: Helm,
    env: str,
    crds: schemas.CrdSchemas | None,
    files: Sequence[Path],
    label: str,
) -> list[CheckResult]:
    """Every check of ``env`` rendered with ``files``; results are named ``check (label)``."""
    results = [
        CheckResult.of(f"values ({label})", _values_findings(layout, files)),
        CheckResult.of(f"helm lint ({label})", _lint(layout, helm, files)),
    ]
    manifests, failed = render_env(layout, helm, env, files)
    results.append(CheckResult.of(f"helm template ({label})", failed))
    if failed:
        return results
    k8s_findings, custom = schemas.validate_kubernetes(manifests)
    results.append(CheckResult.of(f"kubernetes schemas ({label})", k8s_findings))
    results.append(crd_result(f"CRD schemas ({label})", custom, crds, Missing.NOTE))
    results.append(CheckResult.of(f"policy ({label})", policy.check_policies(manifests)))
    return results


def _values_findings(layout: GitopsLayout, value_files: Sequence[Path]) -> list[Finding]:
    files = [layout.chart / "values.yaml", *value_files]
    layers = []
    findings: list[Finding] = []
    for path in files:
        if not path.is_file():
            findings.append(
                Finding(
                    layout.label(path),
                    "(file)",
                    "missing: every env (and region) folder needs its values.yaml (and an env "
                    "its release.yaml)",
                )
            )
            continue
        data = values.load_values(path)
        layers.append((layout.label(path), data))
        findings.extend(values.check_values_file(data, layout.label(path)))
        if path.name == "release.yaml":  # the routing rules the schema cannot express
            findings += [Finding(layout.label(path), k, m) for k, m in routing_problems(data)]
    findings += values.check_merged_resources(layers)
    return findings + _runtime_findings(layout, files, layers)


def _runtime_findings(
    layout: GitopsLayout, files: Sequence[Path], layers: list[tuple[str, Any]]
) -> list[Finding]:
    """A model released for TF Serving needs its SavedModel digests and the env's TF Serving."""
    merged = values.merge_values([data for _, data in layers])
    enabled = bool((merged.get("tfServing") or {}).get("enabled"))
    releases = [path for path in files if path.name == "release.yaml"]
    label = layout.label(releases[-1] if releases else files[-1])
    return [Finding(label, key, message) for key, message in runtime_problems(merged, enabled)]


def _lint(layout: GitopsLayout, helm: Helm, files: Sequence[Path]) -> list[Finding]:
    args = ["lint", str(layout.chart), "--strict", "--quiet", *_value_args(files)]
    done = helm.run(args, cwd=layout.root)
    if done.returncode == 0:
        return []
    return [
        Finding(layout.label(layout.chart), "helm lint", _last_lines(done.stdout + done.stderr))
    ]


def _value_args(files: Sequence[Path]) -> list[str]:
    return [arg for path in files for arg in ("-f", str(path))]


def _last_lines(text: str, keep: int = 6) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-keep:]) or "failed without output"
