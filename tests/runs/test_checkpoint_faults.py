"""Damaged run folders, case by case: one clear error from the library and one line from the CLI.

A good run folder is made once by `softmaxreg train` (in this process, on the synthetic data);
each case copies it, damages one file as a user's disk, editor or download would (truncated,
tampered shape or dtype, another model's weights, a pickle, a JSON file missing, broken or
lacking keys, two halves of a save from different epochs), then checks the error of the library
call, of ``evaluate`` and ``predict`` (the model) or ``train --resume`` (the resume state), and
that the refusal changed nothing in the folder.
"""

import json
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch
from conftest import run_cli, train_synthetic_run
from PIL import Image
from safetensors.torch import save

from softmaxreg.errors import CheckpointError
from softmaxreg.runs import checkpoint
from softmaxreg.runs.checkpoint import empty_model, load_training_state, read_safetensors
from softmaxreg.runs.folder import read_model_description

MODEL_FIX = r"Train the model again \(softmaxreg train\), or restore the run folder from a backup\."
RESUME_FIX = r"This run cannot be resumed; start a new one with softmaxreg train\."
DAMAGED_FIX = r"Restore the run folder from a backup, or train a new run \(softmaxreg train\)\."
EDITED = r"It was not written by softmaxreg, or was edited\. "
CHANGED = r"The file was changed after softmaxreg wrote it\. "


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A 2-epoch run folder made by `softmaxreg train --batch-size 16` on the synthetic data."""
    return train_synthetic_run(tmp_path_factory.mktemp("good"), epochs=2)


@pytest.fixture
def run(good_run, tmp_path, fake_fashion):
    """A copy of the good run folder to damage (the synthetic data's checksums are accepted)."""
    return Path(shutil.copytree(good_run, tmp_path / "run"))


def snapshot(folder):
    """Every run file's bytes; not .lock, which records the last process that claimed the folder."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != ".lock"}


# -- ways to damage a file -------------------------------------------------------------------------


def cut(name, keep=0.5):
    def damage(run):
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[: int(len(data) * keep)])

    return damage


def delete(name):
    return lambda run: (run / name).unlink()


def write(name, data):
    return lambda run: (run / name).write_bytes(data.encode() if isinstance(data, str) else data)


def tensors(name, change, tags=None):
    """Rewrite a safetensors file with ``change(tensors)``, keeping (or replacing) its metadata tags."""

    def damage(run):
        found, old_tags = read_safetensors(run / name)
        (run / name).write_bytes(save(change(found), metadata=tags or old_tags or None))

    return damage


def edit_json(name, change):
    def damage(run):
        obj = json.loads((run / name).read_text())
        change(obj)
        (run / name).write_text(json.dumps(obj))

    return damage


def other_model(found):
    return {"W": torch.zeros(784, 10), "b": torch.zeros(10)}  # a scratch model's weights


def set_item(key, value):
    def change(found):
        found[key] = value
        return found

    return change


def nan_weight(found):
    found["net.1.weight"][3, 5] = float("nan")
    return found


class Payload:
    """A pickle that, when loaded, creates a file: what a malicious .pt checkpoint could do."""

    marker = None

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def pickled(run):
    Payload.marker = str(run.parent / "pwned")
    (run / "model.safetensors").write_bytes(pickle.dumps(Payload()))


def torch_saved(run):
    torch.save({"net.1.weight": torch.zeros(10, 784), "net.1.bias": torch.zeros(10)}, run / "model.safetensors")


def resume_over_model(run):
    shutil.copy(run / "model.safetensors", run / "resume.safetensors")


# -- the cases: damage, what the error says ({run} is the run folder) ------------------------------

SAFETENSORS = (
    r"Expected a safetensors file in {run}/{name}; got [\d,]+ bytes that are not one \(.+\): "
    r"it is truncated or damaged\. "
)
MODEL_CASES = {
    "weights truncated": (cut("model.safetensors"), SAFETENSORS.replace("{name}", "model.safetensors") + MODEL_FIX),
    "weights empty": (cut("model.safetensors", 0), SAFETENSORS.replace("{name}", "model.safetensors") + MODEL_FIX),
    "weights missing": (
        delete("model.safetensors"),
        r"Expected model\.safetensors in {run}; it does not exist\. " + MODEL_FIX,
    ),
    "weights a pickle that runs code": (pickled, SAFETENSORS.replace("{name}", "model.safetensors") + MODEL_FIX),
    "weights a torch.save file": (torch_saved, SAFETENSORS.replace("{name}", "model.safetensors") + MODEL_FIX),
    "shape changed": (
        tensors("model.safetensors", set_item("net.1.weight", torch.zeros(784, 10))),
        r"Expected net\.1\.weight in {run}/model\.safetensors to be \(10, 784\) float32; got \(784, 10\) float32\. "
        + CHANGED
        + MODEL_FIX,
    ),
    "weights smaller than model.json says": (
        tensors("model.safetensors", set_item("net.1.weight", torch.zeros(10, 100))),
        r"Expected model\.json to describe the model in model\.safetensors, which holds 1,010 numbers; got num_inputs "
        r"784 and num_outputs 10, a model of 7,850\. One of the two files was changed after softmaxreg wrote it\. "
        + DAMAGED_FIX,
    ),
    "model.json claims 4e9 inputs": (  # found by review: evaluate tried to allocate 160 GB
        edit_json("model.json", lambda m: m.update(num_inputs=4_000_000_000, input_shape=[1, 40_000, 100_000])),
        r"Expected `num_inputs` in {run}/model\.json to be a positive integer up to 16,777,216; got 4000000000\. "
        + EDITED
        + DAMAGED_FIX,
    ),
    "model.json claims more inputs than the weights hold": (  # predict would have resized images to 2048 x 2048
        edit_json("model.json", lambda m: m.update(num_inputs=2048 * 2048, input_shape=[1, 2048, 2048])),
        r"Expected model\.json to describe the model in model\.safetensors, which holds 7,850 numbers; got num_inputs "
        r"4,194,304 and num_outputs 10, a model of 41,943,050\. One of the two files was changed after softmaxreg "
        r"wrote it\. " + DAMAGED_FIX,
    ),
    "dtype changed": (
        tensors("model.safetensors", set_item("net.1.bias", torch.zeros(10, dtype=torch.float64))),
        r"Expected net\.1\.bias in {run}/model\.safetensors to be \(10,\) float32; got \(10,\) float64\. "
        + CHANGED
        + MODEL_FIX,
    ),
    "a NaN weight": (
        tensors("model.safetensors", nan_weight),
        r"Expected finite values in net\.1\.weight of {run}/model\.safetensors; got NaN or infinite ones\. "
        + MODEL_FIX,
    ),
    "another model's weights": (
        tensors("model.safetensors", other_model),
        r"Expected the tensors net\.1\.bias, net\.1\.weight in {run}/model\.safetensors; got W, b: these weights do "
        r"not fit the model \(another model's checkpoint\?\)\. " + MODEL_FIX,
    ),
    "the resume state as weights": (
        lambda run: shutil.copy(run / "resume.safetensors", run / "model.safetensors"),
        r"Expected the tensors net\.1\.bias, net\.1\.weight in {run}/model\.safetensors; got model\.net\.1\.bias, "
        r"model\.net\.1\.weight, rng\.cpu: these weights do not fit the model .*" + MODEL_FIX,
    ),
    "model.json missing": (
        delete("model.json"),
        r"Expected model\.json in {run}; it does not exist\. resume\.json records 2 completed epochs, so softmaxreg "
        r"wrote it: it was deleted or moved since\. " + DAMAGED_FIX,
    ),
    "model.json not JSON": (
        write("model.json", '{"model": "concise", "num_in'),
        r"Expected JSON in {run}/model\.json; got a damaged file \(Unterminated string .*\)\. " + DAMAGED_FIX,
    ),
    "model.json a list": (
        write("model.json", "[1, 2]"),
        r"Expected a JSON object in {run}/model\.json; got a list\. " + DAMAGED_FIX,
    ),
    "model.json lacks keys": (
        edit_json("model.json", lambda m: (m.pop("num_inputs"), m.pop("lr"))),
        r"Expected the keys model, num_inputs, num_outputs, lr in {run}/model\.json; num_inputs, lr are missing\. "
        + EDITED
        + DAMAGED_FIX,
    ),
    "model.json names an unknown model": (
        edit_json("model.json", lambda m: m.update(model="resnet")),
        r"Expected `model` in {run}/model\.json to be one of concise, scratch; got 'resnet'\. " + EDITED + DAMAGED_FIX,
    ),
    "model.json has too few class names": (
        edit_json("model.json", lambda m: m.update(class_names=m["class_names"][:9])),
        r"Expected `class_names` in {run}/model\.json to be a list of 10 names; got \['t-shirt', .*\]\. "
        + EDITED
        + DAMAGED_FIX,
    ),
    "model.json and weights of different epochs": (
        tensors("model.safetensors", lambda t: t, tags={"epoch": "1"}),
        r"Expected model\.safetensors and model\.json of the same epoch in {run}; got epochs 1 and 2: a save was cut "
        r"short between the two files\. " + MODEL_FIX,
    ),
}
RESUME_CASES = {
    "resume tensors truncated": (
        cut("resume.safetensors"),
        SAFETENSORS.replace("{name}", "resume.safetensors") + RESUME_FIX,
    ),
    "resume tensors missing": (
        delete("resume.safetensors"),
        r"Expected resume\.safetensors in {run}; it does not exist\. " + RESUME_FIX,
    ),
    "resume shape changed": (
        tensors("resume.safetensors", set_item("model.net.1.weight", torch.zeros(10, 100))),
        r"Expected model\.net\.1\.weight in {run}/resume\.safetensors to be \(10, 784\) float32; "
        r"got \(10, 100\) float32\. " + CHANGED + RESUME_FIX,
    ),
    "resume dtype changed": (
        tensors("resume.safetensors", set_item("model.net.1.weight", torch.zeros(10, 784, dtype=torch.bfloat16))),
        r"Expected model\.net\.1\.weight in {run}/resume\.safetensors to be \(10, 784\) float32; "
        r"got \(10, 784\) bfloat16\. " + CHANGED + RESUME_FIX,
    ),
    "resume random state changed": (
        tensors("resume.safetensors", set_item("rng.cpu", torch.zeros(16, dtype=torch.uint8))),
        r"Expected rng\.cpu in {run}/resume\.safetensors to be \(5056,\) uint8; got \(16,\) uint8\. "
        + CHANGED
        + RESUME_FIX,
    ),
    "weights as the resume state": (
        resume_over_model,
        r"Expected tensors named model\.\*, optimizer\.\* and rng\.\* in {run}/resume\.safetensors; got net\.1\.bias, "
        r"net\.1\.weight: it is not a resume state \(a model\.safetensors\?\)\. " + RESUME_FIX,
    ),
    "resume.json missing": (
        delete("resume.json"),
        r"Expected resume\.json in {run}; it does not exist\. "
        r"No epoch of this run was completed, so there is nothing to resume\.",
    ),
    "resume.json not JSON": (
        write("resume.json", "\x00\x00"),
        r"Expected JSON in {run}/resume\.json; got a damaged file \(.*\)\. " + RESUME_FIX,
    ),
    "resume.json lacks the optimizer": (
        edit_json("resume.json", lambda m: m.pop("optimizer")),
        r"Expected `optimizer` in {run}/resume\.json "
        r"to be an object with \"state\" and \"param_groups\"; got nothing\. " + EDITED + RESUME_FIX,
    ),
    "resume.json history shorter than its epoch": (
        edit_json("resume.json", lambda m: m["history"].pop()),
        r"Expected `history` in {run}/resume\.json to be a list of 2 rows of numbers, epochs 1 to 2; "
        r"got a list of 1 item\. " + EDITED + RESUME_FIX,
    ),
    "resume.json epoch not a number": (
        edit_json("resume.json", lambda m: m.update(epoch="2")),
        r"Expected `epoch` in {run}/resume\.json to be a positive integer; got '2'\. " + EDITED + RESUME_FIX,
    ),
    "resume halves of different epochs": (
        tensors("resume.safetensors", lambda t: t, tags={"epoch": "3"}),
        r"Expected resume\.safetensors and resume\.json of the same epoch in {run}; got epochs 3 and 2: a save was cut "
        r"short between the two files\. " + RESUME_FIX,
    ),
    "config.json not JSON": (
        write("config.json", "{"),
        r"Expected JSON in {run}/config\.json; got a damaged file \(.*\)\. " + DAMAGED_FIX,
    ),
}


def expected(message, run):
    return message.replace("{run}", re.escape(str(run)))


@pytest.mark.parametrize("case", MODEL_CASES)
def test_a_damaged_model_is_one_clear_error(run, tmp_path, cli_in_process, case):
    damage, message = MODEL_CASES[case]
    damage(run)
    before = snapshot(run)
    with pytest.raises(CheckpointError, match="^" + expected(message, run) + "$"):
        checkpoint.load_model(run)
    Image.new("L", (28, 28)).save(tmp_path / "shirt.png")
    for command in (["evaluate", run], ["predict", run, tmp_path / "shirt.png"]):
        code, out, err = cli_in_process(*command)
        assert (code, out) == (2, "")
        assert re.fullmatch("softmaxreg: error: " + expected(message, run) + "\n", err), err
    assert snapshot(run) == before  # a refusal changes nothing
    assert not (tmp_path / "pwned").exists()  # and never runs a pickle's code


@pytest.mark.parametrize("case", RESUME_CASES)
def test_a_damaged_resume_state_is_one_clear_error(run, cli_in_process, case):
    damage, message = RESUME_CASES[case]
    damage(run)
    before = snapshot(run)
    if case != "config.json not JSON":
        with pytest.raises(CheckpointError, match="^" + expected(message, run) + "$"):
            state = load_training_state(run)
            checkpoint.check_training_state(state, empty_model(read_model_description(run)), run)
    code, out, err = cli_in_process("train", "--resume", run, "--epochs", "3", "--quiet")
    assert (code, out) == (2, "")
    assert re.fullmatch("softmaxreg: error: " + expected(message, run) + "\n", err), err
    assert snapshot(run) == before  # config.json does not record a resume that did not happen


def test_the_optimizer_state_must_fit_the_parameters(run):
    state = load_training_state(run)
    state.optimizer["state"] = {0: {"momentum_buffer": torch.zeros(10, 100)}}
    with pytest.raises(CheckpointError, match=r"Expected optimizer\.0\.momentum_buffer in .* "
                       r"to be \(10, 784\) float32; got \(10, 100\) float32\."):  # fmt: skip
        checkpoint.check_training_state(state, empty_model(read_model_description(run)), run)
    state.optimizer["param_groups"][0]["params"] = [0, 1, 2]
    with pytest.raises(CheckpointError, match=r"Expected an optimizer state for the model's 2 parameters "
                       r"in .*resume\.json; got one for parameters \[0, 1, 2\]\."):  # fmt: skip
        checkpoint.check_training_state(state, empty_model(read_model_description(run)), run)


def test_after_a_refusal_the_good_parts_still_work(run, tmp_path, cli_in_process, fake_fashion):
    cut("resume.safetensors")(run)
    assert cli_in_process("train", "--resume", run, "--epochs", "3")[0] == 2
    code, out, err = cli_in_process("evaluate", run, "--json")  # the model checkpoint is intact
    assert code == 0, err
    assert json.loads(out)["model_epoch"] == 2
    code, out, err = cli_in_process("train", "--epochs", "1", "--batch-size", "16", "--data-dir", fake_fashion,
                                    "--out", tmp_path / "new", "--quiet")  # fmt: skip
    assert code == 0, err
    assert checkpoint.load_model(tmp_path / "new")[1]["epoch"] == 1


def test_the_cli_in_a_subprocess(run, tmp_path):
    """What users see, from a real process: a truncated checkpoint and a foreign resume state."""
    resume_over_model(run)
    cut("model.safetensors", 0.3)(run)
    Image.new("L", (28, 28)).save(tmp_path / "a.png")
    evaluated = run_cli("predict", "run", "a.png", cwd=tmp_path)
    resumed = run_cli("train", "--resume", "run", "--epochs", "3", cwd=tmp_path)
    assert (evaluated.returncode, resumed.returncode) == (2, 2)
    assert re.fullmatch(
        "softmaxreg: error: " + expected(MODEL_CASES["weights truncated"][1], "run") + "\n", evaluated.stderr
    )
    assert re.fullmatch("softmaxreg: error: " + expected(RESUME_CASES["weights as the resume state"][1], "run") + "\n",
                        resumed.stderr)  # fmt: skip


def test_nothing_in_softmaxreg_unpickles():
    """Loading a run folder cannot run code: no pickle, torch.load or np.load(allow_pickle=True) anywhere."""
    src = Path(checkpoint.__file__).parent.parent  # the whole package, every layer
    pattern = re.compile(
        r"\bimport pickle|\bpickle\.|\bcPickle|torch\.load\(|torch\.save\(|allow_pickle=True|"
        r"\bdill\b|\bshelve\b|marshal\.loads"
    )
    offenders = [f"{p.relative_to(src)}:{i}" for p in src.rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]  # fmt: skip
    assert offenders == []
