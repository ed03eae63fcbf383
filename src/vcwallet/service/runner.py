"""Run an issuer service under uvicorn: in the foreground (``vcwallet serve``) or in a
background thread on a loopback port (tests, ``vcwallet demo``, benchmarks).

The socket is bound BEFORE the app is built, so an app whose identity depends on its URL
(a did:web carries the port) can be made for a port chosen by the operating system.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Self

import uvicorn

from ..errors import TransportError

STARTUP_TIMEOUT = 15.0


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket (``port=0``: a free port the system picks)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _uvicorn_config(app: Any, **options: Any) -> uvicorn.Config:
    # no access log: one line per request would cost more than the request on loopback
    return uvicorn.Config(app, log_level=options.pop("log_level", "warning"),
                          access_log=False, lifespan="off", **options)


def serve_forever(app: Any, *, host: str, port: int, log_level: str = "info") -> None:
    """Serve ``app`` until interrupted (Ctrl-C / SIGTERM stop it cleanly)."""
    uvicorn.Server(_uvicorn_config(app, host=host, port=port, log_level=log_level)).run()


class BackgroundService:
    """An app served by uvicorn in a daemon thread; ``base_url`` is where it answers.

    ``make_app(base_url)`` builds the app once the port is known. Use as a context manager,
    or call :meth:`stop`.
    """

    def __init__(self, make_app: Callable[[str], Any], *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._sock = bind(host, port)
        bound_port = self._sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{bound_port}"
        try:
            self.app = make_app(self.base_url)
        except BaseException:
            self._sock.close()
            raise
        self._server = uvicorn.Server(_uvicorn_config(self.app))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]},
                                        name=f"vcwallet-service-{bound_port}", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise TransportError(f"the service at {self.base_url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=STARTUP_TIMEOUT)
        self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
