"""A real gitops repository in tmp_path with a bare remote, and helpers to write releases."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

CHAIN = """\
# test chain: staging needs 1h of soak in dev, production an approval
defaults:
  gates: [tests, security]
  soak: 0
environments:
  - name: dev
  - name: staging
    soak: 1h
  - name: production
    approval: true
"""
# A fresh environment as gitops/README.md describes it.
EMPTY_RELEASE = """\
# Written by `latte release` / `latte promote` / `latte rollback`. Do not edit by hand.
release:
  id: ""
  created: ""
  commit: ""
  gates: {}
models: {}
routing: {}
bench: {}
capacity: {}
"""
EMPTY_HISTORY = """\
# Append-only log of what this environment ran. Written by latte; do not edit by hand.
history: []
"""
LONG_AGO = datetime.now(UTC) - timedelta(days=3)


def git(root: Path, *args: str, when: datetime | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    if when is not None:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def release_text(release_id: str, models: dict[str, int], *, gates: str = "passed") -> str:
    lines = [
        "# Written by `latte release` / `latte promote` / `latte rollback`. Do not edit by hand.",
        "release:",
        f'  id: "{release_id}"',
        '  created: "2026-11-30T05:00:00Z"',
        f'  commit: "{"c" * 40}"',
        f"  gates: {{tests: passed, security: {gates}, quality: passed}}",
        "models:",
    ]
    for name, version in models.items():
        lines += [
            f"  {name}:",
            f"    version: {version}",
            f'    digest: "sha256:{str(version) * 64}"',
            "    framework: pytorch",
            f"    metrics: {{f1_macro: {0.9 + version / 100:.2f}}}",
        ]
    lines += ["bench:"]
    lines += [
        f"  {name}: {{p95Ms: {4 + v}, throughputRps: {800 + v}}}" for name, v in models.items()
    ]
    return "\n".join(lines) + "\n"


def canary_text(
    release_id: str, stable: int, canary: int, weight: int, shadow: bool = False
) -> str:
    """A dev release of digits as `latte release --canary` writes it: ``stable`` kept,
    ``canary`` (the newest) at ``weight`` percent, both digests under ``artifacts``."""
    text = release_text(release_id, {"digits": canary})
    pinned = f'    digest: "sha256:{str(canary) * 64}"\n'
    artifacts = (
        f'    artifacts: {{"{stable}": "sha256:{str(stable) * 64}", '
        f'"{canary}": "sha256:{str(canary) * 64}"}}\n'
    )
    route = (
        f'  digits: {{stable: {stable}, versions: {{"{stable}": {100 - weight}, "{canary}": '
        f"{weight}}}, stickyHeader: x-latte-route-key, shadow: {canary if shadow else 'null'}}}\n"
    )
    text = text.replace(pinned, pinned + artifacts)
    return text.replace("bench:\n", "routing:\n" + route + "bench:\n")


def make_repo(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    work = tmp_path / "work"
    remote.mkdir()
    work.mkdir()
    git(remote, "init", "--quiet", "--bare", "-b", "main")
    git(work, "init", "--quiet", "-b", "main")
    git(work, "config", "user.name", "Test Bot")
    git(work, "config", "user.email", "bot@example.com")
    git(work, "remote", "add", "origin", str(remote))
    (work / "latte.toml").write_text("# test project\n")
    (work / "gitops").mkdir()
    (work / "gitops" / "promotion.yaml").write_text(CHAIN)
    for env in ("dev", "staging", "production"):
        folder = work / "gitops" / "envs" / env
        folder.mkdir(parents=True)
        (folder / "values.yaml").write_text(f"# {env} settings, edited by people\nreplicas: 1\n")
        (folder / "release.yaml").write_text(EMPTY_RELEASE)
        (folder / "history.yaml").write_text(EMPTY_HISTORY)
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "seed", when=LONG_AGO)
    git(work, "push", "--quiet", "origin", "main")
    return work


def land_release(
    work: Path, env: str, text: str, when: datetime = LONG_AGO, message: str = "release"
) -> str:
    """Commit ``text`` as env's release.yaml on main (as a merged PR would) and push it."""
    (work / "gitops" / "envs" / env / "release.yaml").write_text(text)
    git(work, "add", f"gitops/envs/{env}/release.yaml")
    git(work, "commit", "--quiet", "-m", message, when=when)
    git(work, "push", "--quiet", "origin", "main")
    return git(work, "rev-parse", "HEAD")


def merge(work: Path, branch: str) -> str:
    """Merge a promotion branch into main with a merge commit, as GitHub does, and push."""
    git(work, "merge", "--quiet", "--no-ff", "-m", f"Merge {branch}", branch)
    git(work, "push", "--quiet", "origin", "main")
    return git(work, "rev-parse", "HEAD")
