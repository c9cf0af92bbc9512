"""`latte incidents heal`: a confirmed canary incident becomes a weight-0 or rollback branch
on a real git repository with a bare remote and the real registry, only when the env's policy
in gitops/promotion.yaml opts in; off (the default) changes nothing and says so."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from promote_repo import CHAIN, canary_text, git, land_release, release_text
from ruamel.yaml import YAML

from latte.alerting.heal import confirmed
from latte.alerting.incidents import Alert, group
from latte.cli import main
from latte.promote import PromoteError
from latte.promote.chain import parse_chain

CANARY = canary_text("2026.11.29.2", stable=1, canary=2, weight=10)
PATH = "gitops/envs/dev/release.yaml"


@pytest.fixture
def cli(work, settings, registry, monkeypatch, tmp_path):
    """`latte -C work ...` with the test registry, no forge; the alert log in build/."""
    monkeypatch.setenv("LATTE_REGISTRY_URL", settings.registry_url)
    monkeypatch.setenv("LATTE_ARTIFACT_STORE_URL", settings.artifact_store_url)
    for name in ("LATTE_FORGE", "GITHUB_TOKEN", "LATTE_FORGE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    land_release(work, "dev", release_text("2026.11.29.1", {"digits": 1}))
    land_release(work, "dev", CANARY, message="release 2026.11.29.2 canary 10")

    def run(*argv):
        return main(["-C", str(work), *argv])

    return run


def _policy(work, heal):
    chain = CHAIN.replace("  - name: dev\n", f"  - name: dev\n    heal: {heal}\n")
    (work / "gitops" / "promotion.yaml").write_text(chain)
    git(work, "commit", "-qam", f"self-heal {heal} in dev")
    git(work, "push", "-q", "origin", "main")


def _alerts(work, *alerts):
    store = work / "build" / "incidents" / "alerts.jsonl"
    store.parent.mkdir(parents=True, exist_ok=True)
    with store.open("a") as handle:
        for alert in alerts:
            handle.write(json.dumps(alert) + "\n")


def _alert(name, status="firing", severity="page", env="dev", minutes_ago=3):
    starts = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    labels = {"alertname": name, "severity": severity, "env": env, "model": "digits"}
    return {"labels": labels, "startsAt": starts.isoformat(), "status": status}


def _branches(work):
    return git(work, "branch", "--format=%(refname:short)").split()


def test_off_by_default_changes_nothing_and_says_what_to_run(work, cli, capsys):
    _alerts(work, _alert("LatteCanaryErrorRatio"))
    before = _branches(work)
    assert cli("incidents", "heal", "--env", "dev") == 0
    out = capsys.readouterr().out
    assert "self-healing is off" in out
    assert "latte promote --to dev --weight 0" in out
    assert "LatteCanaryErrorRatio on digits" in out
    assert _branches(work) == before
    assert not (work / "build" / "incidents" / "heals.jsonl").exists()


def test_weight_0_opens_one_labelled_audited_branch_and_rerunning_is_pending(work, cli, capsys):
    _policy(work, "weight-0")
    _alerts(work, _alert("LatteCanaryErrorRatio"), _alert("LatteCanaryLatency"))
    assert cli("incidents", "heal", "--env", "dev") == 0
    out = capsys.readouterr().out
    branch = "weight/dev/2026.11.29.2-0"
    assert f"weight-0: opened {branch}" in out
    routed = YAML(typ="safe").load(git(work, "show", f"{branch}:{PATH}"))
    assert routed["routing"]["digits"]["versions"] == {"1": 100, "2": 0}
    assert git(work, "ls-remote", "origin", branch)  # pushed, through the normal git path
    message = git(work, "log", "-1", "--format=%B", branch)
    assert "Latte-Action: weight" in message
    assert "Latte-Weight: 0" in message
    assert "Latte-Reason: self-heal: incident " in message
    assert "(LatteCanaryErrorRatio, LatteCanaryLatency on digits)" in message
    history = YAML(typ="safe").load(git(work, "show", f"{branch}:gitops/envs/dev/history.yaml"))
    assert history["history"][-1]["reason"].startswith("self-heal: incident ")
    log = [
        json.loads(line) for line in (work / "build/incidents/heals.jsonl").read_text().splitlines()
    ]
    assert [(e["env"], e["action"], e["state"], e["branch"]) for e in log] == [
        ("dev", "weight-0", "opened", branch)
    ]
    assert cli("incidents", "heal", "--env", "dev") == 0  # the same incident again
    assert f"weight-0: pending {branch}" in capsys.readouterr().out
    assert [b for b in _branches(work) if b.startswith("weight/")] == [branch]


def test_rollback_policy_opens_the_rollback_and_blocks_the_canary(work, cli, registry, capsys):
    _policy(work, "rollback")
    _alerts(work, _alert("LatteCanaryQuality"))
    assert cli("incidents", "heal", "--env", "dev") == 0
    assert "rollback: opened rollback/dev/2026.11.29.1" in capsys.readouterr().out
    message = git(work, "log", "-1", "--format=%B", "rollback/dev/2026.11.29.1")
    assert "Latte-Action: rollback" in message
    assert "Latte-Reason: self-heal: incident " in message
    assert registry.is_blocked("digits", 2)


def test_only_confirmed_canary_pages_of_the_env_are_healed(work, cli, capsys):
    _policy(work, "weight-0")
    _alerts(
        work,
        _alert("LatteCanaryConversion", severity="warning"),  # a warning is not a page
        _alert("LatteGatewayErrorRatio"),  # a page, but not the canary judge's
        _alert("LatteCanaryErrorRatio", env="staging"),  # another env
        _alert("LatteCanaryLatency", minutes_ago=100),
        _alert("LatteCanaryLatency", status="resolved", minutes_ago=100),  # over
    )
    assert cli("incidents", "heal", "--env", "dev") == 0
    assert "dev: no confirmed canary incident; nothing to heal" in capsys.readouterr().out
    assert not [b for b in _branches(work) if b.startswith("weight/")]


def test_confirmed_needs_a_firing_canary_page():
    alerts = [Alert.from_webhook(_alert("LatteCanaryErrorRatio")), Alert.from_webhook(_alert("X"))]
    assert [i.model for i in confirmed(group(alerts), "dev")] == ["digits"]
    assert confirmed(group(alerts), "staging") == []


def test_an_unknown_heal_action_is_refused_naming_the_choices():
    with pytest.raises(PromoteError, match="heal 'auto'; use one of off, weight-0, rollback"):
        parse_chain(CHAIN.replace("  - name: dev\n", "  - name: dev\n    heal: auto\n"))
    assert parse_chain(CHAIN).policy("dev").heal == "off"
