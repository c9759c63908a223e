"""``softmaxreg serve RUN_DIR``: the run's model in a web page and behind a JSON API.

Checks the run folder as ``evaluate`` and ``predict`` do before binding the port, then serves until
Ctrl-C or SIGTERM. Prints ``serving RUN_DIR at http://HOST:PORT`` once connections are accepted.
"""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

from softmaxreg.commands._common import say, warn
from softmaxreg.errors import ConfigError, SoftmaxRegError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
INSTALL = 'pip install "softmaxreg[serve]"'


class MissingExtraError(SoftmaxRegError):
    """An optional dependency is not installed."""


def _import_server() -> Any:
    try:
        from softmaxreg.serve import app, server
    except ModuleNotFoundError as err:
        raise MissingExtraError(
            f"`softmaxreg serve` needs FastAPI and uvicorn ({err.name} is missing); install them with: {INSTALL}"
        ) from None
    return app, server


class _Stop(Exception):
    """SIGTERM, raised once uvicorn has shut down gracefully and passes the signal on."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop


def run(args: argparse.Namespace) -> int:
    """Load and check the run, bind the port, serve until stopped."""
    if args.run_dir is None:
        raise ConfigError("`RUN_DIR` is required: pass a folder made by `softmaxreg train`.")
    app_module, server = _import_server()
    from softmaxreg.serve.state import ServedRun

    app_module.one_thread_per_process()
    served = ServedRun.load(args.run_dir)  # the same checks as evaluate and predict, before any port is taken
    settings = {"lang": args.lang, "data_dir": args.data_dir, "cors": args.cors}
    app = app_module.create_app(served, **settings) if args.workers == 1 else None
    os.environ.update(app_module.settings_to_env(run=args.run_dir, **settings))  # for the worker processes
    try:
        sock = server.bind(args.host, args.port)
    except OSError as err:
        raise ConfigError(f"Cannot listen on {args.host}:{args.port}: {err.strerror or err}. "
                          "Choose another --port (0 picks a free one).") from None  # fmt: skip
    if args.host not in LOCAL_HOSTS:
        warn(f"softmaxreg: warning: listening on {args.host}: other machines can reach this page and API.")
    address = server.url(sock)
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        server.run(app, sock, args.workers, lambda: say(f"serving {args.run_dir} at {address}"))
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        sock.close()
    say("stopped")
    return 0
