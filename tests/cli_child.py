"""``python tests/cli_child.py ARGS``: ``softmaxreg ARGS`` in a real process, with test hooks set by environment.

What tests need to make real processes overlap deterministically, and nothing else changes:

- ``SOFTMAXREG_TEST_MD5``: JSON ``{file key: md5}``; these checksums are accepted (conftest's
  synthetic Fashion-MNIST).
- ``SOFTMAXREG_TEST_BARRIER``: ``"DIR N"``; before claiming a run folder, wait until N processes
  have arrived in DIR, so that they all claim at the same moment.
- ``SOFTMAXREG_TEST_HOLD``: ``FILE``; after claiming a run folder, wait until FILE exists, so that
  the winner still holds its claim while the others try.
- ``SOFTMAXREG_TEST_PAUSE``: ``"EPOCH BATCH FILE"``; before that training batch (both 1-based),
  create FILE and wait until ``FILE.go`` exists (or the test kills the process).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

TIMEOUT = 300.0


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"cli_child: gave up waiting for {what}")
        time.sleep(0.01)


def accept_checksums(digests: dict[str, str]) -> None:
    from softmaxreg.datasets import sources

    sources.FILES = tuple(replace(f, md5=digests[f.key]) for f in sources.FILES)


def synchronize_claims(barrier: str | None, hold: str | None) -> None:
    """Wrap the claims the commands make: meet at the barrier first, hold the claim after."""
    from softmaxreg.runs import lock

    depth = [0]  # claim_new_run_dir calls claim_new: only the outermost claim waits

    def wrap(claim):
        @functools.wraps(claim)
        def synchronized(*args, **kwargs):
            depth[0] += 1
            try:
                if depth[0] == 1 and barrier:
                    folder, count = barrier.split()
                    Path(folder, str(os.getpid())).touch()
                    wait_for(lambda: len(os.listdir(folder)) >= int(count), "the other processes")
                result = claim(*args, **kwargs)
                if depth[0] == 1 and hold:
                    wait_for(lambda: Path(hold).exists(), hold)
                return result
            finally:
                depth[0] -= 1

        return synchronized

    for name in ("claim_new", "claim_new_run_dir", "claim_existing"):
        setattr(lock, name, wrap(getattr(lock, name)))


def pause_in_training(epoch: int, batch: int, file: str) -> None:
    from softmaxreg.book.trainer import Trainer

    prepare, seen = Trainer.prepare_batch, {}

    def prepare_batch(self, data):
        if self.model.training:
            seen[self.epoch] = seen.get(self.epoch, 0) + 1
            if (self.epoch + 1, seen[self.epoch]) == (epoch, batch):
                Path(file).touch()
                wait_for(lambda: Path(file + ".go").exists(), file + ".go")
        return prepare(self, data)

    Trainer.prepare_batch = prepare_batch


def main(argv: list[str]) -> int:
    env = os.environ
    if env.get("SOFTMAXREG_TEST_MD5"):
        accept_checksums(json.loads(env["SOFTMAXREG_TEST_MD5"]))
    if env.get("SOFTMAXREG_TEST_BARRIER") or env.get("SOFTMAXREG_TEST_HOLD"):
        synchronize_claims(env.get("SOFTMAXREG_TEST_BARRIER"), env.get("SOFTMAXREG_TEST_HOLD"))
    if env.get("SOFTMAXREG_TEST_PAUSE"):
        epoch, batch, file = env["SOFTMAXREG_TEST_PAUSE"].split(maxsplit=2)
        pause_in_training(int(epoch), int(batch), file)
    from softmaxreg.commands import cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
