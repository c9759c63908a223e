"""Data parallelism under ``torchrun``: the few points where the `Trainer` talks to the other processes.

Outside ``torchrun`` (no ``WORLD_SIZE`` above 1 in the environment) `setup` returns `SINGLE`, whose
methods do nothing, and training is exactly what it was. Under ``torchrun --nproc_per_node=N`` each
process calls, at these named points of the loop:

- `setup`: ``init_process_group`` (gloo on the CPU; NCCL on CUDA, on GPU ``LOCAL_RANK``), once per
  process, with a timeout (``SOFTMAXREG_DIST_TIMEOUT`` seconds, 60 by default);
- `DataParallel.sync_start`: at the start of ``fit``, every process takes process 0's random number
  generator state, model weights, optimizer state and loop counters (so a run resumed by process 0
  alone, or a script that seeds nothing, trains one model);
- `DataParallel.share`: each global batch of n examples is cut into N contiguous shares; process r
  takes rows ``[r·q + min(r, m), (r+1)·q + min(r+1, m))`` with ``q, m = divmod(n, N)``: the first m
  processes get one example more (a last batch of 96 over 2: 48 + 48; of 7 over 2: 4 + 3). Every
  process draws the same permutation from the same generator, so the global batches are those of
  the one-process run;
- `DataParallel.all_reduce_grads`: the gradient becomes the mean over the global batch,
  ``Σ_r (n_r / n) · grad_r`` (each share's loss is a mean over its n_r examples, as d2l's is), in one
  all-reduce that also carries each process's "stop" vote (Ctrl-C), so every process stops after
  the same step;
- `DataParallel.sum_metrics`: the metric log's weighted sums and counts are summed over the
  processes, so ``val_acc`` is exact over all validation examples;
- `DataParallel.from_main`: decisions such as early stopping are process 0's;
- `DataParallel.note_failure`: a process that raises leaves its cause where the others read it.

When a collective fails (a process was killed or raised), each survivor says so in a
`DistributedError` naming the process (its rank and machine) and the cause; only one of them reports
it (process 0, or the first survivor when process 0 died), the others are silent.

Before training starts (the first collective of ``fit``), a process that fails says so itself, in
one line naming it (`failure_report`): torchrun stops the others at once (SIGTERM), before process 0
could learn why. One line in all: the first process to fail claims the report in torchrun's store,
and the others (and process 0's report of the failure) stay silent.

Examples:
    >>> SINGLE.world_size, SINGLE.is_main, SINGLE.share((torch.arange(5),))[0].tolist()
    (1, True, [0, 1, 2, 3, 4])
    >>> share_bounds(7, rank=1, world_size=2), share_bounds(96, rank=1, world_size=2)
    ((4, 7), (48, 96))
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import torch

from softmaxreg._validate import env_number
from softmaxreg.errors import ConfigError, DistributedError

T = TypeVar("T")
TIMEOUT_ENV = "SOFTMAXREG_DIST_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
_NOTE_PREFIX = "softmaxreg/"
_GRACE = 2.0  # seconds survivors wait to learn who else survived


def share_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of a global batch of ``n`` that process ``rank`` of ``world_size`` takes.

    Examples:
        >>> [share_bounds(10, r, 3) for r in range(3)]
        [(0, 4), (4, 7), (7, 10)]
    """
    q, m = divmod(n, world_size)
    return rank * q + min(rank, m), (rank + 1) * q + min(rank + 1, m)


def timeout_seconds() -> float:
    """The bound on waiting for another process: ``SOFTMAXREG_DIST_TIMEOUT`` (seconds), else 60.

    Raises:
        ConfigError: the variable is not a positive number.
    """
    return env_number(TIMEOUT_ENV, DEFAULT_TIMEOUT, float, minimum=math.ulp(0.0))  # any positive number


def launched() -> bool:
    """Whether this process is one of several started by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def env_rank() -> int:
    """This process's rank from torchrun's environment (0 outside torchrun); no process group needed."""
    return int(os.environ.get("RANK", "0")) if launched() else 0


def env_world_size() -> int:
    """The number of processes from torchrun's environment (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1")) if launched() else 1


def process_name(rank: int, world_size: int, host: str | None) -> str:
    """How a message names a process: ``process 1 of 2 on node7``.

    Examples:
        >>> process_name(1, 2, "node7"), process_name(0, 4, None)
        ('process 1 of 2 on node7', 'process 0 of 4')
    """
    return f"process {rank} of {world_size}" + (f" on {host}" if host else "")


_UNSET: Any = object()
_agent: Any = _UNSET


def agent_store() -> Any:
    """A client of torchrun's own store (it outlives the workers), for failure notes; or None.

    Needs no process group, so a process that fails before joining the others can leave a note too.
    """
    global _agent
    if _agent is not _UNSET:
        return _agent
    _agent = None
    if not launched() or os.environ.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() != "true":
        return None
    import torch.distributed as dist

    try:
        wait = min(timeout_seconds(), 10.0)
    except ConfigError:  # reported by setup; the note still goes out
        wait = 10.0
    try:
        store = dist.TCPStore(
            os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
            timeout=timedelta(seconds=wait),
        )  # fmt: skip
        run = os.environ.get("TORCHELASTIC_RUN_ID", "run")
        restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        _agent = dist.PrefixStore(f"{run}/{restart}/", store)
        _agent.set(f"{_NOTE_PREFIX}host/{env_rank()}", socket.gethostname())
    except (RuntimeError, KeyError, ValueError):
        _agent = None
    return _agent


def _claim_report() -> bool:
    """Whether this process is the first to report a failure of this launch (True without a store)."""
    store = agent_store()
    if store is None:
        return True
    try:
        return int(store.add(f"{_NOTE_PREFIX}reported", 1)) == 1
    except Exception:  # noqa: BLE001 - the store is gone: better two lines than none
        return True


def _note(rank: int, error: BaseException) -> None:
    store = agent_store()
    if store is None or isinstance(error, DistributedError):
        return
    with contextlib.suppress(Exception):  # the store went with the failure: the others say "killed"
        store.set(f"{_NOTE_PREFIX}failed/{rank}", f"{type(error).__name__}: {_first_line(error)}")


def failure_report(error: BaseException, text: str | None) -> str | None:
    """The line this process prints for ``error`` under torchrun, or None when another one says it.

    ``text`` is the line a single process would print (``softmaxreg: error: ...``). Once training
    has started, process 0 reports its own errors and, in a `DistributedError`, another process's
    (naming it and where the run resumes); the others are silent. Before that, the first process to
    fail prints ``text`` naming itself (``softmaxreg: error: process 1 of 2 on node7: ...``).
    """
    if isinstance(error, DistributedError):  # another process's failure, named already
        return text if text is not None and not error.silent and _claim_report() else None
    rank = env_rank()
    _note(rank, error)
    if getattr(_current, "started", False):
        return text if rank == 0 else None
    if text is None or not _claim_report():
        return None
    head, sep, tail = text.partition("error: ")
    name = process_name(rank, env_world_size(), socket.gethostname())
    return f"{head}{sep}{name}: {tail}" if sep else f"{text} ({name})"


class SingleProcess:
    """One process: every method leaves its argument as it is."""

    world_size = 1
    rank = 0
    is_main = True
    backend: str | None = None

    def device(self, device: torch.device) -> torch.device:
        """The device this process trains on."""
        return device

    def check_loader(self, loader: Any) -> None:
        """Refuse a loader whose batches cannot give every process an example (nothing to check here)."""

    def share(self, batch: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        """This process's rows of a global batch."""
        return batch

    @property
    def global_batch_size(self) -> int | None:
        """Examples in the last global batch `share` cut (``None``: no sharing)."""
        return None

    share_start = 0  # the row of the global batch where this process's share starts

    def sync_start(self, trainer: Any, model: Any) -> None:
        """Give every process process 0's state at the start of ``fit``."""

    def all_reduce_grads(self, model: Any, stop: bool) -> None:
        """Turn each process's gradient into the mean over the global batch; vote on stopping."""

    def check_reduced(self) -> None:
        """After a training epoch: refuse a loop that never averaged its gradients (nothing to check here)."""

    def agreed_stop(self, stop: bool) -> bool:
        """Whether to stop after this step: ``stop`` here; the vote's outcome under torchrun."""
        return stop

    def sum_metrics(self, sums: list[float], counts: list[int]) -> tuple[list[float], list[int]]:
        """The metric log's weighted sums and counts over all processes."""
        return sums, counts

    def first_nonfinite(self, local: tuple[int, float] | None) -> tuple[int, float]:
        """The first non-finite value (batch index, value) over all processes."""
        return local if local is not None else (0, math.nan)

    def from_main(self, value: T) -> T:
        """Process 0's ``value`` (a bool, number or string), in every process."""
        return value

    def broadcast_text(self, text: str | None) -> str:
        """Process 0's ``text`` in every process."""
        return text or ""

    def barrier(self) -> None:
        """Wait until every process is here (nothing to wait for)."""

    def note_failure(self, error: BaseException) -> None:
        """Leave the cause of this process's death where the others can read it."""

    def run_on_main(self, task: Callable[[], T]) -> T:
        """``task()`` (JSON-ready result) in process 0 only, e.g. reading or creating the run folder;
        every process gets its result, or raises its error (silently but in process 0)."""
        return task()


SINGLE = SingleProcess()
_current: SingleProcess | None = None


def current() -> SingleProcess:
    """The process group set up by `setup`, else `SINGLE` (without setting anything up)."""
    return _current or SINGLE


def setup() -> SingleProcess:
    """Join the other processes of a ``torchrun`` launch (once per process), or return `SINGLE`.

    The process group has gloo for CPU tensors and, where CUDA exists, NCCL for CUDA tensors (on
    GPU ``LOCAL_RANK``); `SingleProcess.device` then says which one training uses.

    Raises:
        ConfigError: ``SOFTMAXREG_DIST_TIMEOUT`` is not a positive number.
        DistributedError: the other processes did not join within the timeout.
    """
    global _current
    if _current is not None:
        return _current
    if not launched():
        return SINGLE
    import torch.distributed as dist

    timeout = timeout_seconds()
    backends = "gloo"
    if torch.cuda.is_available() and dist.is_nccl_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        backends = "cpu:gloo,cuda:nccl"
    try:
        dist.init_process_group(backends, timeout=timedelta(seconds=timeout))
    except (RuntimeError, ValueError) as err:  # DistStoreError, DistNetworkError: the rendezvous failed
        raise DistributedError(
            f"Expected {os.environ.get('WORLD_SIZE')} processes to join within {timeout:g} s; got this: "
            f"{_first_line(err)}. Start every process (check --nnodes and --rdzv-endpoint)."
        ) from None
    _current = DataParallel(dist, timeout)
    atexit.register(_teardown)
    return _current


def _teardown() -> None:
    import torch.distributed as dist

    if dist.is_initialized() and not getattr(_current, "broken", False):
        dist.destroy_process_group()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _is_lazy(t: torch.Tensor) -> bool:
    return torch.nn.parameter.is_lazy(t)


class DataParallel(SingleProcess):
    """One of ``world_size`` processes under ``torchrun`` (see the module docstring)."""

    def __init__(self, dist: Any, timeout: float) -> None:
        self.dist = dist
        self.backend = "gloo"  # until `device` says the training runs on CUDA
        self.timeout = timeout
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        self.is_main = self.rank == 0
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self._comm = torch.device("cpu")  # where collectives' tensors live: the training device
        self._global_n: int | None = None
        self._local_n = 0
        self._stop = False
        self._reduced = 0  # gradient all-reduces since the last check_reduced
        self.broken = False
        self.started = False  # training has started: process 0 reports failures from here on
        self._store = agent_store()

    # -- the points the Trainer calls ------------------------------------------------------------

    def device(self, device: torch.device) -> torch.device:
        if device.type == "cuda":
            self._comm, self.backend = torch.device("cuda", self.local_rank), "nccl"
            return self._comm
        return device

    def check_loader(self, loader: Any) -> None:
        n, size = getattr(loader, "num_examples", None), getattr(loader, "batch_size", None)
        if isinstance(n, int) and isinstance(size, int) and n > 0:
            smallest = min(size, n % size or size)
            self._check_share(smallest)

    def _check_share(self, n: int) -> None:
        if n < self.world_size:
            raise ConfigError(
                f"`batch_size` must give each of the {self.world_size} processes at least one example; "
                f"got a batch of {n}. Choose a batch size whose batches (the last one too) hold at least "
                f"{self.world_size} examples, or start fewer processes."
            )

    def share(self, batch: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        n = len(batch[-1])
        self._check_share(n)
        start, stop = share_bounds(n, self.rank, self.world_size)
        self._global_n, self._local_n = n, stop - start
        return tuple(t[start:stop] for t in batch)

    @property
    def global_batch_size(self) -> int | None:
        return self._global_n

    @property
    def share_start(self) -> int:
        return share_bounds(self._global_n or 0, self.rank, self.world_size)[0]

    def sync_start(self, trainer: Any, model: Any) -> None:
        self._stop = False
        state = {
            "epoch": getattr(trainer, "start_epoch", 0), "train_batch_idx": trainer.train_batch_idx,
            "val_batch_idx": trainer.val_batch_idx, "history": trainer.history,
        }  # fmt: skip
        state = json.loads(self.broadcast_text(json.dumps(state) if self.is_main else None))
        self.started = True  # every process is here: process 0 is in fit, where it outlives torchrun's SIGTERM
        trainer.start_epoch, trainer.history = state["epoch"], state["history"]
        trainer.train_batch_idx, trainer.val_batch_idx = state["train_batch_idx"], state["val_batch_idx"]
        self._sync_rng(trainer.device)
        weights = {k: v for k, v in model.state_dict().items() if not _is_lazy(v)}
        received = self._broadcast_tree(weights)
        if not self.is_main and received:
            model.load_state_dict(received, strict=False)  # loading materialises lazy layers
        optim = getattr(trainer, "optim", None)
        if optim is not None:
            received = self._broadcast_tree(optim.state_dict())
            if not self.is_main:
                optim.load_state_dict(received)

    def all_reduce_grads(self, model: Any, stop: bool) -> None:
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        scale = self._local_n / self._global_n if self._global_n else 1.0
        vote = torch.tensor([1.0 if stop else 0.0], device=grads[0].device if grads else self._comm)
        flat = torch.cat([*(g.reshape(-1) * scale for g in grads), vote])  # (num_params + 1,)
        self._collective(lambda: self.dist.all_reduce(flat))
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()
        self._stop = bool(flat[-1] > 0)  # one host sync per step: every process stops after the same step
        self._reduced += 1

    def check_reduced(self) -> None:
        if self._global_n is not None and self._reduced == 0:  # trained on shares, never averaged
            raise ConfigError(
                "Expected the gradients to be averaged over the processes in each step; got an epoch without it: "
                "a fit_epoch replaced with add_to_class trains each process on its own share. Under torchrun, "
                "use the Trainer's own fit_epoch, or call trainer.parallel.all_reduce_grads(model, "
                "trainer.interrupted) after loss.backward() in yours."
            )
        self._reduced = 0

    def agreed_stop(self, stop: bool) -> bool:
        return self._stop

    def sum_metrics(self, sums: list[float], counts: list[int]) -> tuple[list[float], list[int]]:
        values = torch.tensor([*sums, *counts], dtype=torch.float64, device=self._comm)
        self._collective(lambda: self.dist.all_reduce(values))
        total = values.tolist()
        k = len(sums)
        return total[:k], [int(round(c)) for c in total[k:]]

    def first_nonfinite(self, local: tuple[int, float] | None) -> tuple[int, float]:
        # index * 4 + kind (0: NaN, 1: +inf, 2: -inf) reduced with MIN: the first bad batch anywhere
        kinds = (math.nan, math.inf, -math.inf)
        code = 2**62 if local is None else local[0] * 4 + (0 if math.isnan(local[1]) else 1 if local[1] > 0 else 2)
        value = torch.tensor([code], dtype=torch.int64, device=self._comm)
        self._collective(lambda: self.dist.all_reduce(value, op=self.dist.ReduceOp.MIN))
        index, kind = divmod(int(value), 4)
        return index, kinds[kind]

    def from_main(self, value: T) -> T:
        return json.loads(self.broadcast_text(json.dumps(value) if self.is_main else None))

    def broadcast_text(self, text: str | None) -> str:
        data = (text or "").encode() if self.is_main else b""
        size = torch.tensor([len(data)], dtype=torch.int64, device=self._comm)
        self._collective(lambda: self.dist.broadcast(size, src=0))
        buffer = torch.zeros(int(size), dtype=torch.uint8)
        if self.is_main:
            buffer = torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else buffer
        buffer = buffer.to(self._comm)
        self._collective(lambda: self.dist.broadcast(buffer, src=0))
        return bytes(buffer.cpu().tolist()).decode()

    def run_on_main(self, task: Callable[[], T]) -> T:
        if not self.is_main:
            reply = json.loads(self.broadcast_text(None))
            if "error" in reply:
                error = DistributedError(reply["error"], silent=True)
                error.exit_code = reply["exit_code"]
                raise error
            return reply["value"]
        try:
            value = task()
        except Exception as err:
            self.broadcast_text(json.dumps({"error": str(err), "exit_code": getattr(err, "exit_code", 2)}))
            raise
        self.broadcast_text(json.dumps({"value": value}))
        return value

    def barrier(self) -> None:
        """Wait until every process is here (e.g. has found its data); a failed one is named."""
        self._collective(lambda: self.dist.all_reduce(torch.zeros(1, device=self._comm)))

    def note_failure(self, error: BaseException) -> None:
        _note(self.rank, error)

    # -- tensors ---------------------------------------------------------------------------------

    def _sync_rng(self, device: torch.device) -> None:
        state = self._broadcast(torch.get_rng_state())
        torch.set_rng_state(state)
        if device.type == "cuda":
            torch.cuda.set_rng_state(self._broadcast(torch.cuda.get_rng_state(device)), device)

    def _broadcast(self, tensor: torch.Tensor) -> torch.Tensor:
        """Process 0's ``tensor`` (same shape and dtype in every process), on ``tensor``'s device."""
        moved = tensor.to(self._comm)
        self._collective(lambda: self.dist.broadcast(moved, src=0))
        return moved.to(tensor.device)

    def _broadcast_tree(self, tree: Any) -> Any:
        """Process 0's nested dicts/lists of tensors and JSON values (a state dict) in every process.

        The structure travels as JSON with each tensor's shape and dtype; then the tensors, one
        broadcast each. Nothing is unpickled.
        """
        tensors: list[torch.Tensor] = []

        def encode(node: Any) -> Any:
            if isinstance(node, torch.Tensor):
                tensors.append(node)
                return {"__tensor__": [list(node.shape), str(node.dtype).removeprefix("torch."), str(node.device)]}
            if isinstance(node, dict):
                return {"keys": [encode(k) for k in node], "values": [encode(v) for v in node.values()]}
            if isinstance(node, (list, tuple)):
                return {"list": [encode(v) for v in node]}
            return node

        spec = json.loads(self.broadcast_text(json.dumps(encode(tree)) if self.is_main else None))
        received = iter(tensors)

        def decode(node: Any) -> Any:
            if isinstance(node, dict) and "__tensor__" in node:
                shape, dtype, device = node["__tensor__"]
                t = next(received) if self.is_main else torch.empty(shape, dtype=getattr(torch, dtype), device=device)
                return self._broadcast(t)
            if isinstance(node, dict) and "keys" in node:
                return {decode(k): decode(v) for k, v in zip(node["keys"], node["values"], strict=True)}
            if isinstance(node, dict) and "list" in node:
                return [decode(v) for v in node["list"]]
            return node

        return decode(spec)

    # -- faults ----------------------------------------------------------------------------------

    def _collective(self, call: Callable[[], Any]) -> Any:
        if self.broken:
            raise DistributedError("A process of this run failed before.", silent=True)
        try:
            return call()
        except RuntimeError as err:  # DistBackendError and gloo's errors: a peer died or timed out
            self.broken = True
            raise self._peer_failure(err) from None

    def _peer_failure(self, err: RuntimeError) -> DistributedError:
        """Find which processes died and why; only the first survivor reports it."""
        store, alive, notes, hosts = self._store, {self.rank}, {}, {}
        if store is not None:
            try:
                store.set(f"{_NOTE_PREFIX}alive/{self.rank}", "1")
                deadline = time.monotonic() + min(_GRACE, self.timeout)
                while time.monotonic() < deadline and len(alive) < self.world_size:
                    alive = {r for r in range(self.world_size) if store.check([f"{_NOTE_PREFIX}alive/{r}"])}
                    time.sleep(0.1)
                notes = {
                    r: store.get(f"{_NOTE_PREFIX}failed/{r}").decode()
                    for r in range(self.world_size)
                    if store.check([f"{_NOTE_PREFIX}failed/{r}"])
                }
                hosts = {
                    r: store.get(f"{_NOTE_PREFIX}host/{r}").decode()
                    for r in range(self.world_size)
                    if store.check([f"{_NOTE_PREFIX}host/{r}"])
                }
            except Exception:  # noqa: BLE001 - the store is gone too: say what we know
                pass
        dead = sorted((set(range(self.world_size)) - alive) | set(notes))
        timed_out = "timeout" in str(err).lower() or "timed out" in str(err).lower()
        causes = [self._cause(r, notes.get(r), timed_out, hosts.get(r)) for r in dead] or [
            f"another process failed ({_first_line(err)})"
        ]
        reporter = min(alive) == self.rank and 0 not in notes  # process 0 reported its own error itself
        return DistributedError(
            f"{'; '.join(causes)}; the other processes stopped too.",
            silent=not reporter,
        )

    def _cause(self, rank: int, note: str | None, timed_out: bool, host: str | None = None) -> str:
        who = process_name(rank, self.world_size, host)
        if note is not None:
            return f"{who} failed: {note}"
        if timed_out:
            return (
                f"{who} did not answer within {self.timeout:g} s "
                f"(stuck, or on a lost machine; {TIMEOUT_ENV} sets the wait)"
            )
        return f"{who} died without an error report (killed by a signal, or out of memory)"
