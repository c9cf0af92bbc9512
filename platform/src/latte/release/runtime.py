"""Which runtime serves each released model: Triton (the default) or TF Serving.

One definition of the rule, used by ``latte release`` when it writes a release and by
``latte gitops check`` on what an environment renders:

- ``models.<m>.runtime`` is ``triton`` or ``tfserving``; absent means ``triton`` (a release
  written before TF Serving existed stays byte for byte what it was);
- a ``tfserving`` model pins the digest of the SavedModel tree of every routed version in
  ``models.<m>.savedModels`` (version -> digest, beside ``artifacts``, which pins the Triton
  tree of the same versions), so the TF Serving pod's fetch step verifies exactly those bytes;
- an environment with a ``tfserving`` model enables the chart's TF Serving (``tfServing.enabled``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from latte.release.errors import ReleaseError
from latte.release.routing import routed_versions

__all__ = [
    "DEFAULT_RUNTIME",
    "RUNTIMES",
    "SAVED_MODEL",
    "SAVED_MODELS_KEY",
    "TFSERVING",
    "choose_runtimes",
    "parse_runtime",
    "runtime_of",
    "runtime_problems",
    "saved_model_pins",
]

TFSERVING = "tfserving"
DEFAULT_RUNTIME = "triton"
RUNTIMES = (DEFAULT_RUNTIME, TFSERVING)
# the registry's extra-artifact kind (latte.registry.build.EXTRA_KINDS) and the release key
SAVED_MODEL = "saved_model"
SAVED_MODELS_KEY = "savedModels"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ArtifactLookup(Protocol):
    """The slice of :class:`latte.registry.Registry` this needs."""

    def get(self, name: str, version: int) -> Any: ...


def parse_runtime(text: str) -> tuple[str, str]:
    """``tumor=tfserving`` -> ``("tumor", "tfserving")`` (the ``--runtime`` flag)."""
    name, sep, runtime = text.partition("=")
    if not sep or not name or runtime not in RUNTIMES:
        raise ValueError(f"{text!r}: write MODEL=RUNTIME, RUNTIME one of {', '.join(RUNTIMES)}")
    return name, runtime


def runtime_of(entry: Any) -> str:
    """The runtime a release's ``models.<m>`` entry names (absent: Triton)."""
    value = entry.get("runtime") if isinstance(entry, Mapping) else None
    return DEFAULT_RUNTIME if value is None else str(value)


def choose_runtimes(
    names: Iterable[str], asked: Mapping[str, str], current: Mapping[str, Any]
) -> dict[str, str]:
    """Each model's runtime: ``--runtime`` if given, else what the env's current release says
    (a runtime stays chosen across releases), else Triton."""
    unknown = sorted(set(asked) - set(names))
    if unknown:
        raise ReleaseError(
            f"--runtime {unknown[0]}=...: no built model {unknown[0]!r} in this release; "
            "name one of " + ", ".join(sorted(names))
        )
    models = current.get("models") or {}
    return {name: asked.get(name) or runtime_of(models.get(name)) for name in names}


def saved_model_pins(
    name: str, versions: Iterable[int], registry: ArtifactLookup
) -> dict[str, str]:
    """``{"<version>": "sha256:..."}``: the registered SavedModel of every routed version, or a
    ReleaseError naming the version that has none."""
    pins = {}
    for version in sorted(versions):
        digest = (registry.get(name, version).artifacts or {}).get(SAVED_MODEL)
        if not digest:
            raise ReleaseError(
                f"{name} version {version}: runtime {TFSERVING} needs a SavedModel artifact, "
                "but the registry has none for it; build a model whose export writes "
                f"tf-serving/{name}/, or release with --runtime {name}={DEFAULT_RUNTIME}"
            )
        pins[str(version)] = str(digest)
    return pins


def runtime_problems(
    doc: Mapping[str, Any], tf_serving_enabled: bool | None = None
) -> list[tuple[str, str]]:
    """Every (dotted key, what is wrong and the fix) in ``doc``'s runtimes; with
    ``tf_serving_enabled`` (the merged values' ``tfServing.enabled``) also a ``tfserving``
    model in an env that does not run TF Serving."""
    models = doc.get("models") or {}
    routing = doc.get("routing") or {}
    problems: list[tuple[str, str]] = []
    for name, entry in sorted(models.items()) if isinstance(models, Mapping) else ():
        runtime = runtime_of(entry)
        if runtime not in RUNTIMES:
            problems.append((f"models.{name}.runtime", f"{runtime!r}: use one of {RUNTIMES}"))
        elif runtime == TFSERVING:
            problems += _tfserving_problems(str(name), entry, routing.get(name))
            if tf_serving_enabled is False:
                problems.append(
                    (
                        f"models.{name}.runtime",
                        f"{TFSERVING} but tfServing.enabled is false in this env; enable it "
                        f"in the env's values.yaml or release {name} for {DEFAULT_RUNTIME}",
                    )
                )
    return problems


def _tfserving_problems(name: str, entry: Mapping[str, Any], route: Any) -> list[tuple[str, str]]:
    pins = entry.get(SAVED_MODELS_KEY)
    key = f"models.{name}.{SAVED_MODELS_KEY}"
    if not isinstance(pins, Mapping) or not pins:
        return [
            (
                key,
                f"missing: runtime {TFSERVING} needs a SavedModel artifact digest per routed "
                f"version; re-run 'latte release --runtime {name}={TFSERVING}' on a build "
                "that exports one",
            )
        ]
    try:
        versions = routed_versions(
            route if isinstance(route, Mapping) else {"stable": entry["version"]}
        )
    except (KeyError, TypeError, ValueError):
        return []  # the routing rules report a malformed route
    for version in versions:
        digest = pins.get(str(version))
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            return [
                (
                    f"{key}.{version}",
                    f"{digest!r} is not a digest; every routed version of a {TFSERVING} model "
                    "needs its SavedModel's registry digest (sha256:<64 hex>)",
                )
            ]
    return []
