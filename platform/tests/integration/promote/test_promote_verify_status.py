"""Merge verification, `latte status` and the CLI edge on a real repository."""

import pytest
from promote_repo import git, land_release, merge, release_text

from latte.cli import main
from latte.promote import collect_status, promote, verify
from latte.promote.status import status_lines

R1 = release_text("2026.11.28.1", {"digits": 1})
R2 = release_text("2026.11.29.1", {"digits": 2})


def test_verify_accepts_a_merged_promotion_and_flags_hand_edits(work, workspace, registry):
    land_release(work, "dev", R1)
    merged = merge(work, promote(workspace(), target="staging").branch)
    assert verify(workspace(), ref=merged) == []
    assert verify(workspace(), ref=git(work, "rev-list", "--max-parents=0", "HEAD")) == []

    land_release(work, "staging", R2, message="quick fix")
    problems = verify(workspace(), ref="main")
    assert len(problems) == 1
    assert problems[0].startswith("staging: gitops/envs/staging/release.yaml was changed by ")
    assert problems[0].endswith("not by `latte promote` or `latte rollback`")


def test_verify_rechecks_blocks_after_merge(work, workspace, registry):
    land_release(work, "dev", R1)
    merge(work, promote(workspace(), target="staging").branch)
    registry.block("digits", 1, "found later")
    assert verify(workspace(), ref="main") == [
        "staging: digits version 1 is blocked in the registry"
    ]


def test_status_shows_pins_differences_and_pending(work, workspace):
    land_release(work, "dev", R1)
    merge(work, promote(workspace(), target="staging").branch)
    land_release(work, "dev", R2)
    promote(workspace(), target="staging")
    lines = status_lines(collect_status(workspace()))
    assert lines == [
        "dev: release 2026.11.29.1 [digits v2]",
        "staging: release 2026.11.28.1 [digits v1]",
        "  vs dev: release 2026.11.29.1 there, 2026.11.28.1 here; digits v2 there, v1 here",
        "  pending: promote/staging/2026.11.29.1",
        "production: release (none) [no models]",
        "  vs staging: release 2026.11.28.1 there, (none) here; digits v1 there, - here",
    ]


@pytest.fixture
def cli_env(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("LATTE_REGISTRY_URL", settings.registry_url)
    monkeypatch.setenv("LATTE_ARTIFACT_STORE_URL", settings.artifact_store_url)
    for name in ("LATTE_FORGE", "KUBECONFIG", "LATTE_KUBECONFIG", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_cli_prints_the_pr_text_and_refuses_in_one_line(work, registry, cli_env, capsys):
    land_release(work, "dev", R1)
    assert main(["-C", str(work), "promote", "--to", "staging", "--no-push"]) == 0
    out = capsys.readouterr().out
    assert "opened: promote(staging): release 2026.11.28.1 from dev" in out
    assert "push it: git push <remote> promote/staging/2026.11.28.1" in out
    assert "| digits | - | v1 |" in out

    merge(work, "promote/staging/2026.11.28.1")
    assert main(["-C", str(work), "promote", "--to", "production"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "production requires an approval recorded in the PR" in err

    assert main(["-C", str(work), "promote", "--verify", "--record"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("promotion policy: ok\nrecorded staging: digits staging:current -> v1\n")
    assert registry.aliases("digits")["staging:current"] == 1
    assert main(["-C", str(work), "rollback", "staging"]) == 1
    assert "never ran an earlier unblocked release" in capsys.readouterr().err
    assert main(["-C", str(work), "promote"]) == 1
    assert "needs --to <env>" in capsys.readouterr().err

    land_release(work, "staging", R2, message="hand edit")
    assert main(["-C", str(work), "promote", "--verify", "main"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL staging: gitops/envs/staging/release.yaml was changed by ")
    assert out.endswith("promotion policy: violated\n")


def test_cli_status_skips_the_cluster_with_a_reason(work, cli_env, capsys):
    assert main(["-C", str(work), "status", "staging"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "staging: release (none) [no models]"
    assert out[-1].startswith("cluster: skipped (no kubeconfig")
    assert main(["-C", str(work), "status", "qa"]) == 1
    assert "unknown environment 'qa'" in capsys.readouterr().err


def test_cli_status_without_a_forge_token_still_shows_git(work, cli_env, capsys, monkeypatch):
    monkeypatch.setenv("LATTE_FORGE", "github")
    monkeypatch.setenv("LATTE_FORGE_REPO", "example/latte")
    monkeypatch.delenv("LATTE_FORGE_TOKEN", raising=False)
    assert main(["-C", str(work), "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "dev: release (none) [no models]"
    assert out[-2] == (
        "pull requests: skipped (forge 'github' needs a token: "
        "set LATTE_FORGE_TOKEN or GITHUB_TOKEN)"
    )
