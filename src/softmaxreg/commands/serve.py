"""``softmaxreg serve RUN_DIR``: the run's model in a web page and behind a JSON API.

Checks the run folder as ``evaluate`` and ``predict`` do before binding the port, then serves until
Ctrl-C or SIGTERM. Prints ``serving RUN_DIR at http://HOST:PORT`` once connections are accepted.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
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


def _runs_dir(args: argparse.Namespace) -> str | None:
    """Where runs trained from the page go: ``--runs-dir``, RUN_DIR's parent, or ./runs (None: no training)."""
    if not args.allow_training:
        if args.run_dir is None:
            raise ConfigError("`RUN_DIR` is required: pass a folder made by `softmaxreg train`.")
        if args.runs_dir is not None:
            raise ConfigError("`--runs-dir` needs --allow-training: it says where runs trained from the page go.")
        return None
    if args.workers != 1:
        raise ConfigError(
            f"`--allow-training` needs --workers 1 (one process owns the training run); got {args.workers}."
        )
    if args.runs_dir is not None:
        return args.runs_dir
    return str(Path(args.run_dir).parent) if args.run_dir is not None else "runs"


def _say_serving(run_dir: str | None, address: str, runs_dir: str | None) -> None:
    say(f"serving {run_dir or 'no run yet'} at {address}")
    if runs_dir is not None:
        say(f"training allowed: runs from the page go to {runs_dir}")


def run(args: argparse.Namespace) -> int:
    """Load and check the run, bind the port, serve until stopped."""
    runs_dir = _runs_dir(args)
    app_module, server = _import_server()
    from softmaxreg.serve.state import ServedRun

    app_module.one_thread_per_process()
    # the same checks as evaluate and predict, before any port is taken
    served = ServedRun.load(args.run_dir) if args.run_dir is not None else None
    settings = {"lang": args.lang, "data_dir": args.data_dir, "cors": args.cors, "runs_dir": runs_dir}
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
        server.run(app, sock, args.workers, lambda: _say_serving(args.run_dir, address, runs_dir))
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        sock.close()
    say("stopped")
    return 0
