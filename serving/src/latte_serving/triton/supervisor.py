"""Keep the Triton that ``serve --start-triton`` started alive, or give up cleanly.

A watcher thread polls the child. When it dies the gateway's liveness goes false, the dead
server's process group (its python stubs) is killed, and it is restarted on the same ports
after a backoff that doubles while restarts keep failing (1 s, 2 s, 4 s ...). When it dies
again after ``max_restarts`` restarts, ``on_give_up`` runs: the gateway exits non-zero so
the orchestrator restarts the whole pod. The thread that restarts Triton lives as long as
the supervisor, so the child's parent-death signal is tied to it, not to a passing thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from latte_serving.errors import TritonStartError
from latte_serving.triton.process import TritonProcess

__all__ = ["TritonSupervisor"]

logger = logging.getLogger("latte_serving.triton")


class TritonSupervisor:
    """Watch ``process`` (already started) from a thread; restart it with backoff."""

    def __init__(
        self,
        process: TritonProcess,
        *,
        max_restarts: int = 3,
        backoff_s: float = 1.0,
        poll_s: float = 0.5,
        on_give_up: Callable[[], None] = lambda: None,
    ) -> None:
        self.process = process
        self.max_restarts = max_restarts
        self.backoff_s = backoff_s
        self.poll_s = poll_s
        self.on_give_up = on_give_up
        self.restarts = 0
        self.gave_up = False
        self._alive = True
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="triton-supervisor", daemon=True)

    def alive(self) -> bool:
        """False from the moment the child is found dead until a restart is ready."""
        return self._alive and not self.gave_up

    def start(self) -> TritonSupervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=120)

    def _watch(self) -> None:
        failures = 0
        while not self._stopping.wait(self.poll_s):
            if self.process.running():
                continue
            self._alive = False
            logger.error(
                "tritonserver died", extra={"exit_code": self.process.returncode,
                                            "restarts": self.restarts}
            )  # fmt: skip
            self.process.stop()  # its stubs too
            if self.restarts >= self.max_restarts:
                self.gave_up = True
                logger.error("tritonserver died after %d restarts; exiting", self.restarts)
                self.on_give_up()
                return
            if self._stopping.wait(self.backoff_s * 2**failures):
                return
            failures += 1
            self.restarts += 1
            try:
                self.process.start()
            except TritonStartError as exc:
                logger.error("tritonserver restart failed: %s", exc)
                continue
            failures = 0
            self._alive = True
            logger.info("tritonserver restarted", extra={"restarts": self.restarts})
