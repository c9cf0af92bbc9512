from latte.promote.describe import Move, commit_message, pull_body, pull_title
from latte.promote.history import HEADER, append_entry, render_entry
from latte.promote.release import ModelPin, ReleaseInfo

ENTRY = {"id": "2026.11.30.1", "created": "2026-11-30T06:00:00Z", "commit": "c" * 40,
         "action": "promote", "models": {"digits": 3}, "from": "dev"}  # fmt: skip
EXISTING = (
    "# log; do not edit\n"
    "history:\n"
    "  - id: '2026.11.29.1'   # hand-spaced comment kept\n"
    "    created: 2026-11-29T05:00:00Z\n"
    "    action: release\n"
    "    models: {digits: 2}\n"
)


def test_append_keeps_every_earlier_byte():
    out = append_entry(EXISTING.encode(), ENTRY, "h.yaml").decode()
    assert out.startswith(EXISTING)
    assert out[len(EXISTING) :] == render_entry(ENTRY)
    assert "    models: {digits: 3}\n    from: dev\n" in out


def test_append_follows_the_existing_indent():
    flat = "history:\n- id: a\n  action: release\n"
    out = append_entry(flat.encode(), {"id": "b", "action": "promote"}, "h.yaml").decode()
    assert out == flat + '- id: "b"\n  action: promote\n'


def test_missing_or_empty_history_starts_the_file():
    assert append_entry(None, {"id": "a"}, "h.yaml").decode() == HEADER + '  - id: "a"\n'
    assert append_entry(b"", {"id": "a"}, "h.yaml").decode() == HEADER + '  - id: "a"\n'


def test_a_fresh_empty_list_is_opened_in_place():
    out = append_entry(b"# keep me\nhistory: []\n", {"id": "a"}, "h.yaml").decode()
    assert out == '# keep me\nhistory:\n  - id: "a"\n'


def test_an_odd_layout_is_round_tripped_keeping_the_comment():
    out = append_entry(b"# keep me\nhistory: [] # why\n", {"id": "a"}, "h.yaml").decode()
    assert out.startswith("# keep me\nhistory:")
    assert "# why" in out
    assert "- id: a" in out


def test_broken_history_is_refused():
    import pytest

    from latte.promote import PromoteError

    with pytest.raises(PromoteError, match=r"h\.yaml: 'history' must be a list"):
        append_entry(b"history: 3\n", {"id": "a"}, "h.yaml")
    with pytest.raises(PromoteError, match=r"h\.yaml: not valid YAML"):
        append_entry(b"history: [\n", {"id": "a"}, "h.yaml")


def _info(release_id, version, f1, p95):
    pin = ModelPin(name="digits", version=version, digest=f"sha256:{version}", metrics={"f1": f1})
    return ReleaseInfo(
        id=release_id, created="", commit="d" * 40, gates={"tests": "passed"},
        models={"digits": pin}, bench={"digits": {"p95Ms": p95, "device": "cpu"}},
    )  # fmt: skip


def test_rollback_title_trailers_and_deltas():
    move = Move(
        action="rollback", target="staging", source="staging", source_commit="e" * 40,
        release=_info("1", 1, 0.8, 4.0), current=_info("2", 2, 0.9, 5.0), reason="slow\nreally",
    )  # fmt: skip
    assert pull_title(move) == "rollback(staging): back to release 1 from 2"
    message = commit_message(move)
    assert "Latte-Reason: slow really" in message
    assert "Latte-Approved-By" not in message
    body = pull_body(move, ["tests", "slo"], ["restores it"])
    assert "| digits | f1 | 0.9 | 0.8 | -0.1 (-11.1%) |" in body
    assert "| digits | p95Ms | 5 | 4 | -1 (-20.0%) |" in body
    assert "device" not in body
    assert "| slo | missing |" in body
    assert body.rstrip().endswith("Reason: slow\nreally")


def test_a_first_promotion_shows_new_values():
    empty = ReleaseInfo.empty()
    move = Move(action="promote", target="staging", source="dev", source_commit="e" * 40,
                release=_info("1", 1, 0.8, 4.0), current=empty)  # fmt: skip
    body = pull_body(move, [], [])
    assert "`(none)` -> `1`" in body
    assert "| digits | f1 | - | 0.8 | new |" in body
    assert "| digits | - | v1 | `sha256:1` |" in body


def test_words_that_yaml_would_misread_stay_quoted():
    text = render_entry({"id": "7", "action": "no", "reason": "p95 doubled", "from": "qa-1"})
    assert text == ('  - id: "7"\n    action: "no"\n    reason: "p95 doubled"\n    from: qa-1\n')
