import os
import shutil
from pathlib import Path

import pytest

from latte.gitops.helm import find_helm

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="session")
def helm():
    """The real helm: from PATH, else unpacked (once) into the repo's git-ignored tools folder."""
    return find_helm(REPO / ".latte" / "tools")


@pytest.fixture(scope="session")
def crd_dir():
    """The Argo CD / Rollouts CRDs (LATTE_CRD_SCHEMAS, else ../shared/schemas beside the repo)."""
    configured = os.environ.get("LATTE_CRD_SCHEMAS", "")
    folder = Path(configured) if configured else REPO.parent / "shared" / "schemas"
    folder = folder if folder.is_absolute() else REPO / folder
    if not folder.is_dir():
        pytest.skip(f"Argo CRD schemas not available ({folder}): CRD checks not run")
    return folder


@pytest.fixture
def gitops_repo(tmp_path):
    """A copy of the repository's gitops/ folder (plus latte.toml) to plant problems in."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "gitops", root / "gitops")
    (root / "latte.toml").write_text("")
    return root
