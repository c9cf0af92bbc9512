"""The registry's behaviour, run against SQLite and a real PostgreSQL (parametrised)."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import settings_for

from latte.registry import (
    BlockedError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    RegistryError,
    backup_registry,
    open_registry,
    restore_registry,
    tree_digest,
)
from latte.registry.blobs import blob_key
from latte.registry.export import export_repository

pytestmark = pytest.mark.integration


def test_versions_count_up_and_the_same_digest_is_idempotent(registry, make_tree):
    first = registry.register("digits", make_tree("a"), metrics={"accuracy": 0.9})
    again = registry.register("digits", make_tree("a"))
    second = registry.register("digits", make_tree("b"))
    other = registry.register("tumor", make_tree("a", name="tumor"))
    assert (first.version, again.version, second.version, other.version) == (1, 1, 2, 1)
    assert again == first
    assert first.digest == tree_digest(make_tree("a"))
    assert [(mv.name, mv.version) for mv in registry.list()] == [
        ("digits", 1),
        ("digits", 2),
        ("tumor", 1),
    ]
    assert registry.models() == ["digits", "tumor"]
    assert [e.action for e in registry.audit("digits")] == ["register", "register"]


def test_metrics_and_lineage_round_trip(registry, make_tree):
    lineage = {"git_commit": "a" * 40, "data_digest": "sha256:" + "b" * 64, "framework.torch": 2}
    registered = registry.register(
        "digits", make_tree("a"), metrics={"f1_macro": 0.5, "n": 3}, lineage=lineage
    )
    stored = registry.get("digits", 1)
    assert stored.metrics == {"f1_macro": 0.5, "n": 3.0}
    assert stored.lineage == {**lineage, "framework.torch": "2"}
    assert stored == registered
    assert stored.created_by == "tester"
    assert json.loads(json.dumps(stored.to_dict()))["created"].endswith("Z")


def test_aliases_are_per_environment_and_moves_are_audited(registry, make_tree):
    registry.register("digits", make_tree("a"))
    registry.register("digits", make_tree("b"))
    registry.set_alias("digits", "production:champion", 1)
    registry.set_alias("digits", "staging:champion", 2)
    registry.set_alias("digits", "production:champion", 2)
    assert registry.resolve("digits", "production:champion").version == 2
    assert registry.select("digits", "staging:champion").version == 2
    assert registry.select("digits", 1).version == 1
    assert registry.aliases("digits") == {"production:champion": 2, "staging:champion": 2}
    assert registry.aliases() == {"digits/production:champion": 2, "digits/staging:champion": 2}
    moves = [e.detail for e in registry.audit("digits") if e.action == "alias"]
    assert moves[-1] == {"alias": "production:champion", "from": 1, "to": 2}
    production = [(e.detail["from"], e.version) for e in registry.history("digits", "production")]
    assert production == [(None, 1), (1, 2)]
    assert len(registry.history("digits")) == 3


def test_a_blocked_version_cannot_be_aliased_or_exported(registry, make_tree, tmp_path):
    registry.register("digits", make_tree("a"))
    registry.register("digits", make_tree("b"))
    blocked = registry.block("digits", 2, "wrong labels")
    assert blocked.blocked_reason == "wrong labels"
    assert registry.is_blocked("digits", 2)
    assert not registry.is_blocked("digits", 1)
    assert registry.block("digits", 2, "again").blocked_reason == "wrong labels"
    assert registry.latest("digits").version == 1
    with pytest.raises(BlockedError, match="digits version 2 is blocked"):
        registry.set_alias("digits", "production:champion", 2)
    with pytest.raises(BlockedError, match="blocked"):
        export_repository(registry, tmp_path / "repo", ["digits@2"])
    with pytest.raises(InvalidInputError, match="needs a reason"):
        registry.block("digits", 1, "  ")


def test_unknown_names_say_what_is_missing(registry, make_tree):
    with pytest.raises(NotFoundError, match="unknown model 'nope'"):
        registry.get("nope", 1)
    registry.register("digits", make_tree("a"))
    with pytest.raises(NotFoundError, match="'digits' has no version 9"):
        registry.get("digits", 9)
    with pytest.raises(NotFoundError, match="no alias 'production:champion'"):
        registry.resolve("digits", "production:champion")
    assert registry.find("digits", "sha256:" + "0" * 64) is None


def test_the_audit_log_rejects_update_and_delete(registry, make_tree):
    registry.register("digits", make_tree("a"))
    for statement in ("UPDATE audit SET actor = 'mallory'", "DELETE FROM audit"):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            registry.engine.begin() as connection,
        ):
            connection.execute(sa.text(statement))
    assert [e.actor for e in registry.audit()] == ["tester"]


def test_a_registered_version_is_immutable_in_the_database(registry, make_tree):
    registry.register("digits", make_tree("a"))
    for statement in (
        f"UPDATE versions SET digest = 'sha256:{'0' * 64}'",
        "UPDATE versions SET version = 7",
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="immutable"),
            registry.engine.begin() as connection,
        ):
            connection.execute(sa.text(statement))
    assert registry.block("digits", 1, "still allowed").blocked
    assert registry.get("digits", 1).digest == tree_digest(make_tree("a"))


def test_fetch_verifies_content_and_leaves_nothing_on_failure(registry, make_tree, tmp_path):
    mv = registry.register("digits", make_tree("a"))
    fetched = registry.fetch("digits", 1, tmp_path / "ok")
    assert tree_digest(fetched) == mv.digest
    blob = Path(registry.store.describe()) / blob_key(hashlib.sha256(b"a").hexdigest())
    blob.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="corrupt"):
        registry.fetch("digits", 1, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bad")]
    with pytest.raises(InvalidInputError, match="already exists"):
        registry.fetch("digits", 1, tmp_path / "ok")


def test_registering_again_restores_a_lost_tree(registry, make_tree, tmp_path):
    tree = make_tree("a")
    registry.register("digits", tree)
    shutil.rmtree(registry.store.describe())
    with pytest.raises(IntegrityError, match="missing"):
        registry.fetch("digits", 1, tmp_path / "lost")
    assert registry.register("digits", tree).version == 1
    assert tree_digest(registry.fetch("digits", 1, tmp_path / "back")) == tree_digest(tree)


def test_a_digest_mismatch_is_refused_before_anything_is_stored(registry, make_tree):
    with pytest.raises(IntegrityError, match="expected sha256:0000"):
        registry.register("digits", make_tree("a"), expected_digest="sha256:" + "0" * 64)
    assert registry.list() == []
    assert not Path(registry.store.describe()).exists()


def test_backup_restores_into_an_empty_store_and_every_digest_verifies(
    registry, registry_settings, make_tree, backend_url, tmp_path
):
    for payload in ("a", "b", "c"):
        registry.register("digits", make_tree(payload), metrics={"accuracy": 0.5})
    registry.register("tumor", make_tree("a", name="tumor"), lineage={"git_commit": "x"})
    registry.set_alias("digits", "production:champion", 2)
    registry.block("digits", 3, "bad data")
    assert backup_registry(registry, tmp_path / "backup").versions == 4

    target = settings_for(tmp_path / "elsewhere", backend_url())
    with open_registry(target) as restored:
        assert restore_registry(restored, tmp_path / "backup").versions == 4
        assert restored.list() == registry.list()
        assert restored.aliases() == registry.aliases()
        for mv in restored.list():
            fetched = restored.fetch(
                mv.name, mv.version, tmp_path / "check" / mv.name / str(mv.version)
            )
            assert tree_digest(fetched) == mv.digest
        assert restored.register("digits", make_tree("d")).version == 4
        actions = [e.action for e in restored.audit("digits")]
        assert actions[:5] == [e.action for e in registry.audit("digits")]
        assert "restore" in actions
        with pytest.raises(RegistryError, match="needs an empty registry"):
            restore_registry(restored, tmp_path / "backup")


def test_backup_refuses_a_non_empty_folder(registry, make_tree, tmp_path):
    registry.register("digits", make_tree("a"))
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "keep").write_text("x")
    with pytest.raises(InvalidInputError, match="not empty"):
        backup_registry(registry, tmp_path / "backup")


def test_eight_concurrent_registrations_get_eight_gap_free_versions(registry, make_tree):
    trees = [make_tree(f"payload-{i}") for i in range(8)]
    barrier = threading.Barrier(8)
    results: list[int] = []
    errors: list[BaseException] = []

    def register(tree: Path) -> None:
        barrier.wait()
        try:
            results.append(registry.register("digits", tree).version)
        except BaseException as exc:  # surfaced below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(tree,)) for tree in trees]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == list(range(1, 9))
    assert [mv.version for mv in registry.list("digits")] == list(range(1, 9))
    assert {mv.digest for mv in registry.list("digits")} == {tree_digest(t) for t in trees}
    assert len([e for e in registry.audit("digits") if e.action == "register"]) == 8


def test_concurrent_registrations_of_one_digest_make_one_version(registry, make_tree):
    tree = make_tree("same")
    barrier = threading.Barrier(4)
    results: list[int] = []

    def register() -> None:
        barrier.wait()
        results.append(registry.register("digits", tree).version)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1, 1, 1, 1]
    assert registry.register("digits", make_tree("next")).version == 2
