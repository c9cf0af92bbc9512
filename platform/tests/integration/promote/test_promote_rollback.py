"""Rollback on a real repository: byte-exact restore, registry block, idempotent re-run."""

import pytest
from promote_repo import git, land_release, merge, release_text

from latte.promote import PromoteError, promote, rollback, verify

# Hand-formatted on purpose: a rollback must restore these exact bytes, comments included.
R1 = release_text("2026.11.28.1", {"digits": 1, "tumor": 1}).replace(
    "models:", "models:   # odd spacing kept\n"
)
R2 = release_text("2026.11.29.1", {"digits": 2, "tumor": 1})
R3 = release_text("2026.11.30.1", {"digits": 3, "tumor": 1})


def _staging_runs(work, workspace, *texts):
    for text in texts:
        land_release(work, "dev", text)
        merge(work, promote(workspace(), target="staging").branch)


def test_rollback_restores_the_previous_file_byte_for_byte_and_blocks(work, workspace, registry):
    _staging_runs(work, workspace, R1, R2)
    path = "gitops/envs/staging/release.yaml"
    assert (work / path).read_text() == R2

    outcome = rollback(workspace(), env="staging", reason="p95 doubled")
    assert outcome.state == "opened"
    assert outcome.branch == "rollback/staging/2026.11.28.1"
    restored = git(work, "cat-file", "blob", f"{outcome.branch}:{path}")
    assert restored + "\n" == R1
    assert registry.is_blocked("digits", 2)
    assert registry.get("digits", 2).blocked_reason == "p95 doubled"
    assert not registry.is_blocked("tumor", 1)  # unchanged between the two releases
    message = git(work, "log", "-1", "--format=%B", outcome.branch)
    assert "Latte-Action: rollback" in message
    assert "Latte-Reason: p95 doubled" in message
    assert "digits v2" in outcome.body

    again = rollback(workspace(), env="staging", reason="p95 doubled")
    assert again.state == "pending"
    merged = merge(work, outcome.branch)
    assert verify(workspace(), ref=merged) == []
    assert (work / path).read_bytes() == R1.encode()
    history = (work / "gitops/envs/staging/history.yaml").read_text()
    assert history.count("\n  - id:") == 3
    assert history.rstrip().endswith('reason: "p95 doubled"')


def test_rollback_skips_blocked_releases_and_honours_to(work, workspace, registry):
    _staging_runs(work, workspace, R1, R2, R3)
    registry.block("digits", 2, "bad labels")
    outcome = rollback(workspace(), env="staging")
    assert outcome.branch == "rollback/staging/2026.11.28.1"
    assert registry.get("digits", 3).blocked_reason == (
        "rolled back in staging from release 2026.11.30.1 to 2026.11.28.1"
    )
    with pytest.raises(PromoteError, match=r"release 2026\.11\.29\.1 cannot be restored"):
        rollback(workspace(), env="staging", to="2026.11.29.1")
    with pytest.raises(PromoteError, match=r"staging never ran release 1999\.01\.01\.1"):
        rollback(workspace(), env="staging", to="1999.01.01.1")


def test_rollback_needs_a_release_and_a_previous_one(work, workspace):
    with pytest.raises(PromoteError, match="staging has no release to roll back from"):
        rollback(workspace(), env="staging")
    _staging_runs(work, workspace, R1)
    with pytest.raises(PromoteError, match="never ran an earlier unblocked release"):
        rollback(workspace(), env="staging")


def test_verify_flags_a_rollback_edited_after_restore(work, workspace):
    _staging_runs(work, workspace, R1, R2)
    outcome = rollback(workspace(), env="staging")
    path = work / "gitops/envs/staging/release.yaml"
    git(work, "checkout", "--quiet", outcome.branch)
    path.write_text(R1.replace("framework: pytorch", "framework: tensorflow"))
    git(work, "commit", "--quiet", "--amend", "--no-edit", "-a")
    git(work, "checkout", "--quiet", "main")
    merged = merge(work, outcome.branch)
    (problem,) = verify(workspace(), ref=merged)
    assert problem.startswith("staging: gitops/envs/staging/release.yaml is not the file as of ")
