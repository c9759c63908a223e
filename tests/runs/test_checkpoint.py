"""Checkpoints: safetensors + JSON round trips, never pickle, clear errors."""

import json

import pytest
import torch
from torch import nn

from softmaxreg.errors import CheckpointError
from softmaxreg.models import SoftmaxRegression
from softmaxreg.runs import checkpoint
from softmaxreg.runs.checkpoint import TrainingState, capture_rng, load_training_state, restore_rng, save_training_state


def steps(model, optimizer, n, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        X, y = torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()


@pytest.mark.parametrize(
    "make",
    [
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
        lambda p: torch.optim.Adam(p, lr=0.01),
    ],
)
def test_optimizer_state_round_trip_continues_identically(tmp_path, make):
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    optimizer = make(model.parameters())
    steps(model, optimizer, 3, seed=1)
    save_training_state(
        tmp_path, TrainingState(3, model.state_dict(), optimizer.state_dict(), capture_rng(torch.device("cpu")))
    )
    steps(model, optimizer, 2, seed=2)  # the uninterrupted run

    state = load_training_state(tmp_path)
    copy = nn.Linear(4, 3)
    copy.load_state_dict(state.model)
    copy_optimizer = make(copy.parameters())
    copy_optimizer.load_state_dict(state.optimizer)
    steps(copy, copy_optimizer, 2, seed=2)  # the resumed one
    assert state.epoch == 3
    for a, b in zip(model.parameters(), copy.parameters(), strict=True):
        assert torch.equal(a, b)


def test_rng_state_round_trip(tmp_path):
    torch.manual_seed(5)
    rng = capture_rng(torch.device("cpu"))
    first = torch.randperm(100)
    save_training_state(tmp_path, TrainingState(1, {}, {"state": {}, "param_groups": []}, rng, {"note": "x"}))
    torch.manual_seed(6)
    state = load_training_state(tmp_path)
    restore_rng(state.rng)
    assert torch.equal(torch.randperm(100), first)
    assert state.extra == {"note": "x"}


def test_files_are_safetensors_and_json_not_pickle(tmp_path):
    model = SoftmaxRegression(10, 0.1)
    model(torch.zeros(1, 1, 28, 28))
    checkpoint.save_checkpoint(model, tmp_path, {"model": "concise"})
    for name in ("model.safetensors",):
        data = (tmp_path / name).read_bytes()
        header_size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_size])
        assert set(header) - {"__metadata__"} == {"net.1.weight", "net.1.bias"}


def test_load_model_rebuilds_the_saved_model(tmp_path):
    model = SoftmaxRegression(10, 0.1)
    X = torch.rand(2, 1, 28, 28)
    logits = model(X)
    meta = {"model": "concise", "num_inputs": 784, "num_outputs": 10, "lr": 0.1}
    checkpoint.save_checkpoint(model, tmp_path, meta)
    loaded, metadata = checkpoint.load_model(tmp_path)
    assert metadata == meta and not loaded.training
    assert torch.equal(loaded(X), logits)


def test_load_model_errors(tmp_path):
    with pytest.raises(CheckpointError, match="Expected a run folder at .*; it does not exist"):
        checkpoint.load_model(tmp_path / "none")
    with pytest.raises(CheckpointError, match="Expected model.json in .*; it does not exist"):
        checkpoint.load_model(tmp_path)
    scratch = {"model": "scratch", "num_inputs": 784, "num_outputs": 10, "lr": 0.1}
    (tmp_path / "model.json").write_text(json.dumps(scratch))
    with pytest.raises(CheckpointError, match="Expected model.safetensors in .*; it does not exist"):
        checkpoint.load_model(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="Expected a safetensors file in .*model.safetensors; got 7 bytes"):
        checkpoint.load_model(tmp_path)
    concise = SoftmaxRegression(10, 0.1)
    concise(torch.zeros(1, 784))
    checkpoint.save_weights(concise, tmp_path / "model.safetensors")  # weights of the other model
    with pytest.raises(CheckpointError, match="do not fit the model"):
        checkpoint.load_model(tmp_path)


def test_nothing_to_resume(tmp_path):
    with pytest.raises(CheckpointError, match="Expected resume.json in .*No epoch of this run was completed"):
        load_training_state(tmp_path)
