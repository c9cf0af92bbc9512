from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from latte.promote import Candidate, PromoteError, ReleaseInfo, check_policy, parse_chain
from latte.promote.chain import EnvPolicy, parse_duration
from latte.promote.release import ModelPin

REPO_CHAIN = Path(__file__).resolve().parents[4] / "gitops" / "promotion.yaml"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_the_repository_chain_is_dev_qa_staging_production():
    chain = parse_chain(REPO_CHAIN.read_text())
    assert chain.names == ("dev", "qa", "staging", "production")
    folders = sorted(p.name for p in (REPO_CHAIN.parent / "envs").iterdir() if p.is_dir())
    assert sorted(chain.names) == folders, "every env folder is in the chain, and only those"
    assert chain.source_of("qa") == "dev"
    assert chain.policy("qa").soak == timedelta(0)
    assert chain.source_of("staging") == "qa"
    assert chain.policy("staging").soak == timedelta(minutes=30)
    assert chain.source_of("production") == "staging"
    assert chain.policy("production").approval
    assert not chain.policy("staging").approval
    assert chain.policy("staging").gates == ("tests", "security", "quality", "slo")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", timedelta(0)), ("30m", timedelta(minutes=30)), ("1h30m", timedelta(minutes=90)),
     ("2d", timedelta(days=2)), ("45s", timedelta(seconds=45))],
)  # fmt: skip
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "1x", "h", "1h junk", ""])
def test_bad_duration_names_the_value(text):
    with pytest.raises(PromoteError, match="is not a duration like 30m"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("environments: [dev]", "two or more distinct environments"),
        ("environments: [dev, dev]", "two or more distinct environments"),
        ("chain: [dev, staging]", "needs an 'environments:' list"),
        ("environments: [dev, {soak: 1h}]", "needs a name"),
        ("environments: [dev, {name: qa, soke: 1h}]", r"unknown key\(s\) \['soke'\]"),
        ("environments: [dev, {name: qa, soak: 1y}]", "soak '1y' is not a duration"),
        ("environments: [dev\n", "not valid YAML"),
    ],
)
def test_bad_chain_files_say_what_is_wrong(text, message):
    with pytest.raises(PromoteError, match=message):
        parse_chain(text)


def test_plain_names_and_defaults():
    chain = parse_chain("defaults: {soak: 2h}\nenvironments: [dev, test, {name: prod, soak: 0}]")
    assert chain.policy("test").soak == timedelta(hours=2)
    assert chain.policy("prod").soak == timedelta(0)


class Blocked:
    def __init__(self, *pairs):
        self.pairs = set(pairs)

    def is_blocked(self, name, version):
        return (name, version) in self.pairs

    def block(self, name, version, reason):
        self.pairs.add((name, version))


def _release(gates=None, release_id="2026.11.30.1"):
    model = ModelPin(name="digits", version=3, digest="sha256:" + "a" * 64)
    return ReleaseInfo(
        id=release_id, created="", commit="", models={"digits": model}, bench={},
        gates=gates if gates is not None else {"tests": "passed", "security": "passed"},
    )  # fmt: skip


def test_policy_lists_every_reason_at_once():
    policy = EnvPolicy(name="production", gates=("tests", "slo"), soak=timedelta(hours=24),
                       approval=True)  # fmt: skip
    candidate = Candidate(release=_release(), source="staging", landed_at=NOW - timedelta(hours=2))
    reasons = check_policy(policy, candidate, now=NOW, blocklist=Blocked(("digits", 3)))
    assert reasons == [
        "gate 'slo' of release 2026.11.30.1 is missing (must be passed)",
        "release 2026.11.30.1 has soaked 2h00m in staging, production needs 24h00m "
        "(retry after 2026-12-01T10:00:00Z)",
        "production requires an approval recorded in the PR: rerun with --approved-by <reviewer>",
        "digits version 3 is blocked in the registry",
    ]


def test_policy_passes_when_everything_holds():
    policy = EnvPolicy(name="production", gates=("tests",), soak=timedelta(hours=1), approval=True)
    candidate = Candidate(
        release=_release(), source="staging", landed_at=NOW - timedelta(hours=1), approved_by="a"
    )
    assert check_policy(policy, candidate, now=NOW, blocklist=Blocked()) == []


def test_an_empty_release_never_moves():
    candidate = Candidate(release=_release(release_id=""), source="dev", landed_at=NOW)
    assert check_policy(EnvPolicy(name="staging"), candidate, now=NOW, blocklist=Blocked()) == [
        "dev has no release yet (release.id is empty)"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"release: [1]\n", "'release' must be a mapping"),
        (b"models: {digits: {version: three}}\n", "models.digits.version must be an integer"),
        (b"release: {id: [unclosed\n", "not a readable release file"),
        (b"\xff\xfe", "not a readable release file"),
    ],
)
def test_bad_release_files_are_named(text, message):
    with pytest.raises(PromoteError, match=f"envs/x/release.yaml: {message}"):
        ReleaseInfo.parse(text, "envs/x/release.yaml")


def test_release_keeps_only_numeric_metrics():
    info = ReleaseInfo.parse(
        b"release: {id: '1'}\nmodels: {m: {version: 2, metrics: {f1: 0.5, ok: true, note: x}}}\n",
        "r",
    )
    assert info.models["m"].metrics == {"f1": 0.5}
    assert info.model_versions() == {"m": 2}
