"""``latte up <env> --monitoring``'s alert path: a real Alertmanager wired to latte's incidents
receiver, for the Prometheus extra to send its alerts to.

The Alertmanager runs the repository's configuration rendered with the ``local`` profile of
``gitops/monitoring/alertmanager/profiles.yaml`` (``latte incidents alertmanager-config``'s
render: routing, grouping, inhibition as in every env; notify 1 s after the first alert,
re-send an unchanged incident hourly). Its receivers point at one local receiver
(:mod:`latte.alerting.receiver`): ``incidents`` stores alerts in the incident log (so
`latte incidents list/show` explain them), ``page``/``ticket``/``watchdog`` are appended to a
notification log instead of reaching a pager.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from latte.up.errors import UpError
from latte.up.stack import Extra, Stack

__all__ = ["PROFILE", "AlertPaths", "alertmanager"]

PROFILE = "local"


@dataclasses.dataclass(frozen=True)
class AlertPaths:
    """Where the receiver writes: the incident log and the notification log."""

    incidents: Path
    notifications: Path


def alertmanager(
    root: Path, paths: AlertPaths | None = None, *, startup_timeout_s: float = 60.0
) -> Extra:
    """An ``up`` extra: the receiver and Alertmanager (before Prometheus, which reads
    ``stack.services["alertmanager"]``). ``paths`` default to the run's folder."""

    def start(stack: Stack) -> contextlib.AbstractContextManager[object]:
        where = paths or AlertPaths(
            stack.work / "incidents" / "alerts.jsonl",
            stack.work / "incidents" / "notifications.jsonl",
        )
        return _running(root, stack, where, startup_timeout_s)

    return start


@contextlib.contextmanager
def _running(root: Path, stack: Stack, paths: AlertPaths, timeout: float) -> Iterator[object]:
    from latte.alerting import alertmanager as config
    from latte.alerting.errors import AlertingError
    from latte.alerting.incidents import IncidentStore
    from latte.alerting.receiver import make_server
    from latte.up.monitoring import daemon, free_port

    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        raise UpError(
            "--monitoring needs Alertmanager (Debian: apt-get install prometheus-alertmanager)"
        )
    server = make_server(
        IncidentStore(paths.incidents), "127.0.0.1", 0, notifications=paths.notifications
    )
    thread = threading.Thread(target=server.serve_forever, name="incidents-receiver", daemon=True)
    thread.start()
    try:
        receiver = f"http://127.0.0.1:{server.server_address[1]}"
        urls = {name: f"{receiver}/notify/{name}" for name in config.RECEIVERS}
        urls["incidents"] = f"{receiver}/"
        folder = stack.work / "alertmanager"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            rendered = config.dump(config.render(root, PROFILE, urls))
        except AlertingError as exc:
            raise UpError(f"cannot render the Alertmanager config: {exc}") from exc
        (folder / "alertmanager.yml").write_text(rendered)
        port = free_port()
        argv = [binary, f"--config.file={folder / 'alertmanager.yml'}",
                f"--storage.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address="]  # fmt: skip
        with daemon(stack, "alertmanager", argv, f"http://127.0.0.1:{port}", timeout):
            stack.services["incidents"] = receiver
            yield server
    finally:
        server.shutdown()
        server.server_close()
