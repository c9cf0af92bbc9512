"""``latte up <env>``: run an environment on 127.0.0.1 the way its gitops folder deploys it.

Library use (tests, monitoring)::

    with up(settings, "dev") as stack:
        stack.gateway_url, stack.triton_url, stack.triton_metrics_url, stack.rows
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from latte.up.errors import UpError
from latte.up.stack import Extra, Stack, StackOptions, running
from latte.up.table import ServingRow, format_rows

if TYPE_CHECKING:
    from latte.config import Settings
    from latte.gitops.manifests import Manifest
    from latte.up.alerting import AlertPaths
    from latte.up.pods import Pod

__all__ = [
    "Extra",
    "ServingRow",
    "Stack",
    "StackOptions",
    "UpError",
    "format_rows",
    "options_for",
    "render_manifests",
    "render_pods",
    "running",
    "up",
]


def render_pods(settings: Settings, env: str) -> dict[str, Pod]:
    """The env's chart rendered with the real helm, as pods (by component)."""
    from latte.up.pods import find_pods

    return dict(find_pods(render_manifests(settings, env)))


def render_manifests(settings: Settings, env: str) -> list[Manifest]:
    """The env's chart rendered with the real helm."""
    from latte.gitops.check import render_env
    from latte.gitops.helm import find_helm
    from latte.gitops.layout import GitopsLayout

    layout = GitopsLayout.discover(settings.root)
    layout.env(env)  # an unknown env is named with the known ones
    helm = find_helm(settings.path(settings.state_dir) / "tools")
    manifests, failed = render_env(layout, helm, env)
    if failed:
        raise UpError(f"helm template failed for {env}: {failed[0].message}")
    return manifests


def options_for(settings: Settings, env: str, *, startup_timeout_s: float = 120.0) -> StackOptions:
    """This machine's artifact store and S3 settings, given to the fetch step as LATTE_*."""
    from latte.s3 import is_s3_url

    url = settings.artifact_store_url
    store_env = {
        "LATTE_ARTIFACT_STORE_URL": url if is_s3_url(url) else str(settings.path(url)),
        "LATTE_S3_ENDPOINT": settings.s3_endpoint,
        "LATTE_S3_SECURE": "true" if settings.s3_secure else "false",
        "LATTE_S3_REGION": settings.s3_region,
        "LATTE_S3_ACCESS_KEY": settings.s3_access_key,
        "LATTE_S3_SECRET_KEY": settings.s3_secret_key,
    }
    secrets = {
        "AWS_ACCESS_KEY_ID": settings.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key,
        "LATTE_S3_ACCESS_KEY": settings.s3_access_key,
        "LATTE_S3_SECRET_KEY": settings.s3_secret_key,
    }
    return StackOptions(
        env=env, store_env=store_env, secrets=secrets, startup_timeout_s=startup_timeout_s
    )


@contextlib.contextmanager
def up(
    settings: Settings,
    env: str,
    *,
    extras: Sequence[Extra] = (),
    startup_timeout_s: float = 120.0,
    monitoring: bool = False,
    alert_paths: AlertPaths | None = None,
) -> Iterator[Stack]:
    """Render ``env`` and run it; everything stops when the block exits. ``monitoring`` also
    starts Alertmanager with latte's incidents receiver (:mod:`latte.up.alerting`; its logs at
    ``alert_paths``, default the run's folder) and Prometheus with the env's rendered
    PrometheusRule (:mod:`latte.up.monitoring`) sending alerts to it."""
    from latte.up.pods import find_pods

    _check_released(settings, env)
    manifests = render_manifests(settings, env)
    pods = dict(find_pods(manifests))
    if monitoring:
        from latte.up.alerting import alertmanager
        from latte.up.monitoring import prometheus, rule_groups

        # Alertmanager first: Prometheus' config names it; the caller's extras come after both
        # (an exporter registers itself with monitoring.add_target)
        groups = rule_groups(manifests)
        extras = [alertmanager(settings.root, alert_paths), prometheus(groups), *extras]
    options = options_for(settings, env, startup_timeout_s=startup_timeout_s)
    with running(pods, options, extras) as stack:
        yield stack


def _check_released(settings: Settings, env: str) -> None:
    from latte.deliver.plan import load_release

    path = settings.path(f"gitops/envs/{env}/release.yaml")
    if path.is_file() and not load_release(path).get("models"):
        raise UpError(
            f"gitops/envs/{env}/release.yaml pins no models yet: run the main job (`nox`) or "
            "`latte release` first, then `latte up` again"
        )
