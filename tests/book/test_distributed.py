"""Data-parallel training under torchrun: real 2-process gloo runs on the real Fashion-MNIST.

Each run is ``python -m torch.distributed.run --standalone --nproc_per_node=2 ...`` (torchrun) in a
subprocess with a hard timeout. What a 2-process run must match is a 1-process run of the same
seed: metrics.csv to 4 decimals (val_acc exactly), and the weights within 1e-5 (measured: 2e-7).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import SRC, cli_env, run_cli

pytestmark = [pytest.mark.real_data, pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")]

WEIGHT_TOLERANCE = 1e-5  # max |w_2 - w_1| after 2 epochs; float32 sums in another order drift ~1e-7
TIMEOUT = 240  # hard bound on any one torchrun launch: nothing may hang the suite


def torchrun_command(*args: str, nproc: int = 2) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]


def torchrun(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node=2 -m softmaxreg ARGS`` (or a script), finished within TIMEOUT."""
    return subprocess.run(
        torchrun_command(*args), cwd=cwd, env=_env(cwd, env), capture_output=True, text=True, timeout=TIMEOUT
    )


def _env(cwd: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **cli_env(cwd), "PYTHONPATH": str(SRC), **(extra or {})}


def metrics(run_dir: Path) -> list[dict[str, str]]:
    """metrics.csv without the wall-clock column, each number to 4 decimals."""
    with (run_dir / "metrics.csv").open(newline="") as f:
        return [{k: f"{float(v):.4f}" for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def max_weight_difference(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    return max(float((wa[k] - wb[k]).abs().max()) for k in wa)


def softmaxreg_lines(stderr: str) -> list[str]:
    """Our lines on stderr (torchrun adds its own warnings and failure report)."""
    return [line for line in stderr.splitlines() if line.startswith("softmaxreg: ")]


@pytest.fixture(scope="module")
def reference(real_data_dir, tmp_path_factory):
    """One process: ``one`` (1 epoch) and ``two`` (the same run resumed to 2 epochs, which equals
    training 2 epochs at once)."""
    base = tmp_path_factory.mktemp("reference")
    data = ["--data-dir", str(real_data_dir), "--quiet"]
    result = run_cli("train", "--epochs", "1", "--out", "one", *data, cwd=base, env=cli_env(base))
    assert result.returncode == 0, result.stderr
    shutil.copytree(base / "one", base / "two")
    result = run_cli("train", "--resume", "two", "--epochs", "2", "--quiet", cwd=base, env=cli_env(base))
    assert result.returncode == 0, result.stderr
    return base


def test_two_processes_train_the_one_process_run(reference, real_data_dir, tmp_path):
    result = torchrun("-m", "softmaxreg", "train", "--epochs", "2", "--out", "run", "--data-dir", str(real_data_dir),
                      cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    assert metrics(run) == metrics(reference / "two")
    assert max_weight_difference(run, reference / "two") <= WEIGHT_TOLERANCE
    config = json.loads((run / "config.json").read_text())
    assert (config["world_size"], config["backend"], config["batch_size"]) == (2, "gloo", 256)
    # process 0 alone prints and writes: one line per epoch, one result, one folder
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines[:2]] == ["1/2", "2/2"] and len(lines) == 4, result.stdout
    assert lines[-1] == "run folder: run" and softmaxreg_lines(result.stderr) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "run"]


def test_a_one_process_run_resumes_with_two(reference, tmp_path):
    shutil.copytree(reference / "one", tmp_path / "run")
    result = torchrun("-m", "softmaxreg", "train", "--resume", "run", "--epochs", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("resuming run at epoch 2/2\nepoch   2/2")
    assert metrics(tmp_path / "run") == metrics(reference / "two")
    assert max_weight_difference(tmp_path / "run", reference / "two") <= WEIGHT_TOLERANCE
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    # the run started in one process: the top says so; the resume records its own two
    assert (config["world_size"], config["backend"]) == (1, None)
    assert (config["resumes"][-1]["world_size"], config["resumes"][-1]["backend"]) == (2, "gloo")


def _worker_pid(torchrun_pid: int, rank: int) -> int:
    """The pid of the torchrun worker whose environment says ``RANK=rank``."""
    children = [
        int(c) for t in Path(f"/proc/{torchrun_pid}/task").iterdir() for c in (t / "children").read_text().split()
    ]
    for pid in children:
        if f"RANK={rank}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            return pid
    raise AssertionError(f"no worker of rank {rank} among {children}")


def test_a_killed_process_stops_the_run_which_resumes_with_one(reference, real_data_dir, tmp_path):
    """SIGKILL to process 1 during epoch 2: process 0 names it in one line and exits (torchrun
    too); the folder keeps epoch 1, and one process resumes it to the one-process run."""
    args = ["-m", "softmaxreg", "train", "--epochs", "3", "--out", "run", "--data-dir", str(real_data_dir)]
    with subprocess.Popen(torchrun_command(*args), cwd=tmp_path, env=_env(tmp_path), text=True, start_new_session=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as launch:  # fmt: skip
        try:
            first = launch.stdout.readline()
            assert first.startswith("epoch   1/3"), first + launch.stderr.read()
            os.kill(_worker_pid(launch.pid, rank=1), signal.SIGKILL)
            out, err = launch.communicate(timeout=60)  # the bound: the survivors exit well within it
        finally:
            if launch.poll() is None:  # torchrun and its workers: nothing outlives the test
                os.killpg(launch.pid, signal.SIGKILL)
    assert launch.returncode != 0
    assert softmaxreg_lines(err) == [
        f"softmaxreg: error: process 1 of 2 on {socket.gethostname()} died without an error report "
        "(killed by a signal, or out of memory); "
        "the other processes stopped too. run keeps the last completed epoch; resume with: "
        "torchrun --nproc-per-node=2 -m softmaxreg train --resume run"
    ], err
    assert len(metrics(tmp_path / "run")) == 1
    result = run_cli("train", "--resume", "run", "--epochs", "2", "--quiet", cwd=tmp_path, env=cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert metrics(tmp_path / "run") == metrics(reference / "two")
    assert max_weight_difference(tmp_path / "run", reference / "two") <= WEIGHT_TOLERANCE


def test_an_exception_in_one_process_is_named_by_process_0(real_data_dir, tmp_path):
    """Process 1 raises in its 10th step (injected by a sitecustomize module): one line says so."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(
        textwrap.dedent("""
        import os
        if os.environ.get("RANK") == "1":
            from softmaxreg.book import optim
            step, calls = optim.SGD.step, []
            def failing_step(self, *args, **kwargs):
                calls.append(1)
                if len(calls) == 10:
                    raise RuntimeError("injected fault")
                return step(self, *args, **kwargs)
            optim.SGD.step = failing_step
    """)
    )
    env = {"PYTHONPATH": os.pathsep.join([str(inject), str(SRC)])}
    result = torchrun("-m", "softmaxreg", "train", "--epochs", "1", "--out", "run", "--data-dir", str(real_data_dir),
                      cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode != 0
    assert softmaxreg_lines(result.stderr) == [
        f"softmaxreg: error: process 1 of 2 on {socket.gethostname()} failed: RuntimeError: injected fault; "
        "the other processes stopped too. "
        "run keeps the last completed epoch; resume with: torchrun --nproc-per-node=2 -m softmaxreg train --resume run"
    ], result.stderr
    assert result.stderr.count("injected fault") == 1  # no traceback from process 1: the line says it all


def _inject(tmp_path: Path, code: str) -> dict[str, str]:
    """An environment whose processes run ``code`` at start-up (a sitecustomize module)."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(textwrap.dedent(code))
    return {"PYTHONPATH": os.pathsep.join([str(inject), str(SRC)])}


def test_a_process_without_the_data_is_named_in_one_line(real_data_dir, tmp_path):
    """Only process 1 lacks the data (a second machine without a copy): it fails at start-up, before
    training, and torchrun stops process 0 at once; the user still reads one line naming process 1
    and its cause, and no run folder is left."""
    env = _inject(
        tmp_path,
        """
        import os
        if os.environ.get("RANK") == "1":  # this process's machine has no copy (and is offline)
            os.environ.pop("SOFTMAXREG_DATA", None)
            os.environ["SOFTMAXREG_SYSTEM_DATA"] = ""
    """,
    )
    env["SOFTMAXREG_DATA"] = str(real_data_dir)
    result = torchrun("-m", "softmaxreg", "train", "--epochs", "1", "--out", "run", cwd=tmp_path, env=env)
    assert result.returncode != 0
    lines = softmaxreg_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"softmaxreg: error: process 1 of 2 on {socket.gethostname()}: Fashion-MNIST was not found"
    ), lines
    assert not (tmp_path / "run").exists()  # the corrected command may use the same --out


def test_a_batch_size_too_small_to_share_leaves_no_folder(real_data_dir, tmp_path):
    """60,000 in batches of 59,999 leaves a last batch of 1 for 2 processes: refused before the folder exists."""
    result = torchrun("-m", "softmaxreg", "train", "--epochs", "1", "--batch-size", "59999", "--out", "run",
                      "--data-dir", str(real_data_dir), cwd=tmp_path)  # fmt: skip
    assert result.returncode != 0
    lines = softmaxreg_lines(result.stderr)
    assert len(lines) == 1 and "`batch_size` must give each of the 2 processes at least one example" in lines[0]
    assert not (tmp_path / "run").exists()


FOUNDING_CODE = """\
import torch
from torch import nn
from torch.nn import functional as F
import softmaxreg as d2l

class SoftmaxRegression(d2l.Classifier):
  def __init__(self, num_outputs, lr):
    super().__init__()
    self.save_hyperparameters()
    self.net = nn.Sequential(nn.Flatten(),
                             nn.LazyLinear(num_outputs))
  def forward(self,X):
    return self.net(X)

@d2l.add_to_class(d2l.Classifier)
def loss(self, Y_hat, Y, averaged=True):
  Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
  Y = Y.reshape((-1,))
  return F.cross_entropy(
      Y_hat, Y, reduction='mean' if averaged else 'none'
  )

data = d2l.FashionMNIST(batch_size=256)
X, y = next(iter(data.train_dataloader()))
print(X.shape, y.shape)
model = SoftmaxRegression(num_outputs=10, lr=0.1)
trainer = d2l.Trainer(max_epochs=10)
trainer.fit(model, data)
"""

REPORT = """
import json, os, hashlib
weights = b"".join(p.detach().numpy().tobytes() for p in model.parameters())
report = json.dumps({"rank": int(os.environ["RANK"]), "history": trainer.history,
                     "weights": hashlib.sha256(weights).hexdigest()})
os.write(1, f"RESULT {report}\\n".encode())  # one write (< PIPE_BUF): the two processes' lines never interleave
"""


def test_the_founding_code_trains_data_parallel_unchanged(real_data_dir, tmp_path):
    """The founding document's code (import line changed, fit uncommented, as in test_seed.py),
    run by torchrun: two processes, one model: identical weights, 10 epochs, the book's accuracy."""
    (tmp_path / "seed.py").write_text(FOUNDING_CODE + REPORT)
    result = torchrun("seed.py", cwd=tmp_path, env={"SOFTMAXREG_DATA": str(real_data_dir)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("torch.Size([256, 1, 28, 28]) torch.Size([256])") == 2  # the script's own print
    reports = sorted((json.loads(line[7:]) for line in result.stdout.splitlines() if line.startswith("RESULT ")),
                     key=lambda r: r["rank"])  # fmt: skip
    assert [r["rank"] for r in reports] == [0, 1]
    assert reports[0]["weights"] == reports[1]["weights"]  # bit for bit: one model trained by two processes
    assert reports[0]["history"] == [{**row, "seconds": row2["seconds"]} for row, row2 in
                                     zip(reports[1]["history"], reports[0]["history"], strict=True)]  # fmt: skip
    history = reports[0]["history"]
    assert len(history) == 10 and history[-1]["val_acc"] >= 0.80
    assert history[-1]["train_loss"] < 0.6 * history[0]["train_loss"]
