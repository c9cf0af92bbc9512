"""The registry backup CronJob, rendered by a real helm: off by default; when enabled it runs
`latte registry backup TARGET --keep N` non-root on a read-only root filesystem, with the
database URL and S3 credentials from Secrets, and every check (schemas, policy) passes."""

from __future__ import annotations

import pytest
import yaml

from latte.gitops.check import render_env, run_checks
from latte.gitops.layout import GitopsLayout

pytestmark = pytest.mark.integration


def _cronjobs(repo, helm, env):
    manifests, failed = render_env(GitopsLayout.discover(repo), helm, env)
    assert failed == []
    return [dict(m.doc) for m in manifests if m.kind == "CronJob"]


def _enable(repo, env, **extra):
    path = repo / f"gitops/envs/{env}/values.yaml"
    values = yaml.safe_load(path.read_text())
    values["backup"] = {"enabled": True, "target": "s3://latte-backups/prod", "keep": 24, **extra}
    path.write_text(yaml.safe_dump(values))


def test_the_backup_cronjob_is_off_by_default(gitops_repo, helm):
    for env in GitopsLayout.discover(gitops_repo).envs:
        assert _cronjobs(gitops_repo, helm, env) == []


def test_an_enabled_backup_runs_the_cli_non_root_with_secrets_and_passes_every_check(
    gitops_repo, helm, crd_dir
):
    _enable(gitops_repo, "production")
    (job,) = _cronjobs(gitops_repo, helm, "production")
    assert job["spec"]["concurrencyPolicy"] == "Forbid"  # pruning never races another run
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["latte"]
    assert container["args"] == ["registry", "backup", "s3://latte-backups/prod", "--keep=24"]
    env = {e["name"]: e for e in container["env"]}
    assert env["LATTE_REGISTRY_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "latte-registry-app",
        "key": "uri",
    }
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "latte-backup-s3"
    assert env["LATTE_ARTIFACT_STORE_URL"]["value"] == "s3://latte-models/artifacts"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    results = run_checks(GitopsLayout.discover(gitops_repo), helm, crd_dir, ["production"])
    assert [(r.name, r.findings) for r in results if r.status != "passed"] == []


def test_the_schema_refuses_a_backup_target_that_is_not_s3(gitops_repo, helm):
    _enable(gitops_repo, "staging", target="/var/backups")
    results = {
        r.name: r for r in run_checks(GitopsLayout.discover(gitops_repo), helm, None, ["staging"])
    }
    lint = results["helm lint (staging)"]
    assert lint.status == "failed"
    assert "'/backup/target': '/var/backups' does not match pattern" in str(lint.findings)
