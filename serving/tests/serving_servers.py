"""A real uvicorn server on 127.0.0.1 in a thread, shared by the fixtures and tests."""

from __future__ import annotations

import threading
import time

import uvicorn

from latte_contracts.ports import free_port


class ServerThread:
    """A real uvicorn server on 127.0.0.1 in a thread, for one app."""

    def __init__(self, app, settings=None) -> None:
        self.port = free_port()
        self.app = app
        if settings is None:
            config = uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
            )
        else:  # the config `serve` runs with (bounded request heads), on a free port
            from latte_serving._server import server_config

            config = server_config(app, settings.model_copy(update={"port": self.port}))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
