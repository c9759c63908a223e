"""Training from the page (``softmaxreg serve --allow-training``): one run at a time, watched live.

A `RunManager` lives on ``app.state.training`` (None without the flag). It starts the worker
process (`softmaxreg.serve.worker`, ``softmaxreg train``'s own steps), reads its JSON lines on the
event loop, keeps the live state of the run (settings, one metrics row per epoch, the windowed
training loss several times an epoch with the ten templates of that moment, progress within the
epoch, how it ended) and sends every change to the pages listening (server-sent events, in each
page's language). A page that connects, or reconnects after a reload, gets the whole state first.
When a run finishes, its model takes the place of the served one. The worker runs in a session of
its own: only this manager stops it (SIGINT, as Ctrl-C), so a Ctrl-C in the server's terminal
reaches it once. It starts with a safe import path (never the server's working folder, where a
``json.py`` would run) and an environment cleaned of the server's secrets (`worker_command`,
`worker_env`).

One run at a time, atomically: `RunManager.start` claims the state (``starting``) before its first
``await``, so simultaneous starts get a 409 whatever the timing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import numbers
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from softmaxreg._validate import check_choice
from softmaxreg.errors import ConfigError, SoftmaxRegError
from softmaxreg.runs import folder
from softmaxreg.runs.config import TrainConfig
from softmaxreg.runs.recipes import RECIPE_CHOICES, RECIPES
from softmaxreg.serve.errors import shorten
from softmaxreg.serve.messages import localize
from softmaxreg.serve.state import ModelStore, ServedRun

logger = logging.getLogger(__name__)
MAX_EPOCHS = 50  # the page trains short runs; longer ones belong to `softmaxreg train`
FORM = ("epochs", "lr", "batch_size", "weight_decay", "model")
LIVE = ("starting", "running", "stopping")
STOP_WAIT = 60  # seconds the server waits, when it shuts down, for a run to stop after its current step
LINE_LIMIT = 1 << 22  # one epoch line holds the ten templates (~80 kB); asyncio's default limit is 64 kB
LISTENER_BACKLOG = 256  # messages a page may fall behind before it is dropped (it reconnects and catches up)
MAX_BATCH_SIZE = 65536
# what the worker keeps of the server's environment: locale, home, temporary and cache folders, our data
# settings, the thread and device settings of torch; never the token or the server's settings
WORKER_ENV = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT",
              "LOCALAPPDATA", "APPDATA", "USERPROFILE", "VIRTUAL_ENV", "MPLBACKEND", "MPLCONFIGDIR", "PYTHONHASHSEED",
              "PYTHONUTF8", "PYTHONIOENCODING"}  # fmt: skip
WORKER_ENV_PREFIXES = ("LC_", "XDG_", "SOFTMAXREG_", "OMP_", "MKL_", "OPENBLAS_", "KMP_", "TORCH_", "CUDA_")
SECRET_ENV = {"SOFTMAXREG_TOKEN", "SOFTMAXREG_SERVE_SETTINGS"}


class TrainingConflictError(SoftmaxRegError):
    """A run is already training (or none is, for stop): 409."""


def config_from_form(recipe: str, settings: dict[str, Any]) -> TrainConfig:
    """The recipe's `TrainConfig` with the page's settings (``None``: the recipe's), checked as the CLI checks them.

    Raises:
        ConfigError: a setting is out of range, e.g. "`lr` must be a positive number; got -1."
    """
    check_choice("recipe", recipe, RECIPE_CHOICES)
    epochs = settings.get("epochs")
    if epochs is not None and (not isinstance(epochs, numbers.Integral) or isinstance(epochs, bool)
                               or not 1 <= epochs <= MAX_EPOCHS):  # fmt: skip
        raise ConfigError(f"`epochs` must be a whole number from 1 to {MAX_EPOCHS} on the page; got "
                          f"{shorten(epochs if _small(epochs) else 'a larger number')}. "
                          "Train longer runs with softmaxreg train.")  # fmt: skip
    size = settings.get("batch_size")
    if isinstance(size, numbers.Integral) and not isinstance(size, bool) and size > MAX_BATCH_SIZE:
        raise ConfigError(f"`batch_size` must be at most {MAX_BATCH_SIZE:,} on the page; got "
                          f"{shorten(size if _small(size) else 'a larger number')}.")  # fmt: skip
    return RECIPES[recipe].replace(**{name: settings.get(name) for name in FORM})


def _small(value: Any) -> bool:
    """Whether ``value`` may be shown: not an integer of hundreds of digits."""
    return not isinstance(value, numbers.Integral) or abs(int(value)) < 10**18


def worker_command(settings: dict[str, Any]) -> list[str]:
    """The worker's command line: ``python -P -m softmaxreg.serve.worker`` (``-P``: the working folder is not
    put on the import path; Python 3.10, which lacks it, drops that entry itself before importing anything)."""
    if sys.version_info >= (3, 11):
        return [sys.executable, "-P", "-m", "softmaxreg.serve.worker", json.dumps(settings)]
    code = "import sys; del sys.path[0]; import runpy; runpy.run_module('softmaxreg.serve.worker', run_name='__main__')"
    return [sys.executable, "-c", code, json.dumps(settings)]


def worker_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment cleaned for the worker (`WORKER_ENV`), ``PYTHONPATH`` kept to absolute folders."""
    environ = dict(os.environ if environ is None else environ)
    env = {name: value for name, value in environ.items()
           if (name in WORKER_ENV or name.startswith(WORKER_ENV_PREFIXES)) and name not in SECRET_ENV}  # fmt: skip
    paths = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.isabs(p)]
    if paths:  # a relative entry would be read from the working folder, as "" is
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONSAFEPATH"] = "1"
    return env


def list_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """The run folders directly in ``runs_dir``, newest first: name, model, completed epochs, last val_acc."""
    runs = []
    for path in sorted(runs_dir.glob(f"*/{folder.CONFIG}"), reverse=True):
        run_dir = path.parent
        try:
            config = folder.read_config(run_dir)
            history = folder.read_metrics(run_dir)
        except SoftmaxRegError:  # still starting, or not trained a single epoch: nothing to serve
            continue
        if history:
            runs.append({"name": run_dir.name, "model": config.get("model"), "epochs": len(history),
                         "planned_epochs": config.get("epochs"), "val_acc": history[-1]["val_acc"]})  # fmt: skip
    return runs


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class RunManager:
    """The one run trained from the page, and the pages watching it.

    Args:
        runs_dir: where new run folders go, and whose run folders the page may serve.
        data_dir: where the worker looks first for Fashion-MNIST (as ``train --data-dir``).
        store: the served model, replaced when a run finishes.
    """

    def __init__(self, runs_dir: str | Path, data_dir: str | None, store: ModelStore) -> None:
        self.runs_dir = Path(runs_dir)
        self.data_dir = data_dir
        self.store = store
        self.process: asyncio.subprocess.Process | None = None
        self.state: dict[str, Any] = {"status": "idle", "run": None, "config": None, "history": [], "templates": None,
                                      "points": [], "progress": None, "message": "", "model_version": 0}  # fmt: skip
        self._listeners: dict[asyncio.Queue[str | None], str] = {}  # each page's queue -> its language
        self._follower: asyncio.Task[None] | None = None
        self._end: dict[str, Any] | None = None  # the worker's last line
        self._ready = False  # the worker said it handles SIGINT (its "ready" line)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    @property
    def running(self) -> bool:
        return self.state["status"] in LIVE

    def snapshot(self, lang: str = "en") -> dict[str, Any]:
        """The whole live state, and the run served now (a page that connects starts from it), in ``lang``."""
        serving = self.store.run.run_dir if self.store.has_run else None
        name = serving.name if serving is not None and serving.parent.resolve() == self.runs_dir.resolve() else serving
        return {**self.state, "message": localize(self.state["message"], lang),
                "serving": None if name is None else str(name), "runs_dir": str(self.runs_dir)}  # fmt: skip

    # -- listeners ---------------------------------------------------------------------------------

    def listen(self, lang: str = "en") -> asyncio.Queue[str | None]:
        """A queue of the server-sent events to come, their messages in ``lang``; None in it ends the stream."""
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue(LISTENER_BACKLOG)
        if self._closing:
            queue.put_nowait(None)
        else:
            self._listeners[queue] = lang
        return queue

    def close_streams(self) -> None:
        """End every stream soon (the server is stopping); safe to call from a signal handler."""
        self._closing = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._end_streams)

    def _end_streams(self) -> None:
        for queue in list(self._listeners):
            self._listeners.pop(queue, None)
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)

    def unlisten(self, queue: asyncio.Queue[str | None]) -> None:
        self._listeners.pop(queue, None)

    def _publish(self, event: str = "state", data: dict[str, Any] | None = None) -> None:
        texts: dict[str, str] = {}  # serialised once per language for every page
        for queue, lang in list(self._listeners.items()):
            if lang not in texts:
                texts[lang] = sse(event, self.snapshot(lang) if data is None else data)
            try:
                queue.put_nowait(texts[lang])
            except asyncio.QueueFull:  # a page that stopped reading: end its stream; EventSource reconnects
                self._listeners.pop(queue, None)
                queue.get_nowait()
                queue.put_nowait(None)

    # -- the run -----------------------------------------------------------------------------------

    async def start(self, config: TrainConfig) -> dict[str, Any]:
        """Start training ``config`` in a worker process.

        Raises:
            TrainingConflictError: a run is training already.
        """
        if self.running:
            raise TrainingConflictError(
                self._busy("Cannot start another run") + " Stop it first, or wait for it to end."
            )
        # claimed before the first await: a second start that arrives while the process spawns gets a 409
        before = dict(self.state)
        self.state.update(status="starting", run=None, config=config.to_dict(), history=[], templates=None,
                          points=[], progress=None, message="", worker_pid=None)  # fmt: skip
        self._end = None
        settings = {"config": config.to_dict(), "runs_dir": str(self.runs_dir), "data_dir": self.data_dir}
        try:
            self.process = await asyncio.create_subprocess_exec(
                *worker_command(settings), env=worker_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                limit=LINE_LIMIT, start_new_session=True,
            )  # fmt: skip
        except BaseException:  # no process (OSError), or the request was cancelled: nothing is training
            self.state = before
            raise
        self._ready = False
        self.state["worker_pid"] = self.process.pid
        self._follower = asyncio.create_task(self._follow(self.process))
        self._publish()
        return self.snapshot()

    async def stop(self) -> dict[str, Any]:
        """Stop the run as Ctrl-C does: after the current step, its folder keeping the completed epochs.

        Raises:
            TrainingConflictError: no run is training.
        """
        if not self.running or self.process is None:
            raise TrainingConflictError("No run is training, so there is nothing to stop.")
        if self.state["status"] != "stopping":
            if self._ready:  # once: a second Ctrl-C would interrupt a checkpoint write
                self.process.send_signal(signal.SIGINT)
            # else the worker's Python is still starting: a SIGINT now would kill it mid-import; it is sent
            # when the worker says it can take one ("ready")
            self.state["status"] = "stopping"
            self._publish()
        return self.snapshot()

    def _busy(self, what: str) -> str:
        progress = self.state["progress"] or {}
        where = f", epoch {progress.get('epoch', 1)} of {self.state['config']['epochs']}" if self.state["run"] else ""
        return f"{what}: {self.state['run'] or 'a run'} is training{where}, and one run trains at a time."

    async def _follow(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            try:
                self._on_message(json.loads(line))
            except (ValueError, KeyError) as err:
                logger.warning("training worker: unreadable line %r (%s)", line[:120], err)
        code = await process.wait()
        end = self._end or {"status": "failed",
                            "message": f"The training process ended unexpectedly (exit code {code}). "
                            f"{self.state['run'] or 'The run'} keeps its completed epochs."}  # fmt: skip
        self.state.update(status=end["status"], message=end["message"], progress=None)  # one update: how it ended
        if self.state["status"] == "finished":
            await self._serve_new_run()
        self._publish()

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "progress":
            self.state["progress"] = {k: message[k] for k in ("epoch", "batch", "batches")}
            if self.state["status"] == "starting":
                self.state["status"] = "running"
            self._publish("progress", self.state["progress"])
            return
        if kind == "point":  # the board's training loss, a fraction of an epoch further
            point = [message["x"], message["train_loss"]]
            self.state["points"].append(point)
            self.state["templates"] = message["templates"]
            self._publish("point", {"point": point, "templates": message["templates"]})
            return
        if kind == "ready":  # the worker handles SIGINT from now on: a stop asked for meanwhile is sent
            self._ready = True
            if self.state["status"] == "stopping" and self.process is not None:
                self.process.send_signal(signal.SIGINT)
            return
        if kind == "started":
            self.state.update(run=Path(message["run"]).name, run_path=message["run"])
            if self.state["status"] == "starting":
                self.state["status"] = "running"
        elif kind == "epoch":
            self.state["history"].append(message["metrics"])
            self.state.update(templates=message["templates"], sent_at=message["sent_at"])
        elif kind == "end":  # told once the worker has exited (and the run is served, when it finished)
            self._end = message
            return
        self._publish()

    async def _serve_new_run(self) -> None:
        try:
            run = await asyncio.to_thread(ServedRun.load, self.state["run_path"])
        except SoftmaxRegError as err:
            self.state["message"] += f" It cannot be served: {err}"
            return
        self.store.replace(run)
        self.state["model_version"] += 1
        self.state["message"] += " The page now predicts with its model."

    async def serve(self, name: str) -> dict[str, Any]:
        """Serve the run folder ``name`` of the runs directory (one listed by `list_runs`).

        Raises:
            ConfigError: no such run folder to serve.
            TrainingConflictError: it is the run training now.
        """
        names = [run["name"] for run in list_runs(self.runs_dir)]
        if name not in names:  # only names listed: no path of the server can be asked for
            raise ConfigError(f"`run` must be one of the run folders of {self.runs_dir}: "
                              f"{', '.join(names[:5]) or 'none yet'}; got {shorten(repr(name))}.")  # fmt: skip
        if self.running and name == self.state["run"]:
            raise TrainingConflictError(self._busy(f"Cannot serve {name}") + " Serve it once it has ended.")
        run = await asyncio.to_thread(ServedRun.load, self.runs_dir / name)
        self.store.replace(run)
        self.state["model_version"] += 1
        self._publish()
        return self.snapshot()

    async def shutdown(self) -> None:
        """Stop a training run (as Ctrl-C does) and wait for its folder to be complete; end every stream."""
        self._closing = True
        self._end_streams()
        if self.process is None or self.process.returncode is not None:
            return
        if self.state["status"] != "stopping":
            self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_WAIT)
        except asyncio.TimeoutError:
            self.process.kill()
