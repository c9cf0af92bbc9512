"""The GitHub client against a fake GitHub API on 127.0.0.1, end to end with a real repo."""

import httpx
import pytest
from promote_repo import git, land_release, merge, release_text

from latte.config import load_settings
from latte.promote import ForgeError, GitHubForge, PromoteError, promote, rollback, verify
from latte.promote.forge import make_forge

R1 = release_text("2026.11.28.1", {"digits": 1})
R2 = release_text("2026.11.29.1", {"digits": 2})


def test_promote_opens_one_pull_request_with_the_description(work, workspace, github):
    fake, client, _ = github
    forge = GitHubForge(client=client, repo="example/latte")
    land_release(work, "dev", R1)
    merge(work, promote(workspace(), target="staging").branch)
    land_release(work, "dev", R2)

    outcome = promote(workspace(forge=forge), target="staging")
    assert outcome.pull is not None
    assert outcome.pull.url == "https://github.test/example/latte/pull/1"
    (pull,) = fake.pulls
    assert pull["head"]["ref"] == "promote/staging/2026.11.29.1"
    assert pull["base"]["ref"] == "main"
    body = pull["body"]
    assert "| digits | v1 | v2 | `sha256:" + "2" * 64 + "` |" in body
    assert "| digits | f1_macro | 0.91 | 0.92 | +0.01 (+1.1%) |" in body
    assert "| digits | p95Ms | 5 | 6 | +1 (+20.0%) |" in body
    assert "| security | passed |" in body

    again = promote(workspace(forge=forge), target="staging")
    assert again.state == "pending"
    assert again.pull == outcome.pull
    assert [m for m, _ in fake.requests].count("POST") == 1


def test_an_interrupted_run_is_finished_and_a_closed_pr_left_alone(work, workspace, github):
    fake, client, _ = github
    land_release(work, "dev", R1)
    first = promote(workspace(push=False), target="staging")  # stopped before the push
    assert git(work, "ls-remote", "origin", first.branch) == ""
    forge = GitHubForge(client=client, repo="example/latte")

    resumed = promote(workspace(forge=forge), target="staging")
    assert resumed.state == "resumed"
    assert "pushed it to origin and opened its pull request" in resumed.note
    assert git(work, "ls-remote", "origin", first.branch).startswith(first.commit)
    (pull,) = fake.pulls
    assert pull["head"]["ref"] == first.branch
    assert "| tests | passed |" in pull["body"]

    pull["state"] = "closed"  # a reviewer rejected it
    again = promote(workspace(forge=forge), target="staging")
    assert again.state == "pending"
    assert f"pull request #{pull['number']} was closed: delete the branch" in again.note
    assert len(fake.pulls) == 1


def test_a_forge_without_a_remote_is_refused_before_writing(work, workspace, github):
    _, client, _ = github
    land_release(work, "dev", R1)
    forge = GitHubForge(client=client, repo="example/latte")
    with pytest.raises(PromoteError, match="a forge is configured but no git remote"):
        promote(workspace(forge=forge, push=False), target="staging")
    assert not git(work, "branch", "--list", "promote/*")


def test_rollback_pull_request_is_labelled_for_fast_merge(work, workspace, github):
    fake, client, _ = github
    forge = GitHubForge(client=client, repo="example/latte")
    for text in (R1, R2):
        land_release(work, "dev", text)
        merge(work, promote(workspace(), target="staging").branch)
    outcome = rollback(workspace(forge=forge), env="staging", reason="errors")
    assert outcome.pull is not None
    assert [label["name"] for label in fake.pulls[0]["labels"]] == ["rollback", "fast-merge"]


def test_verify_on_merge_needs_an_approving_review_for_production(work, workspace, github):
    fake, client, _ = github
    forge = GitHubForge(client=client, repo="example/latte")
    land_release(work, "dev", R1)
    merge(work, promote(workspace(), target="staging").branch)
    outcome = promote(workspace(forge=forge), target="production", approved_by="alice")
    merge(work, outcome.branch)
    number = outcome.pull.number
    assert verify(workspace(forge=forge), ref="main", pull=number) == [
        f"production: pull request #{number} has no approving review"
    ]
    fake.approve(number, "bob")
    assert verify(workspace(forge=forge), ref="main", pull=number) == []


def test_forge_errors_are_one_line_with_what_to_do(work, github, tmp_path):
    _, _, url = github
    bad = httpx.Client(base_url=url, headers={"Authorization": "Bearer wrong"})
    with pytest.raises(ForgeError, match=r"returned 401: Bad credentials; check forge_repo"):
        GitHubForge(client=bad, repo="example/latte").find_open("x")
    good = {"Authorization": "Bearer test-token"}
    unknown = GitHubForge(client=httpx.Client(base_url=url, headers=good), repo="other/repo")
    with pytest.raises(ForgeError, match="GET /repos/other/repo/pulls/1/reviews returned 404"):
        unknown.approvals(1)
    down = httpx.Client(base_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(ForgeError, match="check forge_api_url and the network"):
        GitHubForge(client=down, repo="example/latte").list_open("promote/")


def test_make_forge_reads_the_settings(tmp_path):
    assert make_forge(load_settings(root=tmp_path, environ={})) is None
    env = {"LATTE_FORGE": "github", "LATTE_FORGE_REPO": "example/latte"}
    with pytest.raises(ForgeError, match="needs a token: set LATTE_FORGE_TOKEN or GITHUB_TOKEN"):
        make_forge(load_settings(root=tmp_path, environ=env))
    forge = make_forge(load_settings(root=tmp_path, environ={**env, "GITHUB_TOKEN": "t"}))
    assert isinstance(forge, GitHubForge)
    assert forge.client.headers["Authorization"] == "Bearer t"
    with pytest.raises(ForgeError, match="'nope' is not owner/name"):
        make_forge(load_settings(root=tmp_path, environ={**env, "LATTE_FORGE_REPO": "nope"}))
    with pytest.raises(ForgeError, match="unknown forge 'gitlab'; known: github"):
        make_forge(load_settings(root=tmp_path, environ={"LATTE_FORGE": "gitlab"}))
