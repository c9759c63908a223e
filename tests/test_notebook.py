"""The example notebook, executed top to bottom by a real Jupyter kernel (nbclient + ipykernel)."""

import os
import re
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from conftest import SRC
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "softmax_regression_concise.ipynb"
IMAGE_TYPES = {"image/png", "image/svg+xml"}


def _cell(nb, tag):
    (index,) = [i for i, c in enumerate(nb.cells) if tag in c.metadata.get("tags", [])]
    return index, nb.cells[index]


def _seconds(cell) -> float:
    timing = cell.metadata["execution"]
    busy, idle = (
        datetime.fromisoformat(timing[k].replace("Z", "+00:00")) for k in ("iopub.status.busy", "iopub.status.idle")
    )
    return (idle - busy).total_seconds()


class CountingClient(NotebookClient):
    """Counts, per cell, the messages the kernel sends: new displays, in-place updates, clears."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages = defaultdict(Counter)

    def process_message(self, msg, cell, cell_index):
        self.messages[cell_index][msg["msg_type"]] += 1
        return super().process_message(msg, cell, cell_index)


def stored_notebook(notebook: Path):
    """The notebook as stored, after checking it is valid, has no outputs, and starts with
    ``import softmaxreg as d2l`` and a seed."""
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert "import softmaxreg as d2l" in code[0].source and "torch.manual_seed(SEED)" in code[0].source
    return nb


def check_ran_cleanly(nb) -> None:
    """No cell of an executed notebook raised or wrote to stderr (warnings included)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            assert not (out.output_type == "stream" and out.name == "stderr"), out.text


def test_notebook_is_stored_without_outputs():
    stored_notebook(NOTEBOOK)


def execute(notebook: Path, real_data_dir: Path, tmp_path_factory) -> tuple:
    """``notebook`` after a real kernel ran it, and the per-cell message counts."""
    env = {
        "SOFTMAXREG_DATA": str(real_data_dir),
        "SOFTMAXREG_OFFLINE": "1",
        "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("kernel-cache")),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
        # One OpenMP thread: on a shared 2-core CI runner, spinning OpenMP threads make training
        # ten times slower; the results are the same.
        "OMP_NUM_THREADS": "1",
        # a deprecated call (e.g. IPython's set_matplotlib_formats) would print to the cell's stderr
        "PYTHONWARNINGS": "always::DeprecationWarning,always::PendingDeprecationWarning",
    }
    saved = {k: os.environ.get(k) for k in [*env, "MPLBACKEND"]}
    os.environ.update(env)
    os.environ.pop("MPLBACKEND", None)  # the kernel uses Jupyter's inline backend, as for a learner
    try:
        nb = nbformat.read(notebook, as_version=4)
        client = CountingClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}}
        )
        client.execute()  # raises CellExecutionError if a cell fails
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return nb, client.messages


@pytest.fixture(scope="module")
def executed(real_data_dir, tmp_path_factory):
    """The notebook after a real kernel ran it, and the per-cell message counts."""
    return execute(NOTEBOOK, real_data_dir, tmp_path_factory)


@pytest.mark.real_data
@pytest.mark.slow
def test_every_cell_runs_without_errors_or_warnings(executed):
    check_ran_cleanly(executed[0])


@pytest.mark.real_data
@pytest.mark.slow
def test_the_board_is_one_image_updated_in_place_a_few_times_per_second(executed):
    nb, messages = executed
    index, cell = _cell(nb, "train")
    assert len(cell.outputs) == 1
    (out,) = cell.outputs
    assert out.output_type == "display_data" and IMAGE_TYPES & set(out.data)
    counts = messages[index]
    assert counts["display_data"] == 1 and counts["clear_output"] == 0
    # updated in place while training (not one figure per update, not one redraw per batch:
    # an epoch has 235 batches)
    max_epochs = 10
    assert 2 <= counts["update_display_data"] <= 4 * _seconds(cell) + max_epochs + 2, counts


@pytest.mark.real_data
@pytest.mark.slow
def test_the_demonstration_shows_naive_softmax_failing_where_the_stable_loss_does_not(executed):
    nb = executed[0]
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and "F.cross_entropy(o, y" in c.source]
    text = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    naive = re.search(r"mất mát ngây thơ: tensor\(\[(.*)\]\)", text).group(1)
    stable = re.search(r"mất mát ổn định: +tensor\(\[(.*)\]\)", text).group(1)
    assert "inf" in naive and "nan" in naive
    assert [float(v) for v in stable.split(",")] == pytest.approx([100.0, 0.0], abs=1e-4)


@pytest.mark.real_data
@pytest.mark.slow
def test_final_cell_prints_the_test_accuracy_and_shows_misclassified_images(executed):
    nb = executed[0]
    _, cell = _cell(nb, "evaluate")
    text = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    accuracy = float(re.search(r"test accuracy: (0\.\d+)", text).group(1))
    assert accuracy >= 0.82, text  # 20 seeds give 0.809-0.835
    (quoted,) = re.findall(
        r"prints `test accuracy: (0\.\d{4})`", (SRC.parent / "docs" / "guide" / "book.md").read_text(encoding="utf-8")
    )
    assert f"{accuracy:.4f}" == quoted, text  # what the book guide says SEED = 1 prints
    images = [o for o in cell.outputs if o.output_type == "display_data" and IMAGE_TYPES & set(o.data)]
    assert len(images) == 1
