"""GitOps validation: a pinned helm, rendering per environment, schemas, CRDs and policy.

``latte gitops check`` is :func:`run_checks` over :class:`GitopsLayout` with :func:`find_helm`.
"""

from __future__ import annotations

from latte.gitops.check import render_env, run_checks
from latte.gitops.errors import CheckFailedError, GitopsError, HelmError
from latte.gitops.findings import CheckResult, Finding
from latte.gitops.helm import HELM_SHA256, HELM_VERSION, Helm, find_helm, install_helm
from latte.gitops.layout import GitopsLayout
from latte.gitops.policy import RULES, ManifestRule, check_policies

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
