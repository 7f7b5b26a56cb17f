"""A local Lambda Runtime API for `make bench`: one small server per function process.

The Lambda service starts a function's process, which asks the Runtime API for its first event
(``GET /2018-06-01/runtime/invocation/next``) once its init code has run; that request is where
init ends. This server is ours (127.0.0.1, an ephemeral port per process, so a process that is
being stopped can never take another's event) and records, on one monotonic clock:

* ``spawned``: just before the process is started;
* ``ready``: when its first ``GET .../invocation/next`` arrives (init done);
* per invocation: when the event was handed over and when the response (or error) came back.

Everything here is measurement infrastructure for scripts/bench.py.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PREFIX = "/2018-06-01/runtime"


class BenchError(Exception):
    pass


@dataclass
class Invocation:
    request_id: str
    event: Any
    delivered: float = 0.0
    answered: float = 0.0
    result: Any = None
    error: dict[str, Any] | None = None
    done: threading.Event = field(default_factory=threading.Event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: RuntimeApi) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a process stopped while its GET .../next waits: expected, not news


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *_: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        api = self.server.api
        if self.path != f"{PREFIX}/invocation/next":
            self._answer(404)
            return
        if api.ready is None:
            api.ready = time.perf_counter()
            api.ready_event.set()
        inv = api.pending.get()
        if inv is None:  # shutting down
            self._answer(410)
            return
        body = json.dumps(inv.event).encode()
        api.current[inv.request_id] = inv
        inv.delivered = time.perf_counter()
        self._answer(200, body, {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 900_000),
            "Lambda-Runtime-Invoked-Function-Arn":
                f"arn:aws:lambda:us-west-2:123456789012:function:{api.name}",
            "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
        })

    def do_POST(self) -> None:  # noqa: N802
        api = self.server.api
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        now = time.perf_counter()
        parts = self.path[len(PREFIX):].strip("/").split("/")
        if parts == ["init", "error"]:
            api.init_error = _json_or_text(raw)
            api.ready_event.set()
            self._answer(202, b"{}")
            return
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            inv = api.current.pop(parts[1], None)
            if inv is None:
                self._answer(400, b'{"errorMessage":"unknown request id"}')
                return
            inv.answered = now
            if parts[2] == "response":
                inv.result = _json_or_text(raw)
            else:
                inv.error = _json_or_text(raw) or {"errorType": "unknown"}
            self._answer(202, b"{}")
            inv.done.set()
            return
        self._answer(404)


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return {"errorType": "unparsable", "errorMessage": raw[:200].decode("utf-8", "replace")}


class RuntimeApi:
    """The Runtime API one function process talks to."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready: float | None = None
        self.ready_event = threading.Event()
        self.init_error: Any = None
        self.pending: queue.Queue[Invocation | None] = queue.Queue()
        self.current: dict[str, Invocation] = {}
        self.server = _Server(self)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.pending.put(None)
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Subject:
    """A function as the bench runs it: its program, arguments, environment and first event."""

    name: str
    argv: list[str]
    env: dict[str, str]
    event: Any
    kind: str = "function"  # or "floor", "python"


class Process:
    """One function process attached to its own Runtime API."""

    def __init__(self, subject: Subject, log: Path | None = None) -> None:
        self.subject = subject
        self.api = RuntimeApi(subject.name)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": subject.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{subject.name}",
            **subject.env,
        }
        out = open(log, "ab") if log else subprocess.DEVNULL
        self.spawned = time.perf_counter()
        self.proc = subprocess.Popen(subject.argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        if log:
            out.close()  # type: ignore[union-attr]

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Seconds from spawn to the first GET .../invocation/next."""
        deadline = time.monotonic() + timeout
        while not self.api.ready_event.wait(0.05):
            if self.proc.poll() is not None:
                raise BenchError(f"{self.subject.name} exited with {self.proc.returncode} during init")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.subject.name} did not ask for an event within {timeout} s")
        if self.api.ready is None:
            raise BenchError(f"{self.subject.name} failed its init: {self.api.init_error}")
        return self.api.ready - self.spawned

    def invoke(self, event: Any, timeout: float = 120.0) -> Invocation:
        inv = Invocation(str(uuid.uuid4()), event)
        self.api.pending.put(inv)
        deadline = time.monotonic() + timeout
        while not inv.done.wait(0.05):
            if self.proc.poll() is not None:
                raise BenchError(f"{self.subject.name} exited with {self.proc.returncode} while invoked")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.subject.name} did not answer within {timeout} s")
        return inv

    def peak_rss_kib(self) -> int:
        """The process's peak resident set size so far (VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise BenchError("no VmHWM in /proc/<pid>/status")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.api.close()


@dataclass
class ColdStart:
    init_ms: float
    first_invoke_ms: float
    peak_rss_kib: int
    error: str | None


def cold_start(subject: Subject, log: Path | None = None) -> ColdStart:
    """Spawn, wait for init, invoke the first event, read the peak RSS, stop."""
    p = Process(subject, log)
    try:
        init = p.wait_ready()
        inv = p.invoke(subject.event)
        rss = p.peak_rss_kib()
        error = None
        if inv.error is not None:
            error = str(inv.error.get("errorType", "error")) if isinstance(inv.error, dict) else "error"
        return ColdStart(init * 1000, (inv.answered - inv.delivered) * 1000, rss, error)
    finally:
        p.stop()
