from datetime import UTC, datetime

import pytest
from promote_fake_github import TOKEN, FakeGitHub, serve
from promote_repo import make_repo

from latte.config import load_settings
from latte.promote import Git, Workspace
from latte.registry import open_registry


@pytest.fixture
def work(tmp_path):
    return make_repo(tmp_path)


@pytest.fixture
def settings(work, tmp_path):
    environ = {
        "LATTE_REGISTRY_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "LATTE_ARTIFACT_STORE_URL": str(tmp_path / "artifacts"),
    }
    return load_settings(root=work, environ=environ)


@pytest.fixture
def registry(settings, tmp_path):
    """The real registry (SQLite + local store) holding digits v1..v3 and tumor v1."""
    with open_registry(settings, actor="test") as reg:
        for name, count in (("digits", 3), ("tumor", 1)):
            for n in range(1, count + 1):
                tree = tmp_path / "trees" / name / str(n)
                (tree / "1").mkdir(parents=True)
                (tree / "config.pbtxt").write_text(f'name: "{name}"\n')
                (tree / "1" / "model.onnx").write_bytes(f"{name} weights {n}".encode())
                assert reg.register(name, tree).version == n
        yield reg


@pytest.fixture
def workspace(work, registry):
    def make(*, forge=None, push=True, now=None):
        return Workspace.open(
            Git(work), base="main", remote="origin", push=push, blocklist=registry,
            forge=forge, now=now or datetime.now(UTC),
        )  # fmt: skip

    return make


@pytest.fixture
def github(tmp_path):
    """A fake GitHub API on 127.0.0.1 (repo example/latte) and an httpx client for it."""
    import httpx

    fake = FakeGitHub("example/latte", tmp_path / "remote.git")
    server, url = serve(fake)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        yield fake, client, url
    server.shutdown()
    server.server_close()
