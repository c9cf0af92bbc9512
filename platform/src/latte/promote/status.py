"""``latte status``: what each environment pins, how it differs, what is pending, and
(when a kubeconfig is configured) what Argo CD and Argo Rollouts report for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from latte.promote.moves import Workspace, read_release
from latte.promote.release import ModelPin, ReleaseInfo
from latte.release.routing import canary_of, served

__all__ = [
    "ARGOCD_NAMESPACE",
    "EnvStatus",
    "cluster_lines",
    "collect_status",
    "read_cluster",
    "status_lines",
]

ARGOCD_NAMESPACE = "argocd"
_PREFIXES = ("promote", "rollback", "weight")


@dataclasses.dataclass(frozen=True)
class EnvStatus:
    env: str
    release: ReleaseInfo
    previous_env: str = ""
    changes: tuple[str, ...] = ()  # how this env differs from the one before it
    pending: tuple[str, ...] = ()  # promotion/rollback branches and PRs not yet landed


def collect_status(ws: Workspace, only: str = "") -> list[EnvStatus]:
    names = ws.chain.names
    if only:
        ws.chain.policy(only)  # unknown env: one line naming the chain
    releases = {env: read_release(ws, env)[1] for env in names}
    pulls = _open_pulls(ws)
    rows = []
    for index, env in enumerate(names):
        if only and env != only:
            continue
        previous = names[index - 1] if index else ""
        rows.append(
            EnvStatus(
                env=env, release=releases[env], previous_env=previous,
                changes=tuple(_changes(releases[previous], releases[env])) if previous else (),
                pending=tuple(_pending(ws, env, releases[env], pulls)),
            )
        )  # fmt: skip
    return rows


def status_lines(rows: Sequence[EnvStatus]) -> list[str]:
    lines = []
    for row in rows:
        models = ", ".join(
            served(n, v, row.release.routing.get(n) or {})
            for n, v in row.release.model_versions().items()
        )
        lines.append(f"{row.env}: release {row.release.id or '(none)'} [{models or 'no models'}]")
        if row.previous_env:
            diff = "; ".join(row.changes) or "same release"
            lines.append(f"  vs {row.previous_env}: {diff}")
        lines.extend(f"  pending: {item}" for item in row.pending)
    return lines


def _changes(before: ReleaseInfo, here: ReleaseInfo) -> list[str]:
    if before.id == here.id:
        return []
    changes = [f"release {before.id or '(none)'} there, {here.id or '(none)'} here"]
    for name in sorted({*before.models, *here.models}):
        old, new = before.models.get(name), here.models.get(name)
        if (old and old.version) != (new and new.version):
            changes.append(f"{name} {_v(old)} there, {_v(new)} here")
    return changes


def _v(pin: ModelPin | None) -> str:
    return f"v{pin.version}" if pin else "-"


def _open_pulls(ws: Workspace) -> dict[str, str]:
    if ws.forge is None:
        return {}
    return {
        pull.head: pull.url for prefix in _PREFIXES for pull in ws.forge.list_open(f"{prefix}/")
    }


def _pending(ws: Workspace, env: str, current: ReleaseInfo, pulls: dict[str, str]) -> list[str]:
    refs = set()
    for prefix in _PREFIXES:
        refs.update(ws.git.branches(f"{prefix}/{env}/"))
        if ws.remote:
            remote_refs = ws.git.run(
                "for-each-ref",
                "--format=%(refname:lstrip=3)",
                f"refs/remotes/{ws.remote}/{prefix}/{env}/",
            )
            refs.update(remote_refs.split())
        refs.update(head for head in pulls if head.startswith(f"{prefix}/{env}/"))
    waiting = sorted(ref for ref in refs if not _landed(ref, current))
    return [f"{ref} {pulls[ref]}" if ref in pulls else ref for ref in waiting]


def _landed(ref: str, current: ReleaseInfo) -> bool:
    """A branch named after the release the env already runs has landed; a weight branch
    (``weight/<env>/<id>-<N>``) once the env's canary is at N (100: no canary left)."""
    name = ref.rsplit("/", 1)[-1]
    if not ref.startswith("weight/"):
        return name == current.id
    release_id, _, weight = name.rpartition("-")
    return release_id == current.id and _canary_weight(current) == int(weight or -1)


def _canary_weight(release: ReleaseInfo) -> int:
    weights = []
    for route in release.routing.values():
        canary = canary_of(route) if route.get("stable") is not None else None
        weights.append(100 if canary is None else int(route["versions"].get(str(canary), 0)))
    return min(weights, default=100)


class CustomObjects(Protocol):
    """The part of ``kubernetes.client.CustomObjectsApi`` status reads."""

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> Any: ...
    def list_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str
    ) -> Any: ...


def read_cluster(
    api: CustomObjects, envs: Sequence[str], app_name: Callable[[str], str]
) -> list[str]:
    """One line per env's Argo CD Application (sync, health) and per Rollout it deploys."""
    lines = []
    for env in envs:
        app = api.get_namespaced_custom_object(
            "argoproj.io", "v1alpha1", ARGOCD_NAMESPACE, "applications", app_name(env)
        )
        status = app.get("status", {})
        sync = status.get("sync", {}).get("status", "Unknown")
        health = status.get("health", {}).get("status", "Unknown")
        revision = str(status.get("sync", {}).get("revision", ""))[:12]
        lines.append(
            f"{env}: Argo CD {app_name(env)} sync={sync} health={health} revision={revision or '-'}"
        )
        namespace = app.get("spec", {}).get("destination", {}).get("namespace", "")
        if namespace:
            rollouts = api.list_namespaced_custom_object(
                "argoproj.io", "v1alpha1", namespace, "rollouts"
            )
            lines += [_rollout_line(env, item) for item in rollouts.get("items", [])]
    return lines


def _rollout_line(env: str, item: dict[str, Any]) -> str:
    st = item.get("status", {})
    line = (
        f"{env}: Rollout {item['metadata']['name']} phase={st.get('phase', 'Unknown')}"
        f" step={st.get('currentStepIndex', '-')} {st.get('message', '')}".rstrip()
    )
    # An aborted canary leaves git pinning the bad release; the fix is a rollback in git.
    if st.get("abort") or st.get("phase") == "Degraded":
        line += f" -> aborted: run `latte rollback {env}` to put git back in step"
    return line


def cluster_lines(
    kubeconfig: str,
    rows: Sequence[EnvStatus],
    app_name: Callable[[str], str] = lambda env: f"latte-{env}",
) -> list[str]:
    """Cluster state when a kubeconfig is configured, else one line saying why it is skipped."""
    if not kubeconfig:
        return ["cluster: skipped (no kubeconfig: set KUBECONFIG or LATTE_KUBECONFIG to read it)"]
    try:
        from kubernetes import client, config  # type: ignore[import-untyped]

        api_client = config.new_client_from_config(config_file=kubeconfig)
        api = client.CustomObjectsApi(api_client)
        return read_cluster(api, [row.env for row in rows], app_name)
    except Exception as exc:  # any failure to reach the cluster only skips this part
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [f"cluster: skipped (cannot read the cluster from {kubeconfig}: {first[:160]})"]
