"""Backup chains on real PostgreSQL and an S3 API server (moto): incremental, retention,
restore verified by digest, and every refusal leaving source and target as they were."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest
from conftest import fresh_database, settings_for
from minio import Minio
from servers import free_port

from latte.cli import main
from latte.registry import (
    IntegrityError,
    InvalidInputError,
    RegistryError,
    backup_registry,
    open_registry,
    restore_registry,
    tree_digest,
)
from latte.registry.backup import list_snapshots, open_target
from latte.registry.blobs import blob_key, manifest_key

pytestmark = pytest.mark.integration


@pytest.fixture
def bucket() -> str:
    return f"latte-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(s3_endpoint) -> Minio:
    return Minio(s3_endpoint, "testing", "testing", secure=False, region="us-east-1")


@pytest.fixture
def make_settings(tmp_path, postgres_server, s3_endpoint, bucket):
    """Settings for a new registry: a fresh PostgreSQL database and a fresh S3 prefix."""
    counter = iter(range(100))

    def make():
        n = next(counter)
        return settings_for(
            tmp_path / f"p{n}",
            fresh_database(postgres_server),
            f"s3://{bucket}/store{n}",
            s3_endpoint=s3_endpoint,
            s3_secure="false",
            s3_access_key="testing",
            s3_secret_key="testing",
        )

    return make


def keys(client: Minio, bucket: str, prefix: str) -> dict[str, str]:
    """Every object under ``prefix`` -> its ETag (so "untouched" compares content too)."""
    if not client.bucket_exists(bucket):
        return {}
    found = client.list_objects(bucket, prefix + "/", recursive=True)
    return {str(o.object_name): str(o.etag) for o in found}


def test_second_backup_sends_only_new_blobs_and_restore_verifies_every_digest(
    make_settings, make_tree, client, bucket, tmp_path
):
    settings = make_settings()
    with open_registry(settings, actor="tester") as registry:
        trees = [make_tree(payload * 1000) for payload in ("a", "b", "c")]
        for tree in trees:
            registry.register("digits", tree, metrics={"accuracy": 0.9})
        registry.set_alias("digits", "production:champion", 2)
        chain = open_target(f"s3://{bucket}/chain", settings)
        first = backup_registry(registry, chain)
        # config.pbtxt is one blob shared by all three trees: 3 model files + 1 config
        assert (first.versions, first.trees_copied, first.trees_reused) == (3, 3, 0)
        config = len((trees[0] / "config.pbtxt").read_bytes())
        assert (first.blobs_sent, first.bytes_sent) == (4, 3000 + config)

        registry.register("digits", make_tree("d" * 1000))
        second = backup_registry(registry, chain)
        assert (second.versions, second.trees_copied, second.trees_reused) == (4, 1, 3)
        assert (second.blobs_sent, second.bytes_sent) == (1, 1000)
        assert list_snapshots(chain) == [first.snapshot, second.snapshot]
        originals = registry.list()

    fresh = make_settings()
    with open_registry(fresh) as restored:
        result = restore_registry(restored, open_target(f"s3://{bucket}/chain", fresh))
        assert (result.snapshot, result.versions) == (second.snapshot, 4)
        assert restored.list() == originals
        assert restored.aliases("digits") == {"production:champion": 2}
        for mv in restored.list():
            fetched = restored.fetch("digits", mv.version, tmp_path / "check" / str(mv.version))
            assert tree_digest(fetched) == mv.digest

    older = make_settings()
    with open_registry(older) as restored:
        chain = open_target(f"s3://{bucket}/chain", older)
        result = restore_registry(restored, chain, snapshot=first.snapshot)
        assert [mv.version for mv in restored.list()] == [1, 2, 3]
        assert restored.register("digits", make_tree("e")).version == 4  # counter restored


def test_retention_keeps_the_newest_snapshots_and_every_blob_they_reference(
    make_settings, make_tree, client, bucket
):
    settings = make_settings()
    chain = open_target(f"s3://{bucket}/chain", settings)
    with open_registry(settings) as registry:
        snapshots = []
        for payload in ("a", "b", "c"):
            registry.register("digits", make_tree(payload))
            snapshots.append(backup_registry(registry, chain, keep=2).snapshot)
        assert list_snapshots(chain) == snapshots[1:]
        # a killed backup's leftovers: a blob and a tree no snapshot references
        orphan = hashlib.sha256(b"orphan").hexdigest()
        client.put_object(bucket, f"chain/{blob_key(orphan)}", _stream(b"orphan"), 6)
        client.put_object(bucket, f"chain/{manifest_key('sha256:' + orphan)}", _stream(b"{}"), 2)
        registry.register("digits", make_tree("d"))
        result = backup_registry(registry, chain, keep=2)
        assert result.pruned == (snapshots[1],)
        assert result.blobs_deleted == 1
    stored = keys(client, bucket, "chain")
    assert f"chain/{blob_key(orphan)}" not in stored
    assert f"chain/{manifest_key('sha256:' + orphan)}" not in stored
    for snapshot in list_snapshots(chain):  # every kept snapshot still restores, verified
        target = make_settings()
        with open_registry(target) as restored:
            restore_registry(
                restored, open_target(f"s3://{bucket}/chain", target), snapshot=snapshot
            )
            assert restored.list()


def _stream(data: bytes):
    import io

    return io.BytesIO(data)


def test_a_target_that_is_not_a_chain_or_another_registrys_chain_is_refused_untouched(
    make_settings, make_tree, client, bucket
):
    settings = make_settings()
    with open_registry(settings) as registry:
        registry.register("digits", make_tree("a"))
        client.put_object(bucket, "other/report.csv", _stream(b"x"), 1)
        before = keys(client, bucket, "other")
        with pytest.raises(InvalidInputError, match="is not empty and is not a latte backup"):
            backup_registry(registry, open_target(f"s3://{bucket}/other", settings))
        assert keys(client, bucket, "other") == before
        backup_registry(registry, open_target(f"s3://{bucket}/chain", settings))

    stranger = make_settings()
    with open_registry(stranger) as registry:
        registry.register("digits", make_tree("z"))
        before = keys(client, bucket, "chain")
        with pytest.raises(InvalidInputError, match="chain of another registry"):
            backup_registry(registry, open_target(f"s3://{bucket}/chain", stranger))
        assert keys(client, bucket, "chain") == before


def test_a_restore_into_a_non_empty_registry_is_refused_and_changes_nothing(
    make_settings, make_tree, client, bucket
):
    settings = make_settings()
    with open_registry(settings) as registry:
        registry.register("digits", make_tree("a"))
        backup_registry(registry, open_target(f"s3://{bucket}/chain", settings))
        stored = keys(client, bucket, "store0")
        with pytest.raises(RegistryError, match="restore needs an empty registry"):
            restore_registry(registry, open_target(f"s3://{bucket}/chain", settings))
        assert [mv.version for mv in registry.list()] == [1]
        assert keys(client, bucket, "store0") == stored


@pytest.mark.parametrize("damage", ["blob", "manifest", "missing tree"])
def test_a_backup_whose_manifest_does_not_match_its_blobs_restores_nothing(
    make_settings, make_tree, client, bucket, damage
):
    settings = make_settings()
    with open_registry(settings) as registry:
        registry.register("digits", make_tree("a"))
        mv = registry.register("digits", make_tree("b"))
        backup_registry(registry, open_target(f"s3://{bucket}/chain", settings))
    model_blob = f"chain/{blob_key(hashlib.sha256(b'b').hexdigest())}"
    manifest = f"chain/{manifest_key(mv.digest)}"
    if damage == "blob":
        client.put_object(bucket, model_blob, _stream(b"B"), 1)
    elif damage == "manifest":  # points the model file at another (valid) blob
        text = client.get_object(bucket, manifest).read()
        swapped = text.replace(
            hashlib.sha256(b"b").hexdigest().encode(), hashlib.sha256(b"a").hexdigest().encode()
        )
        client.put_object(bucket, manifest, _stream(swapped), len(swapped))
    else:
        client.remove_object(bucket, manifest)
    backup = keys(client, bucket, "chain")

    target = make_settings()
    with open_registry(target) as restored:
        with pytest.raises(IntegrityError, match=r"sha256|does not hold") as caught:
            restore_registry(restored, open_target(f"s3://{bucket}/chain", target))
        assert "\n" not in str(caught.value)
        assert restored.list() == []
        assert keys(client, bucket, "store1") == {}  # the first tree was copied, then undone
    assert keys(client, bucket, "chain") == backup


def run(capsys, *argv):
    code = main(["registry", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path, monkeypatch, s3_settings_env):
    (tmp_path / "latte.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    for name, value in s3_settings_env.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def test_cli_backup_keep_snapshots_and_restore_through_s3(
    project, postgres_server, make_tree, capsys, bucket, client
):
    source = ["--registry-url", fresh_database(postgres_server)]
    assert run(capsys, *source, "register", "digits", str(make_tree("a")))[0] == 0
    code, out, _ = run(capsys, *source, "backup", f"s3://{bucket}/chain", "--keep", "1")
    assert code == 0
    assert "backed up 1 versions" in out
    assert "1 trees copied, 0 already there, 2 blobs" in out
    assert run(capsys, *source, "register", "digits", str(make_tree("b")))[0] == 0
    code, out, _ = run(capsys, *source, "backup", f"s3://{bucket}/chain", "--keep", "1")
    assert "1 trees copied, 1 already there, 1 blobs (1 bytes) sent" in out
    assert "pruned 1 old snapshots and 0 blobs (keeping 1)" in out
    code, out, _ = run(capsys, "snapshots", f"s3://{bucket}/chain")
    assert (code, len(out.splitlines())) == (0, 1)

    target = ["--registry-url", fresh_database(postgres_server)]
    target += ["--artifact-store-url", f"s3://{bucket}/restored"]
    code, out, _ = run(capsys, *target, "restore", f"s3://{bucket}/chain")
    assert (code, out.split(" (")[0]) == (0, f"restored 2 versions from s3://{bucket}/chain")
    code, out, _ = run(capsys, *target, "list", "--json")
    assert [mv["version"] for mv in json.loads(out)] == [1, 2]


def test_cli_an_unreachable_database_during_backup_writes_nothing(project, capsys, bucket, client):
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    code, _, err = run(capsys, "--registry-url", dead, "backup", f"s3://{bucket}/chain")
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("latte: error:")
    assert keys(client, bucket, "chain") == {}


def test_cli_bad_backup_arguments_are_one_line(project, capsys, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("mine")
    code, _, err = run(capsys, "backup", "notes")
    assert (code, err.count("\n")) == (2, 1)
    assert "is not empty and is not a latte backup chain" in err
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["a.txt"]
    code, _, err = run(capsys, "backup", "b", "--keep", "0")
    assert code == 2
    assert "positive integer" in err
    code, _, err = run(capsys, "snapshots", "notes")
    assert code == 2
    assert "notes is not a readable latte registry backup (no latte-backup.json)" in err
    assert run(capsys, "backup", "b")[0] == 0
    code, _, err = run(capsys, "restore", "b", "--snapshot", "nope")
    assert code == 2
    assert "has no snapshot 'nope'" in err
    (snapshot,) = Path("b/snapshots").iterdir()
    snapshot.write_text("{not json")
    code, _, err = run(capsys, "restore", "b")
    assert code == 2
    assert f"snapshots/{snapshot.name} in b is not a readable latte registry backup" in err
    code, _, err = run(capsys, "restore", "c", "--snapshot", "nope")
    assert code == 2
    assert "is not a readable latte registry backup" in err
    assert not Path("c").exists()


def test_a_backup_failing_midway_deletes_what_it_wrote(make_settings, make_tree, client, bucket):
    settings = make_settings()
    with open_registry(settings) as registry:
        registry.register("digits", make_tree("a"))
        chain = open_target(f"s3://{bucket}/chain", settings)
        backup_registry(registry, chain)
        before = keys(client, bucket, "chain")
        registry.register("digits", make_tree("b"))
        registry.register("digits", make_tree("c"))
        # the newest tree's model blob rots in the registry's store: verified on the way out
        rotten = f"store0/{blob_key(hashlib.sha256(b'c').hexdigest())}"
        client.put_object(bucket, rotten, _stream(b"C"), 1)
        with pytest.raises(IntegrityError, match="is corrupt"):
            backup_registry(registry, chain)
        assert keys(client, bucket, "chain") == before  # tree b was copied, then undone
        with pytest.raises(IntegrityError):
            backup_registry(registry, open_target(f"s3://{bucket}/fresh", settings))
        assert keys(client, bucket, "fresh") == {}  # not even the marker stays


def test_a_folder_backup_from_before_chains_still_restores(registry, make_tree, tmp_path):
    """The old layout: registry.json (format /1) beside a content-addressed artifacts/."""
    from latte.registry.artifacts import folder_store
    from latte.registry.backup import _snapshot
    from latte.registry.blobs import copy_tree

    for payload in ("a", "b"):
        registry.register("digits", make_tree(payload))
    _, document = _snapshot(registry)
    old = tmp_path / "old-backup"
    for mv in registry.list():
        copy_tree(registry.store, folder_store(old / "artifacts"), mv.digest)
    document["format"] = "latte-registry-backup/1"
    del document["taken_at"]
    (old / "registry.json").write_text(json.dumps(document))
    target = settings_for(tmp_path / "elsewhere", f"sqlite:///{tmp_path}/old.db")
    with open_registry(target) as restored:
        assert restore_registry(restored, old).versions == 2
        assert restored.list() == registry.list()


def test_a_registration_committing_during_the_snapshot_is_wholly_outside_it(
    make_settings, make_tree, bucket, monkeypatch
):
    """Counters and versions come from one view: a version committed between the two reads
    must not appear without its counter (a restored registry would reuse its number)."""
    from latte.registry import _queries

    settings = make_settings()
    with open_registry(settings) as registry, open_registry(settings) as other:
        registry.register("digits", make_tree("a"))
        real = _queries.load_versions
        pending = [make_tree("b")]

        def load_after_a_commit(connection, where):
            if pending:  # once: register() itself reads versions too
                other.register("digits", pending.pop())  # commits on its own connection
            return real(connection, where)

        monkeypatch.setattr(_queries, "load_versions", load_after_a_commit)
        result = backup_registry(registry, open_target(f"s3://{bucket}/chain", settings))
        monkeypatch.setattr(_queries, "load_versions", real)
        assert result.versions == 1
        target = make_settings()
        with open_registry(target) as restored:
            restore_registry(restored, open_target(f"s3://{bucket}/chain", target))
            assert restored.register("digits", make_tree("c")).version == 2
