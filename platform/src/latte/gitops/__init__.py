"""GitOps validation: a pinned helm, rendering per environment, schemas, CRDs and policy.

``latte gitops check`` is :func:`run_checks` over :class:`GitopsLayout` with :func:`find_helm`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latte.gitops.check import render_env, run_checks
    from latte.gitops.errors import CheckFailedError, GitopsError, HelmError
    from latte.gitops.findings import CheckResult, Finding
    from latte.gitops.helm import HELM_SHA256, HELM_VERSION, Helm, find_helm, install_helm
    from latte.gitops.layout import GitopsLayout
    from latte.gitops.policy import RULES, ManifestRule, check_policies

# Public name -> defining module, imported on first use (PEP 562): `latte --help` and the other
# commands must not pay for jsonschema and the CRD loaders.
_HOMES = {
    "render_env": "check",
    "run_checks": "check",
    "CheckFailedError": "errors",
    "GitopsError": "errors",
    "HelmError": "errors",
    "CheckResult": "findings",
    "Finding": "findings",
    "HELM_SHA256": "helm",
    "HELM_VERSION": "helm",
    "Helm": "helm",
    "find_helm": "helm",
    "install_helm": "helm",
    "GitopsLayout": "layout",
    "RULES": "policy",
    "ManifestRule": "policy",
    "check_policies": "policy",
}

__all__ = [
    "HELM_SHA256",
    "HELM_VERSION",
    "RULES",
    "CheckFailedError",
    "CheckResult",
    "Finding",
    "GitopsError",
    "GitopsLayout",
    "Helm",
    "HelmError",
    "ManifestRule",
    "check_policies",
    "find_helm",
    "install_helm",
    "render_env",
    "run_checks",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'latte.gitops' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"latte.gitops.{_HOMES[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value
