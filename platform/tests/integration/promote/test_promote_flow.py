"""Promotion on a real git repository with a bare remote and the real registry."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from promote_repo import LONG_AGO, git, land_release, merge, release_text

from latte.gitops.check import render_env, run_checks
from latte.gitops.helm import find_helm
from latte.gitops.layout import GitopsLayout
from latte.promote import PolicyError, PromoteError, promote

REPO = Path(__file__).resolve().parents[4]

R1 = release_text("2026.11.28.1", {"digits": 1, "tumor": 1})
R2 = release_text("2026.11.29.1", {"digits": 2, "tumor": 1})


def _refs(work):
    local = git(work, "for-each-ref", "--format=%(refname) %(objectname)")
    remote = git(work, "ls-remote", "origin")
    return local, remote


def _file(work, ref, path):
    return git(work, "show", f"{ref}:{path}").encode() + b"\n"


def test_dev_to_staging_to_production_one_commit_each_with_trailers(work, workspace):
    land_release(work, "dev", R1)
    main_before = git(work, "rev-parse", "main")

    staged = promote(workspace(), target="staging")
    assert staged.state == "opened"
    assert staged.branch == "promote/staging/2026.11.28.1"
    assert staged.pushed
    assert git(work, "rev-parse", f"{staged.branch}^") == main_before  # exactly one commit
    assert git(work, "ls-remote", "origin", staged.branch).startswith(staged.commit)
    changed = git(work, "diff", "--name-only", "main", staged.branch).split()
    assert changed == ["gitops/envs/staging/history.yaml", "gitops/envs/staging/release.yaml"]
    assert git(work, "show", f"{staged.branch}:gitops/envs/staging/release.yaml") == R1.rstrip("\n")
    trailers = git(work, "log", "-1", "--format=%(trailers:only,unfold)", staged.branch)
    for line in (
        f"Argocd-reference-commit-sha: {'c' * 40}",
        "Latte-Action: promote",
        "Latte-Release-Id: 2026.11.28.1",
        "Latte-Source-Env: dev",
        "Latte-Target-Env: staging",
        f"Latte-Source-Commit: {main_before}",
        "Latte-Models: digits=1, tumor=1",
    ):
        assert line in trailers.splitlines()
    assert git(work, "rev-parse", "main") == main_before  # the user's branch did not move
    merge(work, staged.branch)

    with pytest.raises(PolicyError, match="production requires an approval recorded in the PR"):
        promote(workspace(), target="production")
    prod = promote(workspace(), target="production", approved_by="alice")
    assert prod.state == "opened"
    assert "Latte-Approved-By: alice" in git(work, "log", "-1", "--format=%B", prod.branch)
    assert "approval: alice" in prod.body
    merge(work, prod.branch)
    for env in ("staging", "production"):
        assert (work / f"gitops/envs/{env}/release.yaml").read_text() == R1
        assert (work / f"gitops/envs/{env}/values.yaml").read_text().startswith(f"# {env}")


def test_rerunning_an_open_or_done_promotion_changes_nothing(work, workspace):
    land_release(work, "dev", R1)
    first = promote(workspace(), target="staging")
    before = _refs(work)
    again = promote(workspace(), target="staging")
    assert again.state == "pending"
    assert "already exists; nothing changed" in again.note
    assert _refs(work) == before

    git(work, "branch", "-D", first.branch)  # gone locally, still on the remote: still pending
    assert promote(workspace(), target="staging").state == "pending"

    git(work, "fetch", "--quiet", "origin", f"{first.branch}:{first.branch}")
    merge(work, first.branch)
    before = _refs(work)
    done = promote(workspace(), target="staging")
    assert done.state == "done"
    assert done.note == "staging already runs release 2026.11.28.1; nothing to do"
    assert _refs(work) == before


def test_soak_time_in_the_source_env_is_enforced(work, workspace):
    land_release(work, "dev", R1, when=datetime.now(UTC))
    with pytest.raises(PolicyError, match=r"has soaked 0m in dev, staging needs 1h00m"):
        promote(workspace(), target="staging")
    assert not git(work, "branch", "--list", "promote/*")


def test_failed_gate_is_refused_with_every_reason(work, workspace):
    land_release(work, "dev", release_text("2026.11.28.2", {"digits": 1}, gates="failed"))
    with pytest.raises(PolicyError) as refused:
        promote(workspace(), target="staging")
    assert refused.value.reasons == [
        "gate 'security' of release 2026.11.28.2 is failed (must be passed)"
    ]


def test_blocked_version_never_moves(work, workspace, registry):
    land_release(work, "dev", R2)
    registry.block("digits", 2, "wrong labels")
    with pytest.raises(PolicyError, match="digits version 2 is blocked in the registry"):
        promote(workspace(), target="staging")
    assert _refs(work)[0].count("refs/heads/") == 1  # only main


def test_promotion_skips_no_step_and_needs_a_release(work, workspace):
    with pytest.raises(PromoteError, match="dev has no release yet"):
        promote(workspace(), target="staging")
    with pytest.raises(PromoteError, match="production takes releases from staging, not dev"):
        promote(workspace(), target="production", source="dev")
    with pytest.raises(PromoteError, match="first environment of the chain"):
        promote(workspace(), target="dev")
    with pytest.raises(PromoteError, match="unknown environment 'qa'"):
        promote(workspace(), target="qa")


def test_without_remote_the_branch_stays_local(work, workspace):
    land_release(work, "dev", R1)
    outcome = promote(workspace(push=False), target="staging")
    assert outcome.state == "opened"
    assert not outcome.pushed
    assert git(work, "ls-remote", "origin", outcome.branch) == ""


def _add_env_the_documented_way(work, name):
    """An env as gitops/README.md says: a folder (values.yaml, empty release.yaml and
    history.yaml), its namespace in the AppProject, one line in the chain. The repository's
    real chart and Argo CD files come along, so the new env can be rendered and checked."""
    for part in ("charts", "argocd"):
        shutil.copytree(REPO / "gitops" / part, work / "gitops" / part)
    project = work / "gitops/argocd/appproject.yaml"
    line = "    - {server: https://kubernetes.default.svc, namespace: latte-staging}\n"
    extra = f"    - {{server: https://kubernetes.default.svc, namespace: latte-{name}}}\n"
    project.write_text(project.read_text().replace(line, extra + line))
    chain = (work / "gitops/promotion.yaml").read_text()
    (work / "gitops/promotion.yaml").write_text(
        chain.replace("  - name: staging\n", f"  - {{name: {name}}}\n  - name: staging\n")
    )
    shutil.copytree(REPO / "gitops/envs/qa", work / "gitops/envs" / name)
    for file in ("release.yaml", "history.yaml"):  # as committed, not a local pipeline's
        committed = git(REPO, "show", f"HEAD:gitops/envs/qa/{file}")
        (work / "gitops/envs" / name / file).write_text(committed + "\n")
    git(work, "add", "gitops")
    git(work, "commit", "--quiet", "-m", f"add the {name} env")


def test_a_new_environment_is_promoted_into_and_passes_gitops_check(work, workspace):
    _add_env_the_documented_way(work, "test")
    land_release(work, "dev", R1)
    with pytest.raises(PromoteError, match="staging takes releases from test, not dev"):
        promote(workspace(), target="staging", source="dev")
    outcome = promote(workspace(), target="test")
    assert outcome.branch == "promote/test/2026.11.28.1"
    history = git(work, "show", f"{outcome.branch}:gitops/envs/test/history.yaml")
    assert "action: promote" in history
    assert "from: dev" in history

    # what Argo CD would deploy from the branch: rendered by the real chart and checked
    git(work, "checkout", "--quiet", outcome.branch)
    helm = find_helm(REPO / ".latte" / "tools")
    results = run_checks(GitopsLayout.discover(work), helm, None, ["test"])
    names = {r.name for r in results}
    assert {"values (test)", "helm template (test)", "policy (test)"} <= names
    assert [(r.name, r.findings) for r in results if r.status == "failed"] == []
    manifests, _ = render_env(GitopsLayout.discover(work), helm, "test")
    delivery = next(m for m in manifests if m.name == "ConfigMap/latte-test-triton-delivery")
    assert "digits" in delivery.doc["data"]["release.yaml"], "the promoted release is rendered"


def test_a_model_the_registry_does_not_know_fails_closed(work, workspace):
    land_release(work, "dev", release_text("2026.11.28.3", {"ghost": 1}))
    with pytest.raises(PromoteError, match="cannot check whether ghost version 1 is blocked"):
        promote(workspace(), target="staging")


def test_git_problems_are_one_line_with_the_fix(work, registry):
    from latte.promote import Git, GitError, Workspace

    def open_ws(base):
        return Workspace.open(
            Git(work), base=base, remote="origin", push=True, blocklist=registry,
            now=datetime.now(UTC),
        )  # fmt: skip

    with pytest.raises(GitError, match=r"'nope' is not a commit in .*; name a branch or commit"):
        open_ws("nope")
    git(work, "checkout", "--quiet", "--detach", "main")
    with pytest.raises(GitError, match="HEAD is detached: pass --base <branch>"):
        open_ws("")
    git(work, "checkout", "--quiet", "main")
    git(work, "rm", "--quiet", "gitops/promotion.yaml")
    git(work, "commit", "--quiet", "-m", "drop the chain")
    with pytest.raises(PromoteError, match=r"gitops/promotion\.yaml is not committed on main"):
        open_ws("main")
    with pytest.raises(GitError, match=r"git show main:missing-file failed in .*does not exist"):
        Git(work).run_bytes("show", "main:missing-file")


def test_a_release_written_by_latte_release_moves_unchanged(work, workspace):
    """Contract with latte.release: its dev files are promoted byte for byte."""
    from latte.release import write_release

    content = {
        "release": {"commit": "a" * 40, "gates": {"tests": "passed", "security": "passed"}},
        "models": {"digits": {"version": 2, "digest": "sha256:" + "b" * 64,
                              "artifacts": {"2": "sha256:" + "b" * 64},
                              "framework": "pytorch", "aliases": ["dev:current"],
                              "metrics": {"f1_macro": 0.97}}},
        "images": {"gateway": {"repository": "ghcr.io/example/latte-gateway", "tag": "a" * 40,
                               "digest": ""}},
        "routing": {"digits": {"stable": 2, "versions": {"2": 100}}},
        "bench": {"digits": {"p95Ms": 4.1, "throughputRps": 812}},
        "capacity": {"digits": {"perReplicaRps": 700, "replicas": 2}},
    }  # fmt: skip
    outcome = write_release(work / "gitops/envs/dev", content, now=LONG_AGO)
    git(work, "add", "gitops/envs/dev")
    git(work, "commit", "--quiet", "-m", "release", when=LONG_AGO)
    staged = promote(workspace(), target="staging")
    assert staged.branch == f"promote/staging/{outcome.release_id}"
    dev_bytes = (work / "gitops/envs/dev/release.yaml").read_bytes()
    staged_bytes = git(
        work, "cat-file", "blob", f"{staged.branch}:gitops/envs/staging/release.yaml"
    )
    assert staged_bytes.encode() + b"\n" == dev_bytes
    assert "| digits | f1_macro | - | 0.97 | new |" in staged.body
