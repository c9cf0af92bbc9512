"""The promotion chain and its policies, declared in ``gitops/promotion.yaml``.

Environments are listed in promotion order; each may set the gates its source release must
have passed, how long the release must soak in the source env, and whether a human approval
is required. ``defaults`` applies to every environment that does not say otherwise, so adding
an environment is one folder under ``gitops/envs/`` plus one line here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from latte.promote.errors import PromoteError

__all__ = ["CHAIN_FILE", "HEAL_ACTIONS", "Chain", "EnvPolicy", "parse_chain", "parse_duration"]

CHAIN_FILE = "gitops/promotion.yaml"
_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_KNOWN_KEYS = {"name", "gates", "soak", "approval", "heal"}
# `latte incidents heal`: what a confirmed canary incident in the env becomes (off by default)
HEAL_ACTIONS = ("off", "weight-0", "rollback")


@dataclasses.dataclass(frozen=True)
class EnvPolicy:
    """What a release must satisfy to enter ``name`` from the environment before it."""

    name: str
    gates: tuple[str, ...] = ()
    soak: timedelta = timedelta(0)
    approval: bool = False
    heal: str = "off"


@dataclasses.dataclass(frozen=True)
class Chain:
    """Environments in promotion order, first one fed by ``latte release``."""

    envs: tuple[EnvPolicy, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(env.name for env in self.envs)

    def policy(self, env: str) -> EnvPolicy:
        for candidate in self.envs:
            if candidate.name == env:
                return candidate
        raise PromoteError(
            f"unknown environment {env!r}; {CHAIN_FILE} lists {', '.join(self.names)}"
        )

    def source_of(self, env: str) -> str:
        """The environment a release comes from when promoted into ``env``."""
        index = self.names.index(self.policy(env).name)
        if index == 0:
            raise PromoteError(
                f"{env!r} is the first environment of the chain; `latte release` writes it, "
                "promote into a later one"
            )
        return self.names[index - 1]


def parse_duration(text: str) -> timedelta:
    """``"90m"``, ``"1h30m"``, ``"2d"`` or ``"0"`` as a timedelta."""
    text = str(text).strip()
    if text == "0":
        return timedelta(0)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise PromoteError(f"{CHAIN_FILE}: soak {text!r} is not a duration like 30m, 1h or 2d")
    return sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta(0))


def parse_chain(text: str) -> Chain:
    """Parse the text of ``gitops/promotion.yaml``."""
    try:
        data = YAML(typ="safe").load(text) or {}
    except YAMLError as exc:
        raise PromoteError(f"{CHAIN_FILE}: not valid YAML ({exc}); fix the file") from exc
    if not isinstance(data, dict) or not isinstance(data.get("environments"), list):
        raise PromoteError(f"{CHAIN_FILE}: needs an 'environments:' list, in promotion order")
    defaults = data.get("defaults") or {}
    envs = tuple(_env_policy(entry, defaults) for entry in data["environments"])
    names = [env.name for env in envs]
    if len(envs) < 2 or len(set(names)) != len(names):
        raise PromoteError(f"{CHAIN_FILE}: needs two or more distinct environments, got {names}")
    return Chain(envs=envs)


def _env_policy(entry: Any, defaults: Mapping[str, Any]) -> EnvPolicy:
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict) or not entry.get("name"):
        raise PromoteError(f"{CHAIN_FILE}: environment {entry!r} needs a name")
    unknown = sorted(set(entry) - _KNOWN_KEYS)
    if unknown:
        raise PromoteError(
            f"{CHAIN_FILE}: environment {entry['name']!r} has unknown key(s) {unknown}; "
            f"known: {sorted(_KNOWN_KEYS)}"
        )
    merged = {**defaults, **entry}
    heal = str(merged.get("heal", "off"))
    if heal not in HEAL_ACTIONS:
        raise PromoteError(
            f"{CHAIN_FILE}: environment {entry['name']!r} has heal {heal!r}; "
            f"use one of {', '.join(HEAL_ACTIONS)}"
        )
    return EnvPolicy(
        name=str(merged["name"]),
        gates=tuple(str(gate) for gate in merged.get("gates") or ()),
        soak=parse_duration(str(merged.get("soak", "0"))),
        approval=bool(merged.get("approval", False)),
        heal=heal,
    )
