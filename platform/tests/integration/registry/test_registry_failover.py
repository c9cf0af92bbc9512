"""The PostgreSQL server dies in the middle of 8 concurrent registrations and comes back: every
registration commits exactly once, versions stay gap-free, and no half version is left.

The kill is placed, not hoped for: three registrations have committed, three are inside their
transaction in the database (one has taken the next version number and inserted its version
row, and waits on its metrics; two queue on the model's row lock behind it), and two have
uploaded their artifacts and begin their transaction while the server is down.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import fresh_database, settings_for

from latte.registry import Registry, StoreError, open_registry, tree_digest
from latte.registry.blobs import has_tree
from latte.registry.db import Reconnect

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

_GROUPS = ("committed", "in-flight", "while-down")
_SIZES = {"committed": 3, "in-flight": 3, "while-down": 2}
_DOWN_SECONDS = 1.5


class Gates:
    """Holds each registration after its upload (``on_uploaded``) until its group is let go."""

    def __init__(self) -> None:
        self.group: dict[str, str] = {}  # digest -> group
        self.events = {name: threading.Event() for name in _GROUPS}

    def wait(self, digest: str) -> None:
        group = self.group.get(digest)
        if group is not None:  # the baseline registration is not gated
            assert self.events[group].wait(60), f"group {group} was never released"


@pytest.fixture
def crashable_registry(postgres_crashable, tmp_path: Path) -> Iterator[tuple[Registry, Gates, str]]:
    url = fresh_database(postgres_crashable.url)
    gates = Gates()
    settings = settings_for(tmp_path / "project", url)
    registry = open_registry(
        settings, actor="failover", on_uploaded=gates.wait, reconnect=Reconnect(patience=30)
    )
    with registry:
        yield registry, gates, url


def _waiting(monitor: psycopg.Connection, database: str) -> list[str]:
    """The table each statement waiting on a lock in ``database`` writes to."""
    rows = monitor.execute(
        "SELECT query FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
        (database,),
    ).fetchall()
    tables = ("metrics", "models")
    return sorted(next((t for t in tables if t in row[0]), row[0][:40]) for row in rows)


def _until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_server_crash_during_eight_registrations_loses_and_doubles_nothing(
    crashable_registry, postgres_crashable, make_tree
):
    registry, gates, url = crashable_registry
    database = url.rsplit("/", 1)[1]
    baseline = registry.register("digits", make_tree("baseline"), metrics={"f1": 0.5})
    trees = {name: [] for name in _GROUPS}
    for index in range(8):
        group = next(g for g in _GROUPS if len(trees[g]) < _SIZES[g])
        tree = make_tree(f"payload-{index}")
        trees[group].append((index, tree))
        gates.group[tree_digest(tree)] = group

    done: dict[int, tuple[int, float]] = {}  # index -> (version, monotonic time it returned)
    errors: list[BaseException] = []

    def register(index: int, tree: Path) -> None:
        try:
            mv = registry.register(
                "digits", tree, metrics={"f1": index / 10}, lineage={"index": index}
            )
            done[index] = (mv.version, time.monotonic())
        except BaseException as exc:  # surfaced below, with the thread's error
            errors.append(exc)

    threads = [
        threading.Thread(target=register, args=item) for items in trees.values() for item in items
    ]
    for thread in threads:
        thread.start()

    gates.events["committed"].set()
    _until(lambda: len(done) == 3, "the first three registrations to commit")

    with psycopg.connect(url, autocommit=True) as monitor:
        blocker = psycopg.connect(url)  # holds up the metrics inserts, not the version rows
        blocker.execute("LOCK TABLE metrics IN SHARE MODE")
        gates.events["in-flight"].set()
        # one holds the next version number and its version row; two queue behind its lock
        expected = ["metrics", "models", "models"]
        _until(lambda: _waiting(monitor, database) == expected, f"waiters {expected}")

    postgres_crashable.kill()
    killed = time.monotonic()
    blocker.close()
    gates.events["while-down"].set()
    time.sleep(_DOWN_SECONDS)
    assert len(done) == 3, "nothing can commit while the server is down"
    postgres_crashable.start()
    restarted = time.monotonic()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a registration hung"
    assert errors == []

    after = sorted(t - restarted for _, t in done.values() if t > restarted)
    print(
        f"\nfailover: down {restarted - killed:.2f} s; after restart the first of "
        f"{len(after)} waiting registrations committed in {after[0]:.2f} s, the last in "
        f"{after[-1]:.2f} s; 8/8 registered, versions 2..9"
    )

    listed = registry.list("digits")
    assert [mv.version for mv in listed] == list(range(1, 10)), "a gap or a duplicate"
    by_digest = {mv.digest: mv for mv in listed}
    assert len(by_digest) == 9, "one digest registered twice"
    for items in trees.values():
        for index, tree in items:
            mv = by_digest[tree_digest(tree)]
            assert done[index][0] == mv.version, "the caller got another version than stored"
            assert mv.metrics == {"f1": index / 10}, f"version {mv.version} lost its metrics"
            assert mv.lineage == {"index": str(index)}, f"version {mv.version} lost its lineage"
            assert has_tree(registry.store, mv.digest)
    assert by_digest[baseline.digest].version == 1
    registered = [(e.version, e.detail["digest"]) for e in registry.audit("digits")]
    assert sorted(registered) == [(mv.version, mv.digest) for mv in listed], "audit != versions"
    with psycopg.connect(url) as check:
        counter = check.execute("SELECT last_version FROM models WHERE name = 'digits'").fetchone()
    assert counter == (9,), "the version counter moved past what was stored"


def test_a_server_that_stays_down_fails_the_registration_in_one_line(
    postgres_crashable, tmp_path, make_tree
):
    url = fresh_database(postgres_crashable.url)
    settings = settings_for(tmp_path / "project", url)
    with open_registry(settings, reconnect=Reconnect(patience=1.0)) as registry:
        registry.register("digits", make_tree("first"))
        postgres_crashable.kill()
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"unavailable \(still, after reconnecting") as caught:
            registry.register("digits", make_tree("second"))
        waited = time.monotonic() - started
        assert 1.0 <= waited < 10, f"gave up after {waited:.1f} s, patience was 1 s"
        assert "\n" not in str(caught.value)
        postgres_crashable.start()
        assert [mv.version for mv in registry.list("digits")] == [1], "nothing half-written"
        assert registry.register("digits", make_tree("second")).version == 2, "no gap"


def test_a_wrong_database_name_is_not_retried(postgres_crashable, tmp_path, make_tree):
    url = fresh_database(postgres_crashable.url)
    settings = settings_for(tmp_path / "project", url)
    with open_registry(settings, reconnect=Reconnect(patience=30)) as registry:
        registry.register("digits", make_tree("first"))
        with psycopg.connect(postgres_crashable.url, autocommit=True) as admin:
            registry.engine.dispose()  # no pooled connection keeps the database in use
            admin.execute(f"DROP DATABASE {url.rsplit('/', 1)[1]}")
        started = time.monotonic()
        with pytest.raises(StoreError, match="does not exist"):
            registry.list()
        assert time.monotonic() - started < 5, "a refusal for good must not wait for patience"


class CommitCutter:
    """A TCP proxy on 127.0.0.1 in front of the real server that, once armed, lets the next
    COMMIT of a transaction that wrote the audit log reach the server, waits for the server's
    answer (so it did commit), and then drops the connection instead of relaying it: the
    client's COMMIT is lost in flight, as in a network cut during a failover."""

    _COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"  # a simple-protocol Query message

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.armed = threading.Event()
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """server -> client, as it comes."""
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.close()

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        """client -> server, cutting the armed COMMIT."""
        wrote_audit = False
        with contextlib.suppress(OSError):
            while chunk := client.recv(65536):
                wrote_audit = wrote_audit or b"INSERT INTO audit" in chunk
                cut = self._COMMIT in chunk and wrote_audit and self.armed.is_set()
                if cut:
                    self.armed.clear()
                    self.cuts += 1
                    client.shutdown(socket.SHUT_RDWR)  # no answer can reach the client now
                    server.sendall(chunk)
                    time.sleep(0.3)  # the server commits, answering into the void
                    break
                if self._COMMIT in chunk:
                    wrote_audit = False
                server.sendall(chunk)
        for end in (client, server):
            with contextlib.suppress(OSError):
                end.close()


@pytest.fixture
def cut_registry(
    postgres_crashable, tmp_path, make_tree
) -> Iterator[tuple[Registry, CommitCutter]]:
    """A registry talking to the real server through a :class:`CommitCutter`, one version in."""
    cutter = CommitCutter(postgres_crashable.port)
    url = fresh_database(postgres_crashable.url)
    through_proxy = url.replace(f":{postgres_crashable.port}/", f":{cutter.port}/")
    settings = settings_for(tmp_path / "project", through_proxy)
    try:
        with open_registry(settings, reconnect=Reconnect(patience=10)) as registry:
            registry.register("digits", make_tree("first"))
            yield registry, cutter
    finally:
        cutter.close()


def test_a_registration_whose_commit_is_lost_is_settled_by_its_digest(cut_registry, make_tree):
    registry, cutter = cut_registry
    cutter.armed.set()
    mv = registry.register("digits", make_tree("second"), metrics={"f1": 0.9})
    assert cutter.cuts == 1, "the COMMIT was cut in flight"
    assert mv.version == 2
    listed = registry.list("digits")
    assert [v.version for v in listed] == [1, 2], "committed once: no retry doubled it"
    assert listed[1].metrics == {"f1": 0.9}
    assert [e.version for e in registry.audit("digits")] == [1, 2]


def test_an_alias_move_whose_commit_is_lost_fails_saying_the_outcome_is_unknown(cut_registry):
    registry, cutter = cut_registry
    cutter.armed.set()
    with pytest.raises(StoreError, match="may or may not have been applied") as caught:
        registry.set_alias("digits", "qa:current", 1)
    assert cutter.cuts == 1
    assert "latte registry audit" in str(caught.value)
    # it did commit, exactly once: nothing repeated it behind the caller's back
    assert registry.aliases("digits") == {"qa:current": 1}
    assert [e.action for e in registry.audit("digits")] == ["register", "alias"]
