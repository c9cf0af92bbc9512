"""Promotion and rollback by pull request: dev -> staging -> production, git as the record.

``latte promote``/``latte rollback`` copy a release file forward or back (``--weight`` moves a
canary's weight inside one env) on a new branch (one commit with trailers), push it and open a
pull request on the forge; ``latte status`` shows
what each environment pins and what is pending. The chain and its policies live in
``gitops/promotion.yaml``.
"""

from __future__ import annotations

from latte.git import Git
from latte.promote.chain import CHAIN_FILE, Chain, EnvPolicy, parse_chain, parse_duration
from latte.promote.errors import ForgeError, GitError, PolicyError, PromoteError
from latte.promote.forge import FORGES, Forge, GitHubForge, PullRequest, make_forge
from latte.promote.moves import MoveState, Outcome, Workspace
from latte.promote.policy import Blocklist, Candidate, check_policy
from latte.promote.promote import promote, promotion_branch
from latte.promote.release import ModelPin, ReleaseInfo, history_path, release_path
from latte.promote.rollback import previous_release, rollback, rollback_branch
from latte.promote.status import EnvStatus, cluster_lines, collect_status, read_cluster
from latte.promote.verify import record_current, verify
from latte.promote.weight import move_weight, reweighted, weight_branch

__all__ = [
    "CHAIN_FILE",
    "FORGES",
    "Blocklist",
    "Candidate",
    "Chain",
    "EnvPolicy",
    "EnvStatus",
    "Forge",
    "ForgeError",
    "Git",
    "GitError",
    "GitHubForge",
    "ModelPin",
    "MoveState",
    "Outcome",
    "PolicyError",
    "PromoteError",
    "PullRequest",
    "ReleaseInfo",
    "Workspace",
    "check_policy",
    "cluster_lines",
    "collect_status",
    "history_path",
    "make_forge",
    "move_weight",
    "parse_chain",
    "parse_duration",
    "previous_release",
    "promote",
    "promotion_branch",
    "read_cluster",
    "record_current",
    "release_path",
    "reweighted",
    "rollback",
    "rollback_branch",
    "verify",
    "weight_branch",
]
