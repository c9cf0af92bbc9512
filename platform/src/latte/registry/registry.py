"""The registry: versions, aliases and blocks over a SQL database and an artifact store."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from latte.registry import _queries as q
from latte.registry.artifacts import ArtifactStore, open_store
from latte.registry.blobs import download_tree, has_tree, upload_tree
from latte.registry.db import (
    RECONNECT,
    Reconnect,
    database_url,
    make_engine,
    migrate,
    transaction,
)
from latte.registry.digest import Manifest, check_digest, hash_tree
from latte.registry.errors import BlockedError, IntegrityError, InvalidInputError, NotFoundError
from latte.registry.schema import aliases, models, versions
from latte.registry.values import (
    ARTIFACT_PREFIX,
    AuditEntry,
    ModelVersion,
    Selector,
    check_name,
    clean_lineage,
    clean_metrics,
    parse_selector,
    split_alias,
)

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["Registry", "open_registry"]

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


class Registry:
    """Model versions (immutable, content-addressed), aliases per environment, an audit log.

    ``on_uploaded`` is called with the digest after the artifacts are stored and before the
    metadata commits: tests use it to kill the process at exactly that point. ``reconnect``
    says how long a transaction that lost its PostgreSQL server is retried (db.Reconnect).
    """

    def __init__(
        self,
        engine: Engine,
        store: ArtifactStore,
        *,
        actor: str = "latte",
        on_uploaded: Callable[[str], None] | None = None,
        reconnect: Reconnect = RECONNECT,
    ) -> None:
        self.engine = engine
        self.store = store
        self.actor = actor
        self.reconnect = reconnect
        self._on_uploaded = on_uploaded

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def _read(self, work: Callable[[Connection], T]) -> T:
        """``work`` in one read transaction, retried whole if the server goes away."""
        return transaction(self.engine, work, self.reconnect, idempotent=True)

    # -- registering ---------------------------------------------------------------------

    def register(
        self,
        name: str,
        artifact_dir: Path,
        *,
        metrics: Mapping[str, Any] | None = None,
        lineage: Mapping[str, Any] | None = None,
        expected_digest: str | None = None,
        extras: Mapping[str, tuple[Path, str | None]] | None = None,
    ) -> ModelVersion:
        """Store the tree and record a new version; the same digest returns the existing one.

        ``extras`` are further trees of the same version (kind -> (folder, expected digest)),
        e.g. ``saved_model`` for TF Serving: each is stored content-addressed like the main
        tree, its digest recorded as lineage ``artifact.<kind>`` (``ModelVersion.artifacts``).
        """
        check_name(name)
        metric_map, lineage_map = clean_metrics(metrics), clean_lineage(lineage)
        if any(key.startswith(ARTIFACT_PREFIX) for key in lineage_map):
            raise InvalidInputError(
                f"lineage keys starting with {ARTIFACT_PREFIX!r} are the registry's own; "
                "register extra trees with extras= instead"
            )
        if expected_digest is not None:
            check_digest(expected_digest)
        manifest = _checked_manifest(Path(artifact_dir), expected_digest)
        extra_manifests = {
            kind: (Path(folder), _checked_manifest(Path(folder), want))
            for kind, (folder, want) in sorted((extras or {}).items())
        }
        lineage_map.update(
            {f"{ARTIFACT_PREFIX}{kind}": m.digest for kind, (_, m) in extra_manifests.items()}
        )
        existing = self.find(name, manifest.digest)
        if existing is not None:
            # heal a store that lost a tree; the version's recorded trees stay what they were
            for folder, tree in [(Path(artifact_dir), manifest), *extra_manifests.values()]:
                if not has_tree(self.store, tree.digest):
                    upload_tree(self.store, folder, tree)
            return existing
        for folder, tree in extra_manifests.values():
            upload_tree(self.store, folder, tree)
        upload_tree(self.store, Path(artifact_dir), manifest)
        if self._on_uploaded is not None:
            self._on_uploaded(manifest.digest)
        try:
            return self._commit_version(name, manifest.digest, metric_map, lineage_map)
        except sa_exc.IntegrityError:
            # Another process registered the same digest first: that version is the answer.
            found = self.find(name, manifest.digest)
            if found is None:
                raise
            return found

    def _commit_version(
        self, name: str, digest: str, metric_map: dict[str, float], lineage_map: dict[str, str]
    ) -> ModelVersion:
        now = _now()

        def work(connection: Connection) -> int:
            q.ensure_model(connection, name, now)
            model, version = q.next_version(connection, name)
            values = {"digest": digest, "created_at": now, "created_by": self.actor}
            version_id = q.insert_version(connection, model, version, values)
            q.insert_details(connection, version_id, metric_map, lineage_map)
            self._audit(connection, "register", name, version, {"digest": digest})
            return version

        def settle() -> int | None:  # a lost COMMIT: the digest says whether it landed
            found = self.find(name, digest)
            return None if found is None else found.version

        version = transaction(self.engine, work, self.reconnect, settle=settle)
        return self.get(name, version)

    def _audit(
        self, connection: Connection, action: str, name: str, version: int | None, detail: Any
    ) -> None:
        q.add_audit(
            connection,
            at=_now(),
            actor=self.actor,
            action=action,
            model=name,
            version=version,
            detail=detail,
        )

    # -- reading -------------------------------------------------------------------------

    def list(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of one model, or of all), ordered by name then version."""
        condition = sa.true() if name is None else models.c.name == check_name(name)
        return self._read(lambda connection: q.load_versions(connection, condition))

    def models(self) -> builtins.list[str]:
        query = sa.select(models.c.name).order_by(models.c.name)
        return self._read(lambda connection: list(connection.execute(query).scalars()))

    def get(self, name: str, version: int) -> ModelVersion:
        condition = sa.and_(models.c.name == check_name(name), versions.c.version == version)
        found = self._read(lambda connection: q.load_versions(connection, condition))
        if not found:
            raise NotFoundError(self._missing(name, f"version {version}"))
        return found[0]

    def find(self, name: str, digest: str) -> ModelVersion | None:
        """The version of ``name`` with this digest, if it was registered."""
        condition = sa.and_(
            models.c.name == check_name(name), versions.c.digest == check_digest(digest)
        )
        found = self._read(lambda connection: q.load_versions(connection, condition))
        return found[0] if found else None

    def latest(self, name: str, *, include_blocked: bool = False) -> ModelVersion:
        candidates = [mv for mv in self.list(name) if include_blocked or not mv.blocked]
        if not candidates:
            raise NotFoundError(self._missing(name, "an unblocked version"))
        return candidates[-1]

    def resolve(self, name: str, alias: str) -> ModelVersion:
        """The version an alias such as ``production:champion`` points at."""
        environment, short = split_alias(alias)
        pointed = (
            sa.select(aliases.c.version)
            .where(aliases.c.model_id == models.c.id)
            .where(aliases.c.environment == environment, aliases.c.alias == short)
            .scalar_subquery()
        )
        condition = sa.and_(models.c.name == check_name(name), versions.c.version == pointed)
        # one transaction: the alias cannot move in between
        found = self._read(lambda connection: q.load_versions(connection, condition))
        if not found:
            raise NotFoundError(self._missing(name, f"alias {alias!r}"))
        return found[0]

    def select(self, name: str, selector: str | int | None = None) -> ModelVersion:
        """A version by number, alias, or (``None``) the latest unblocked one."""
        if selector is None:
            return self.resolve_selector(Selector(check_name(name)))
        return self.resolve_selector(parse_selector(f"{name}@{selector}"))

    def resolve_selector(self, selector: Selector) -> ModelVersion:
        if selector.version is not None:
            return self.get(selector.name, selector.version)
        if selector.alias is not None:
            return self.resolve(selector.name, selector.alias)
        return self.latest(selector.name)

    def aliases(self, name: str | None = None) -> dict[str, int]:
        """``{"production:champion": 3, ...}`` for one model (or ``"model/alias"`` keys for all)."""
        model = None if name is None else check_name(name)
        rows = self._read(lambda connection: q.load_aliases(connection, model))
        if name is not None:
            return {row["alias"]: row["version"] for row in rows}
        return {f"{row['model']}/{row['alias']}": row["version"] for row in rows}

    def is_blocked(self, name: str, version: int) -> bool:
        return self.get(name, version).blocked

    def audit(self, name: str | None = None) -> builtins.list[AuditEntry]:
        return self._read(lambda connection: q.load_audit(connection, name))

    def history(self, name: str, environment: str | None = None) -> builtins.list[AuditEntry]:
        """Alias moves of one model, oldest first: the deployment history per environment."""
        moves = [e for e in self.audit(check_name(name)) if e.action == "alias"]
        if environment is None:
            return moves
        return [e for e in moves if str(e.detail.get("alias", "")).startswith(f"{environment}:")]

    def require_model(self, name: str) -> None:
        """Raise :class:`NotFoundError` naming ``name`` unless it is a registered model."""
        checked = check_name(name)
        if self._read(lambda connection: q.model_id(connection, checked)) is None:
            raise NotFoundError(self._missing(name, "versions"))

    def _missing(self, name: str, what: str) -> str:
        if self._read(lambda connection: q.model_id(connection, name)) is None:
            return f"unknown model {name!r}; see 'latte registry list' for registered models"
        return f"model {name!r} has no {what}; see 'latte registry list {name}'"

    # -- changing ------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""
        environment, short = split_alias(alias)
        target = self.get(name, version)

        def work(connection: Connection) -> None:
            model, reason = q.lock_version(connection, name, version)
            if reason is not None:  # checked under the row lock: a concurrent block wins
                raise BlockedError(
                    f"{name} version {version} is blocked ({reason}); alias another version"
                )
            previous = q.move_alias(connection, model, environment, short, version, _now())
            detail = {"alias": alias, "from": previous, "to": version}
            self._audit(connection, "alias", name, version, detail)

        # Not idempotent (a second audit entry): a lost COMMIT fails saying so, never repeats.
        transaction(self.engine, work, self.reconnect)
        return target

    def block(self, name: str, version: int, reason: str) -> ModelVersion:
        """Block a version: it can no longer be aliased or exported. Idempotent."""
        if not reason.strip():
            raise InvalidInputError("a block needs a reason: say why this version is bad")
        self.get(name, version)  # a clear error for an unknown model or version

        def work(connection: Connection) -> None:
            model, previous = q.lock_version(connection, name, version)
            if previous is None:  # the first reason stands; blocking again changes nothing
                q.set_blocked(connection, model, version, reason.strip(), _now())
                self._audit(connection, "block", name, version, {"reason": reason.strip()})

        transaction(self.engine, work, self.reconnect, idempotent=True)
        return self.get(name, version)

    # -- artifacts -----------------------------------------------------------------------

    def fetch(self, name: str, version: int, dest: Path, *, artifact: str | None = None) -> Path:
        """A verified copy of the version's tree (or of its extra tree ``artifact``, e.g.
        ``saved_model``) at ``dest`` (which must not exist yet)."""
        target = self.get(name, version)
        if dest.exists():
            raise InvalidInputError(f"{dest} already exists; pick a new folder to fetch into")
        digest = target.digest if artifact is None else target.artifacts.get(artifact)
        if digest is None:
            raise NotFoundError(
                f"{name} version {version} has no {artifact} artifact (it has "
                f"{', '.join(sorted(target.artifacts)) or 'none'}); rebuild it with 'latte build'"
            )
        download_tree(self.store, digest, dest)
        return dest


def _checked_manifest(folder: Path, expected: str | None) -> Manifest:
    manifest = hash_tree(folder)
    if expected is not None and check_digest(expected) != manifest.digest:
        raise IntegrityError(
            f"{folder} has digest {manifest.digest}, expected {expected}; "
            "the artifacts changed after the build: rebuild the model"
        )
    return manifest


def open_registry(
    settings: Settings,
    *,
    actor: str = "latte",
    on_uploaded: Callable[[str], None] | None = None,
    reconnect: Reconnect = RECONNECT,
) -> Registry:
    """Connect to the configured database (migrating it) and artifact store.

    The first connection fails fast (a wrong URL should not wait); later transactions ride
    out a lost server as ``reconnect`` says.
    """
    engine = make_engine(database_url(settings))
    try:
        migrate(engine)
        store = open_store(settings.artifact_store_url, settings)
    except BaseException:
        engine.dispose()
        raise
    return Registry(engine, store, actor=actor, on_uploaded=on_uploaded, reconnect=reconnect)
