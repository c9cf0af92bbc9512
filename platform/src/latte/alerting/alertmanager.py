"""Render gitops/monitoring/alertmanager/alertmanager.yaml for one environment.

The base file holds the routing tree, grouping and inhibition (the same everywhere); the env's
profile sets the timings; every receiver gets a webhook whose URL is read from
``<secrets_dir>/<receiver>-url`` at render time (the Debian/0.25 Alertmanager has no
``url_file`` for webhooks), so URLs live in a Secret and the rendered file is itself stored
as the Alertmanager's config Secret, never committed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from latte.alerting.errors import AlertingError

__all__ = ["ALERTMANAGER_DIR", "RECEIVERS", "dump", "load_yaml", "read_urls", "render"]

ALERTMANAGER_DIR = "gitops/monitoring/alertmanager"
_TIMINGS = ("group_wait", "group_interval", "repeat_interval")
# Receivers that notify someone (blackhole drops info alerts on purpose).
RECEIVERS = ("page", "ticket", "incidents", "watchdog")


def read_urls(secrets_dir: Path) -> dict[str, str]:
    """Each receiver's webhook URL from ``<secrets_dir>/<receiver>-url`` (a mounted Secret)."""
    urls = {}
    for name in RECEIVERS:
        path = secrets_dir / f"{name}-url"
        try:
            urls[name] = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AlertingError(
                f"{path}: cannot read receiver {name}'s webhook URL ({exc.strerror}); "
                f"put one URL per file <receiver>-url for {', '.join(RECEIVERS)}"
            ) from exc
        if not urls[name].startswith(("http://", "https://")):
            raise AlertingError(f"{path}: {urls[name]!r} is not an http(s) URL")
    return urls


def load_yaml(path: Path) -> Any:
    try:
        return YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise AlertingError(f"{path}: cannot read ({exc})") from exc


def _timings(profile: Mapping[str, Any], name: str, env: str) -> dict[str, str]:
    values = profile.get(name)
    if not isinstance(values, Mapping) or any(key not in values for key in _TIMINGS):
        raise AlertingError(f"profiles.yaml: {env}.{name} must set {', '.join(_TIMINGS)}; add them")
    return {key: str(values[key]) for key in _TIMINGS}


def render(root: Path, env: str, urls: Mapping[str, str]) -> dict[str, Any]:
    """The Alertmanager configuration of ``env`` as a mapping (dump it as YAML)."""
    folder = root / ALERTMANAGER_DIR
    base = load_yaml(folder / "alertmanager.yaml")
    profiles = load_yaml(folder / "profiles.yaml") or {}
    if env not in profiles:
        raise AlertingError(
            f"no Alertmanager profile for env {env!r} in {ALERTMANAGER_DIR}/profiles.yaml "
            f"(known: {', '.join(sorted(profiles))}); add one"
        )
    profile = profiles[env]
    config = copy.deepcopy(base)
    route = config["route"]
    route.update(_timings(profile, "default", env))
    for child in route.get("routes", []):
        named = child.pop("timings", None)
        if named:
            child.update(_timings(profile, named, env))
    for receiver in config["receivers"]:
        name = receiver["name"]
        if name == "blackhole":
            continue
        if name not in urls:
            raise AlertingError(f"no webhook URL for receiver {name!r}; add {name}-url")
        receiver["webhook_configs"] = [{"url": urls[name], "send_resolved": name != "watchdog"}]
    return dict(config)


def dump(config: Mapping[str, Any]) -> str:
    """``config`` as YAML text."""
    import io

    yaml = YAML()
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(dict(config), out)
    return out.getvalue()
