"""What the task runner's key must hold for a benchmark, as environment variables.

A bench target cannot list the model build as a dependency: that target's key names torch and
TensorFlow versions, which the benchmark's environment does not have, so the runner would
try to rebuild the model there. Instead ``latte bench`` asks ``python -m latte_loadtests
key-env`` for content digests of what a benchmark measures and passes them as the targets'
``env`` entries: the serving device, the gateway's code and each built model's folder. A run
with ``--require-key-env`` recomputes them and refuses when any is missing or stale, so a
cached result is never filed under a key that does not describe it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from latte_contracts import digest
from latte_contracts.errors import DigestError
from latte_contracts.layout import BuildLayout
from latte_loadtests.errors import BenchUsageError

__all__ = ["DEVICE_ENV", "SERVING_ENV", "check_key_env", "key_env", "model_env", "tree_digest"]

DEVICE_ENV = "LATTE_BENCH_DEVICE"
SERVING_ENV = "LATTE_BENCH_SERVING"


def model_env(model: str) -> str:
    """``LATTE_BENCH_MODEL_<NAME>``: the variable holding one model folder's digest."""
    return "LATTE_BENCH_MODEL_" + re.sub(r"[^A-Za-z0-9]", "_", model).upper()


def tree_digest(folder: Path, pattern: str = "**/*") -> str:
    """The tree digest (latte_contracts.digest) of ``folder``'s files matching ``pattern``, as
    bare hex; '' when there is no such tree (the key then says "not built")."""
    try:
        return digest.tree_digest(folder, pattern).removeprefix(digest.DIGEST_PREFIX)
    except DigestError:
        return ""


def serving_digest() -> str:
    import latte_serving

    return tree_digest(Path(latte_serving.__file__).parent, "**/*.py")


def key_env(build_dir: Path, device: str, models: Iterable[str] | None = None) -> dict[str, str]:
    """The variables for ``models`` (default: every folder of the model repository)."""
    repository = BuildLayout(build_dir).model_repository
    if models is None:
        found = repository.iterdir() if repository.is_dir() else iter(())
        models = sorted(p.name for p in found if (p / "config.pbtxt").is_file())
    values = {DEVICE_ENV: device, SERVING_ENV: serving_digest()}
    for model in models:
        values[model_env(model)] = tree_digest(repository / model)
    return values


def check_key_env(environ: Mapping[str, str], expected: Mapping[str, str]) -> None:
    """Refuse a cached run whose key variables are unset or describe something else."""
    for name, value in expected.items():
        given = environ.get(name)
        if given == value:
            continue
        state = "is not set" if given is None else f"is {given!r}, not {value!r}"
        raise BenchUsageError(
            f"{name} {state}, so the task runner's key would not describe this run; run "
            "'latte bench' (it sets the LATTE_BENCH_* variables), or drop --require-key-env"
        )
