"""The S3 remote cache against a real S3 API server (moto) on 127.0.0.1."""

from __future__ import annotations

import io
import json

import pytest
from tasks_repo import write_repo

from latte.config import load_settings
from latte.s3 import S3Location, make_client
from latte.tasks import run_targets
from latte.tasks.progress import PlainReporter

pytestmark = pytest.mark.integration
ENV = {"PATH": "/usr/bin:/bin"}


@pytest.fixture
def remote_env(s3_settings_env, request):
    bucket = "latte-cache-" + request.node.name.replace("_", "-")[:40].lower().strip("-")
    return {**s3_settings_env, "LATTE_REMOTE_CACHE_URL": f"s3://{bucket}/tasks"}


def run(settings, **kwargs):
    out = io.StringIO()
    report = run_targets(
        settings, ["//..."], environ=ENV, reporter=PlainReporter(out=out, err=out), **kwargs
    )
    return {r.label: r.status for r in report.results}, out.getvalue()


def test_second_clone_restores_from_the_remote_written_by_the_first(tmp_path, remote_env):
    writer = load_settings(root=write_repo(tmp_path / "ci"), environ=remote_env)
    built, _ = run(writer, remote_write=True)
    assert set(built.values()) == {"built"}
    reader_root = write_repo(tmp_path / "laptop")
    reader = load_settings(root=reader_root, environ=remote_env)
    fetched, text = run(reader)
    assert set(fetched.values()) == {"remote"}
    assert "  | note from top" in text  # logs come from the remote too
    assert (reader_root / "build/b/top/data.txt").read_bytes() == (
        tmp_path / "ci/build/b/top/data.txt"
    ).read_bytes()
    again, _ = run(reader)
    assert set(again.values()) == {"cached"}  # now in the local cache


def test_nothing_is_uploaded_without_remote_write(tmp_path, remote_env):
    writer = load_settings(root=write_repo(tmp_path / "ci"), environ=remote_env)
    run(writer)
    reader = load_settings(root=write_repo(tmp_path / "laptop"), environ=remote_env)
    fetched, _ = run(reader)
    assert set(fetched.values()) == {"built"}


def test_setting_remote_cache_write_allows_uploads(tmp_path, remote_env):
    env = {**remote_env, "LATTE_REMOTE_CACHE_WRITE": "true"}
    run(load_settings(root=write_repo(tmp_path / "ci"), environ=env))
    fetched, _ = run(load_settings(root=write_repo(tmp_path / "laptop"), environ=remote_env))
    assert set(fetched.values()) == {"remote"}


def test_corrupt_remote_blob_is_a_warning_and_a_correct_rebuild(tmp_path, remote_env):
    writer = load_settings(root=write_repo(tmp_path / "ci"), environ=remote_env)
    run(writer, remote_write=True)
    location = S3Location.parse(remote_env["LATTE_REMOTE_CACHE_URL"])
    client = make_client(writer)
    digest = _digest_of(writer.root / "build/b/solo/data.txt")
    poisoned = b"poisoned\n"
    client.put_object(
        location.bucket, location.key("cas", digest), io.BytesIO(poisoned), len(poisoned)
    )
    reader_root = write_repo(tmp_path / "laptop")
    fetched, text = run(load_settings(root=reader_root, environ=remote_env))
    assert fetched["//b:solo"] == "built"
    assert fetched["//a:gen"] == "remote"
    assert f"remote blob {digest[:12]} does not match its digest (corrupt); rebuilding" in text
    assert (reader_root / "build/b/solo/data.txt").read_text() == "solo\n"


def test_unreachable_remote_warns_once_and_builds_locally(tmp_path, s3_settings_env):
    from servers import free_port

    env = {
        **s3_settings_env,
        "LATTE_S3_ENDPOINT": f"127.0.0.1:{free_port()}",
        "LATTE_REMOTE_CACHE_URL": "s3://latte-cache/tasks",
    }
    settings = load_settings(root=write_repo(tmp_path / "offline"), environ=env)
    # minio retries a refused connection a few times: one target keeps the test short
    out = io.StringIO()
    report = run_targets(
        settings, ["//b:solo"], environ=ENV, reporter=PlainReporter(out=out, err=out)
    )
    assert report.ok
    assert out.getvalue().count("continuing without it") == 1


def _digest_of(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_remote_blob_or_bad_entry_is_a_warning_and_a_rebuild(tmp_path, remote_env):
    writer = load_settings(root=write_repo(tmp_path / "ci"), environ=remote_env)
    run(writer, remote_write=True)
    location = S3Location.parse(remote_env["LATTE_REMOTE_CACHE_URL"])
    client = make_client(writer)
    digest = _digest_of(writer.root / "build/b/solo/data.txt")
    client.remove_object(location.bucket, location.key("cas", digest))
    gen_entry = next(
        o.object_name
        for o in client.list_objects(location.bucket, prefix=location.key("ac") + "/")
        if b'"label": "//a:gen"' in client.get_object(location.bucket, o.object_name).read()
    )
    client.put_object(location.bucket, gen_entry, io.BytesIO(b"{broken"), 7)
    reader_root = write_repo(tmp_path / "laptop")
    fetched, text = run(load_settings(root=reader_root, environ=remote_env))
    assert fetched["//b:solo"] == "built"
    assert fetched["//a:gen"] == "built"
    assert f"remote blob {digest[:12]} is missing; rebuilding" in text
    assert "is not valid JSON; treating it as a miss" in text
    assert (reader_root / "build/b/top/data.txt").read_text() == "use\none\ntwo\nsolo\n"


def test_malicious_remote_entry_cannot_write_outside_its_outputs(tmp_path, remote_env):
    writer = load_settings(root=write_repo(tmp_path / "ci"), environ=remote_env)
    run(writer, remote_write=True)
    location = S3Location.parse(remote_env["LATTE_REMOTE_CACHE_URL"])
    client = make_client(writer)
    for item in client.list_objects(location.bucket, prefix=location.key("ac") + "/"):
        entry = json.loads(client.get_object(location.bucket, item.object_name).read())
        entry["outputs"][0]["path"] = "../../escaped"
        data = json.dumps(entry).encode()
        client.put_object(location.bucket, item.object_name, io.BytesIO(data), len(data))
    reader_root = write_repo(tmp_path / "laptop")
    fetched, text = run(load_settings(root=reader_root, environ=remote_env))
    assert set(fetched.values()) == {"built"}
    assert "remote cache entry" in text
    assert "is malformed; rebuilding" in text
    assert not (tmp_path / "escaped").exists()
