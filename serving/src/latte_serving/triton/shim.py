"""Turn an ONNX Runtime model repository into one the python-backend-only Triton can load.

The tritonserver shipped in the nvidia-pytriton wheel has only the python backend. For each
model not already on the python backend (``platform: "onnxruntime_onnx"``, or a TorchScript
model that ``latte build`` also exported as model.onnx) the shim keeps the config text as
written (name, versions, tensors, dims, max_batch_size, dynamic_batching) and only swaps the
platform for ``backend: "python"``, moves GPU instance groups to CPU, and puts a model.py
that runs model.onnx with ONNX Runtime beside each version's model.onnx. Models already on
the python backend are copied unchanged.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from latte_contracts.atomic import move_into_place
from latte_serving.errors import ConfigFileError
from latte_serving.repository import load_model
from latte_serving.triton._model_py import MODEL_PY

__all__ = ["shim_repository"]

logger = logging.getLogger("latte_serving.triton")

# any platform / non-python backend line: the model is served from its model.onnx instead
_PLATFORM = re.compile(r'^\s*platform\s*:\s*"[^"]*"\s*$', re.MULTILINE)
_BACKEND = re.compile(r'^\s*backend\s*:\s*"(?!python")[^"]*"\s*$', re.MULTILINE)
_PYTHON_BACKEND = re.compile(r'^\s*backend\s*:\s*"python"\s*$', re.MULTILINE)
_DEFAULT_FILE = re.compile(r'^\s*default_model_filename\s*:\s*"[^"]*"\s*$', re.MULTILINE)
# ONNX Runtime's execution accelerators mean nothing to the python backend.
_OPTIMIZATION = re.compile(r"^optimization\s*\{.*?^\}\s*$", re.MULTILINE | re.DOTALL)


def shim_repository(source: Path, target: Path) -> None:
    """Write a python-backend copy of the repository ``source`` into ``target``.

    ``target`` must not exist or be empty; it is written in a sibling temp folder and
    renamed into place, so a failure never leaves half a repository behind. Models with no
    model.onnx at all (a TorchScript-only export) are left out with a warning.
    """
    source, target = Path(source), Path(target)
    folders = (
        sorted(p for p in source.iterdir() if (p / "config.pbtxt").is_file())
        if (source.is_dir())
        else []
    )
    if not folders:
        raise ConfigFileError(
            f"{source} holds no <model>/config.pbtxt; point shim_repository at a model "
            "repository written by 'latte build' or 'latte registry export-repo'"
        )
    if target.exists() and any(target.iterdir()):
        raise ConfigFileError(f"{target} is not empty; pass a new folder as the shim target")
    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        written = [folder for folder in folders if _shim_model(folder, staging / folder.name)]
        if not written:
            raise ConfigFileError(
                f"no model in {source} has a model.onnx the python backend could serve; "
                "export the models to ONNX ('latte build') first"
            )
        if target.exists():
            target.rmdir()
        move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _shim_model(folder: Path, target: Path) -> bool:
    """Write one model; False when it has no ONNX file at all (e.g. TorchScript only)."""
    spec = load_model(folder)  # validates the config before anything is written
    text = (folder / "config.pbtxt").read_text(encoding="utf-8")
    if _PYTHON_BACKEND.search(text):
        shutil.copytree(folder, target, symlinks=False)
        return True
    versions = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    missing = [v for v in versions if not (v / "model.onnx").is_file()]
    if versions and len(missing) == len(versions):
        # another format for another Triton backend (the build also exports TorchScript)
        logger.warning("shim skips %s: no model.onnx to serve with ONNX Runtime", spec.name)
        return False
    if missing:
        raise ConfigFileError(
            f"{missing[0]} has no model.onnx while other versions of {spec.name!r} do; "
            "re-export that version"
        )
    target.mkdir()
    for version_dir in versions:
        onnx_file = version_dir / "model.onnx"
        out = target / version_dir.name
        out.mkdir()
        shutil.copy2(onnx_file, out / "model.onnx")
        (out / "model.py").write_text(MODEL_PY, encoding="utf-8")
    (target / "config.pbtxt").write_text(_python_config(text), encoding="utf-8")
    return True


def _python_config(text: str) -> str:
    # a config may name both the platform and the backend: keep exactly one backend line
    text = _DEFAULT_FILE.sub("", _BACKEND.sub("", text))
    if _PLATFORM.search(text):
        text = _PLATFORM.sub('backend: "python"', text, count=1)
        text = _PLATFORM.sub("", text)
    else:
        text = 'backend: "python"\n' + text
    text = _OPTIMIZATION.sub("", text)
    return text.replace("KIND_GPU", "KIND_CPU")
