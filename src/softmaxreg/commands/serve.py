"""``softmaxreg serve RUN_DIR``: the run's model in a web page and behind a JSON API.

Checks the run folder as ``evaluate`` and ``predict`` do before binding the port, then serves until
Ctrl-C or SIGTERM. Prints ``serving RUN_DIR at http://HOST:PORT`` once connections are accepted, and
``/?token=TOKEN`` after it when a route needs the token (training is on, or ``--token-for-all``): the
token is made here (or comes from ``--token`` / ``$SOFTMAXREG_TOKEN``) so that every worker shares it.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import Any

from softmaxreg.commands._common import say, warn
from softmaxreg.errors import ConfigError, SoftmaxRegError

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


def _token(args: argparse.Namespace, runs_dir: str | None) -> str | None:
    """``--token``, else ``$SOFTMAXREG_TOKEN``, else a new one when a route needs it (None: none does)."""
    from softmaxreg.serve.security import TOKEN_ENV, new_token

    given = args.token or os.environ.get(TOKEN_ENV) or None
    if given is None and (runs_dir is not None or args.token_for_all):
        return new_token()
    return given


def _warn_exposed(host: str, token: str | None) -> None:
    from softmaxreg.serve.security import is_loopback

    if is_loopback(host):
        return
    needs = "the token" if token else "nothing"
    warn(f"softmaxreg: warning: listening on {host}: every machine that reaches this port can use the page and "
         f"the prediction API ({needs} is asked for them), and the token travels unencrypted over plain HTTP. "
         "On an open network put the server behind an HTTPS reverse proxy (see docs/guide/security.md).")  # fmt: skip


def _say_serving(run_dir: str | None, address: str, runs_dir: str | None) -> None:
    say(f"serving {run_dir or 'no run yet'} at {address}")
    if runs_dir is not None:
        say(f"training allowed: runs from the page go to {runs_dir}")


def run(args: argparse.Namespace) -> int:
    """Load and check the run, bind the port, serve until stopped."""
    runs_dir = _runs_dir(args)
    app_module, server = _import_server()
    from softmaxreg.serve.security import Access
    from softmaxreg.serve.state import ServedRun

    token = _token(args, runs_dir)
    hosts = [*args.allowed_hosts, args.host]  # the address bound is a name of the server too
    Access.build(hosts, token, args.token_for_all, args.cors or ())  # refuse a bad setting before loading anything
    app_module.one_thread_per_process()
    # the same checks as evaluate and predict, before any port is taken
    served = ServedRun.load(args.run_dir) if args.run_dir is not None else None
    settings = {"lang": args.lang, "data_dir": args.data_dir, "cors": args.cors, "runs_dir": runs_dir,
                "allowed_hosts": hosts, "token": token, "token_for_all": args.token_for_all}  # fmt: skip
    app = app_module.create_app(served, **settings) if args.workers == 1 else None
    os.environ.update(app_module.settings_to_env(run=args.run_dir, **settings))  # for the worker processes
    try:
        sock = server.bind(args.host, args.port)
    except OSError as err:
        raise ConfigError(f"Cannot listen on {args.host}:{args.port}: {err.strerror or err}. "
                          "Choose another --port (0 picks a free one).") from None  # fmt: skip
    _warn_exposed(args.host, token if args.token_for_all else None)
    address = server.url(sock)
    shown = f"{address}/?token={token}" if token else address
    signal.signal(signal.SIGTERM, _raise_stop)
    from softmaxreg.serve.connections import Limits

    limits = Limits.for_this_process(args.limit_concurrency)
    try:
        server.run(app, sock, args.workers, lambda: _say_serving(args.run_dir, shown, runs_dir), limits)
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        sock.close()
    say("stopped")
    return 0
