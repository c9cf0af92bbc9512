"""`latte promote --to ENV --weight N / --full`: a canary's weight moved by a reviewed commit on
a real git repository with a bare remote, the real registry, and `--verify` on the merge."""

import pytest
from promote_repo import canary_text, git, land_release, merge, release_text
from ruamel.yaml import YAML

from latte.cli import main
from latte.promote import PolicyError, PromoteError, move_weight, promote, verify

R = canary_text("2026.11.29.1", stable=1, canary=2, weight=10)
PATH = "gitops/envs/dev/release.yaml"


def _at(work, ref, path=PATH):
    return git(work, "show", f"{ref}:{path}") + "\n"


def _refs(work):
    return git(work, "for-each-ref"), git(work, "ls-remote", "origin")


def test_a_weight_move_edits_only_the_routing_line_in_one_pushed_commit(work, workspace):
    land_release(work, "dev", R)
    base = git(work, "rev-parse", "main")
    moved = move_weight(workspace(), env="dev", weight=50)
    assert (moved.state, moved.branch, moved.pushed) == (
        "opened",
        "weight/dev/2026.11.29.1-50",
        True,
    )
    assert git(work, "rev-parse", f"{moved.branch}^") == base
    assert git(work, "ls-remote", "origin", moved.branch).startswith(moved.commit)
    assert _at(work, moved.branch) == R.replace('{"1": 90, "2": 10}', '{"1": 50, "2": 50}')
    history = YAML(typ="safe").load(_at(work, moved.branch, "gitops/envs/dev/history.yaml"))
    assert history["history"][-1]["action"] == "weight"
    assert history["history"][-1]["weight"] == 50
    message = git(work, "log", "-1", "--format=%B", moved.branch)
    assert "Latte-Action: weight" in message
    assert "Latte-Weight: 50" in message
    assert "digits v1:90/v2:10 -> digits v1:50/v2:50" in moved.body


def test_rerunning_is_pending_then_done_after_the_merge(work, workspace):
    land_release(work, "dev", R)
    first = move_weight(workspace(), env="dev", weight=50)
    before = _refs(work)
    assert move_weight(workspace(), env="dev", weight=50).state == "pending"
    assert _refs(work) == before
    merge(work, first.branch)
    done = move_weight(workspace(), env="dev", weight=50)
    assert (done.state, done.note) == (
        "done",
        "dev already routes its canary at 50%; nothing to do",
    )
    assert verify(workspace(), ref="HEAD") == []  # dev is the first env: nothing to verify


def test_full_makes_the_canary_the_only_version_and_drops_the_old_artifact(work, workspace):
    land_release(
        work, "dev", canary_text("2026.11.29.1", stable=1, canary=2, weight=10, shadow=True)
    )
    full = move_weight(workspace(), env="dev", weight=100)
    assert full.branch == "weight/dev/2026.11.29.1-100"
    doc = YAML(typ="safe").load(_at(work, full.branch))
    assert doc["routing"]["digits"] == {
        "stable": 2,
        "versions": {"2": 100},
        "stickyHeader": "x-latte-route-key",
        "shadow": None,
    }
    assert doc["models"]["digits"]["artifacts"] == {"2": "sha256:" + "2" * 64}
    assert doc["release"]["id"] == "2026.11.29.1"  # the same release, another split
    assert "full cut-over" in full.title


def test_a_weight_move_in_staging_is_verified_on_the_merge(work, workspace):
    land_release(work, "dev", R)
    merge(work, promote(workspace(), target="staging").branch)
    moved = move_weight(workspace(), env="staging", weight=25)
    merged = merge(work, moved.branch)
    assert verify(workspace(), ref=merged) == []
    # the same commit (same trailers) with another weight written into the file is caught
    git(work, "checkout", "--quiet", "-b", "tamper", moved.branch)
    path = work / "gitops/envs/staging/release.yaml"
    path.write_text(path.read_text().replace('"2": 25', '"2": 26').replace('"1": 75', '"1": 74'))
    git(work, "commit", "--quiet", "--amend", "--no-edit", "-a")
    (problem,) = verify(workspace(), ref="tamper")
    assert problem.startswith("staging: gitops/envs/staging/release.yaml is not ")
    assert problem.endswith("'s file with the canary at 25% (edited?)")


def test_production_weight_moves_need_the_approval_and_the_gates(work, workspace):
    land_release(work, "dev", R)
    merge(work, promote(workspace(), target="staging").branch)
    merge(work, promote(workspace(), target="production", approved_by="alice").branch)
    before = _refs(work)
    with pytest.raises(PolicyError, match="production requires an approval"):
        move_weight(workspace(), env="production", weight=50)
    assert _refs(work) == before
    assert (
        move_weight(workspace(), env="production", weight=50, approved_by="bob").state == "opened"
    )


def test_a_blocked_stable_version_refuses_the_move(work, workspace, registry):
    land_release(work, "dev", R)
    registry.block("digits", 1, "bad labels")
    with pytest.raises(PolicyError, match="digits version 1 is blocked"):
        move_weight(workspace(), env="dev", weight=50)


def test_a_release_without_a_canary_is_refused_naming_file_and_key(work, workspace, capsys):
    land_release(work, "dev", release_text("2026.11.29.1", {"digits": 1}))
    with pytest.raises(PromoteError, match=rf"{PATH}: routing: {{}}: no model has a canary"):
        move_weight(workspace(), env="dev", weight=50)


def test_weights_that_do_not_sum_to_100_are_refused_before_anything_is_written(work, workspace):
    bad = R.replace('{"1": 90, "2": 10}', '{"1": 90, "2": 20}')
    land_release(work, "dev", bad)
    before = _refs(work)
    with pytest.raises(PromoteError) as err:
        promote(workspace(), target="staging")
    assert str(err.value).startswith(
        f"{PATH}: routing.digits.versions: weights {{1: 90, 2: 20}} sum to 110, not 100"
    )
    with pytest.raises(PromoteError, match="sum to 110, not 100"):
        move_weight(workspace(), env="dev", weight=50)  # a move never "repairs" a bad file
    assert _refs(work) == before


def test_cli_flags(work, settings, registry, capsys, monkeypatch):
    land_release(work, "dev", R)
    monkeypatch.setenv("LATTE_REGISTRY_URL", settings.registry_url)
    monkeypatch.setenv("LATTE_ARTIFACT_STORE_URL", settings.artifact_store_url)
    for name in ("LATTE_FORGE", "KUBECONFIG", "LATTE_KUBECONFIG", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["-C", str(work), "promote", "--to", "dev", "--full", "--no-push"]) == 0
    assert "opened: weight(dev): full cut-over to the canary" in capsys.readouterr().out
    assert main(["-C", str(work), "promote", "--to", "dev", "--weight", "100"]) == 2
    assert "use --full for 100" in capsys.readouterr().err
    code = main(["-C", str(work), "promote", "--to", "dev", "--weight", "5", "--full"])
    assert code == 2
    assert "either --weight N or --full" in capsys.readouterr().err


def test_status_shows_the_split_and_a_weight_branch_until_it_lands(work, workspace):
    from latte.promote import collect_status
    from latte.promote.status import status_lines

    land_release(work, "dev", R)
    moved = move_weight(workspace(), env="dev", weight=50)
    lines = status_lines(collect_status(workspace(), only="dev"))
    assert lines[0] == "dev: release 2026.11.29.1 [digits v2 at 10% beside stable v1]"
    assert f"  pending: {moved.branch}" in lines
    merge(work, moved.branch)
    lines = status_lines(collect_status(workspace(), only="dev"))
    assert lines == ["dev: release 2026.11.29.1 [digits v2 at 50% beside stable v1]"]


def test_rolling_back_a_canary_blocks_only_the_canary(work, workspace, registry):
    from latte.promote import rollback

    land_release(work, "dev", release_text("2026.11.28.1", {"digits": 1}))
    land_release(work, "dev", R)
    back = rollback(workspace(), env="dev")
    assert back.branch == "rollback/dev/2026.11.28.1"
    assert registry.is_blocked("digits", 2)
    assert not registry.is_blocked("digits", 1)  # the stable side of the canary keeps serving
    assert "blocked in the registry: digits v2" in back.body
