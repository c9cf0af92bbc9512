"""The one release-file model: the keys policy needs, every other key kept, errors by class."""

from __future__ import annotations

import pytest

from latte.errors import LatteError
from latte.promote import PromoteError, ReleaseInfo
from latte.release import ReleaseError
from latte.release.writer import CurrentRelease
from latte.releasefile import ReleaseFile

DATA = b"""\
release: {id: "2026.11.30.1", created: "2026-11-30T05:00:00Z", commit: abc, gates: {tests: ok}}
models:
  digits: {version: 2, digest: "sha256:bb", artifacts: {"1": "sha256:aa", "2": "sha256:bb"}}
routing:
  digits: {stable: 1, versions: {"1": 90, "2": 10}}
"""


def test_parsed_keys_and_the_whole_content():
    release = ReleaseFile.parse(DATA, "dev/release.yaml")
    assert (release.id, release.commit, release.gates) == (
        "2026.11.30.1",
        "abc",
        {"tests": "ok"},
    )
    assert release.model_versions() == {"digits": 2}
    # keys the model does not name (a later release format's) are kept, not dropped
    assert release.content["models"]["digits"]["artifacts"] == {"1": "sha256:aa", "2": "sha256:bb"}
    assert release.content["routing"]["digits"]["stable"] == 1


def test_a_missing_file_is_an_empty_release(tmp_path):
    release = CurrentRelease.read(tmp_path / "release.yaml")
    assert (release.id, release.models, release.content) == ("", {}, {})


@pytest.mark.parametrize(
    ("model", "error"),
    [(ReleaseFile, LatteError), (ReleaseInfo, PromoteError), (CurrentRelease, ReleaseError)],
)
def test_each_package_gets_its_own_error_class(model, error):
    with pytest.raises(error, match=r"x\.yaml: 'models' must be a mapping"):
        model.parse(b"models: [1]\n", "x.yaml")
    with pytest.raises(error, match=r"x\.yaml: models\.m\.version must be an integer"):
        model.parse(b"models: {m: {version: two}}\n", "x.yaml")
