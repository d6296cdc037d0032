"""The HTTP transport: a threaded stdlib server that can also misbehave on purpose."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import struct
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .app import App, Request, Response, json_response
from .config import EmulatorConfig

log = logging.getLogger("emulator")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tickerhouse-emulator/1"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in one write; without NODELAY, Nagle and delayed ACKs add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._serve()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, host)
        try:
            resp = self.server.app.handle(req)
        except Exception as exc:  # an emulator bug must not look like a vendor fault
            log.error("emulator error on %s: %s", self.path, traceback.format_exc())
            resp = json_response(500, {"error": f"emulator internal error: {type(exc).__name__}: {exc}"})
        if resp.delay:
            time.sleep(resp.delay)
        if resp.reset:
            self._reset()
            return
        self._send(resp)

    def _send(self, resp: Response) -> None:
        data = resp.encoded()
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if resp.truncate_to is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
            data = data[: resp.truncate_to]
        self._headers_buffer.append(b"\r\n")
        head = b"".join(self._headers_buffer)
        self._headers_buffer = []
        self.wfile.write(head if self.command == "HEAD" else head + data)

    def _reset(self) -> None:
        # SO_LINGER 0 turns close() into a TCP RST: the client sees "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app: App):
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        # Clients hanging up (often on purpose, after a fault) are not errors worth printing.
        log.debug("connection error from %s", client_address, exc_info=True)


class Emulator:
    """All four vendors on one local address, served from a background thread."""

    def __init__(self, config: EmulatorConfig | None = None, port: int = 0, host: str = "127.0.0.1"):
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self.app = App(self.config)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), self.app)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use it as a context manager")
        return f"http://{self.host}:{self.port}"

    # -- the admin endpoints, in-process ---------------------------------------------------------
    def counts(self) -> dict:
        from .admin import counts

        return counts(self.app)

    def reset(self) -> None:
        self.app.reset()

    def fault_log(self) -> list[dict]:
        return self.app.faults.entries()

    def set_fault_profile(self, name: str | None) -> None:
        self.app.faults.set_profile(name)

    def add_fault_rules(self, rules: list[dict], replace: bool = False) -> None:
        self.app.faults.add_rules(rules, replace=replace)

    def set_plan(self, key: str, plan: str) -> None:
        from .config import PLANS

        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}")
        self.app.plans[key] = plan

    def now(self) -> dt.datetime:
        return self.app.now()

    def advance(self, seconds: float) -> None:
        self.app.clock.advance(seconds)

    def set_clock(self, when: dt.datetime) -> None:
        self.app.clock.set(when)

    def labels(self, **params: str) -> list[dict]:
        from urllib.parse import urlencode

        from .admin import labels

        return labels(self.app, Request("GET", "/_emulator/news/labels?" + urlencode(params), {}))["labels"]

    def universe(self, day: dt.date | None = None) -> dict:
        from .admin import universe

        return universe(self.app, day or self.app.today())


def serve(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until interrupted (Ctrl-C)."""
    app = App(config)
    server = _Server((host, port), app)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
