"""Killing a registration between artifact upload and metadata commit leaves no half version."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from latte.registry import open_registry, tree_digest
from latte.registry.blobs import has_tree

pytestmark = pytest.mark.integration

_SCRIPT = Path(__file__).with_name("crash_register.py")


def _run_until_uploaded(registry_settings, tree: Path, marker: Path) -> None:
    command = [
        sys.executable,
        str(_SCRIPT),
        str(registry_settings.root),
        registry_settings.registry_url,
        registry_settings.artifact_store_url,
        str(tree),
        str(marker),
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if process.poll() is not None:
                pytest.fail(f"registration exited early: {process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("registration never reached the upload hook")
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def test_kill_after_upload_leaves_no_version_and_a_rerun_completes(
    registry_settings, make_tree, tmp_path
):
    tree = make_tree("a")
    _run_until_uploaded(registry_settings, tree, tmp_path / "uploaded")
    digest = tree_digest(tree)
    assert (tmp_path / "uploaded").read_text() == digest
    with open_registry(registry_settings) as registry:
        assert has_tree(registry.store, digest), "the kill came after the upload"
        assert registry.list() == []
        assert registry.audit() == []
        mv = registry.register("digits", tree)
        assert (mv.version, mv.digest) == (1, digest)
        assert registry.register("digits", make_tree("b")).version == 2
        assert [e.action for e in registry.audit()] == ["register", "register"]
