"""Start lifeboat's emulated AWS: a moto server with lifeboat's extensions (lifeboat_ext.py).

    python tests/emulator/server.py [--host 127.0.0.1] [--port 0] [--port-file FILE]
                                    [--time-scale 0.01]

Binds 127.0.0.1 only. With --port 0 it takes a free port, prints
``lifeboat-emulator listening on http://127.0.0.1:PORT`` and writes PORT to --port-file.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# moto's EC2 loads thousands of public AMIs into every region it touches (an Auto Scaling group
# launches instances): seconds of CPU per emulator. lifeboat's launch configurations name their
# image directly, and moto does not validate it, so none are loaded.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

import lifeboat_ext  # noqa: E402  (patches moto on import)
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402


class QuietHandler(MotoRequestHandler):
    """Logs nothing per request (set LIFEBOAT_EMULATOR_VERBOSE=1 to see requests)."""

    def log_request(self, *args, **kwargs):  # type: ignore[override]
        if os.environ.get("LIFEBOAT_EMULATOR_VERBOSE"):
            super().log_request(*args, **kwargs)


def build_server(host: str = "127.0.0.1", port: int = 0, time_scale: float | None = None):
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the emulator binds loopback only")
    # Step Functions executes state machines (Pass, Task, Wait, Parallel, .waitForTaskToken, ...);
    # Lambda never needs Docker.
    from moto.core.config import default_user_config

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    default_user_config.setdefault("lambda", {})["use_docker"] = False
    app = lifeboat_ext.LifeboatMiddleware(DomainDispatcherApplication(create_backend_app))
    server = make_server(
        host, port, app, threaded=True, request_handler=QuietHandler
    )
    os.environ["MOTO_PORT"] = str(server.server_port)
    if time_scale is not None:
        lifeboat_ext.DEFAULTS["time_scale"] = time_scale
        lifeboat_ext.STATE.reset()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--time-scale", type=float)
    args = parser.parse_args()
    server = build_server(args.host, args.port, args.time_scale)
    port = server.server_port
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    print(f"lifeboat-emulator listening on http://{args.host}:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
