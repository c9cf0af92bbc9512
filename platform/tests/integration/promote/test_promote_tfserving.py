"""Promotion of a release with a TF Serving model, on a real git repository: it moves only
into an env that runs TF Serving, and then byte for byte (runtime and SavedModel digests)."""

import pytest
from promote_repo import git, land_release, release_text

from latte.promote import PromoteError, promote

SAVED = "sha256:" + "5" * 64
R1 = release_text("2026.11.28.1", {"digits": 1, "tumor": 1}).replace(
    '    digest: "sha256:' + "1" * 64 + '"\n    framework: pytorch\n    metrics: {f1_macro: 0.91}\n'
    "bench:",
    '    digest: "sha256:' + "1" * 64 + '"\n    framework: pytorch\n    metrics: {f1_macro: 0.91}\n'
    f'    runtime: tfserving\n    savedModels: {{"1": "{SAVED}"}}\nbench:',
)


def _enable(work, env):
    values = work / "gitops" / "envs" / env / "values.yaml"
    values.write_text(values.read_text() + "tfServing: {enabled: true}\n")
    git(work, "commit", "--quiet", "-am", f"{env} runs TF Serving")
    git(work, "push", "--quiet", "origin", "main")


def test_a_tfserving_model_moves_only_into_an_env_running_tf_serving(work, workspace):
    assert "runtime: tfserving" in R1  # the tumor entry (the last model) carries the runtime
    land_release(work, "dev", R1)
    with pytest.raises(PromoteError) as refused:
        promote(workspace(), target="staging")
    message = str(refused.value)
    assert message.startswith("gitops/envs/staging/release.yaml: models.tumor.runtime: tfserving")
    assert "tfServing.enabled is false in this env" in message
    assert "\n" not in message
    assert git(work, "branch", "--list", "promote/*") == ""  # nothing written

    _enable(work, "staging")
    staged = promote(workspace(), target="staging")
    assert staged.state == "opened"
    shown = git(work, "show", f"{staged.branch}:gitops/envs/staging/release.yaml")
    assert shown == R1.rstrip("\n")
