import pytest
from tasks_repo import write_repo

from latte.config import load_settings


@pytest.fixture
def repo(tmp_path):
    return write_repo(tmp_path / "repo")


@pytest.fixture
def settings(repo):
    return load_settings(root=repo, environ={})
