"""The classic-API notebook (d2l-zh §3.7, in Chinese), executed top to bottom by a real Jupyter kernel.

The kernel's messages show what a learner sees: ``train_ch3``'s Animator is one figure, updated in
place a few times a second at most, never cleared and redrawn (the book's ``clear_output`` way).
"""

import base64
import re
from pathlib import Path

import pytest
from conftest import check_png
from test_notebook import IMAGE_TYPES, _cell, _seconds, check_ran_cleanly, execute, stored_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "softmax_regression_concise_zh.ipynb"


def test_notebook_is_stored_without_outputs():
    nb = stored_notebook(NOTEBOOK)
    assert "d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)" in _cell(nb, "train")[1].source


@pytest.fixture(scope="module")
def executed(real_data_dir, tmp_path_factory):
    return execute(NOTEBOOK, real_data_dir, tmp_path_factory)


@pytest.mark.real_data
@pytest.mark.slow
def test_every_cell_runs_without_errors_or_warnings(executed):
    check_ran_cleanly(executed[0])


@pytest.mark.real_data
@pytest.mark.slow
def test_the_animator_is_one_image_updated_in_place_a_few_times_per_second(executed, tmp_path):
    nb, messages = executed
    index, cell = _cell(nb, "train")
    (out,) = cell.outputs
    assert out.output_type == "display_data" and IMAGE_TYPES & set(out.data)
    counts = messages[index]
    assert counts["display_data"] == 1 and counts["clear_output"] == 0
    num_epochs = 10  # an update per epoch at most, and at most four a second, plus the cell's end
    assert 2 <= counts["update_display_data"] <= min(num_epochs + 1, 4 * _seconds(cell) + 2), counts
    (tmp_path / "animator.png").write_bytes(base64.b64decode(out.data["image/png"]))
    check_png(tmp_path / "animator.png", min_size=(200, 150))


@pytest.mark.real_data
@pytest.mark.slow
def test_the_test_accuracy_is_the_books_and_predict_ch3_shows_the_images(executed):
    nb = executed[0]
    _, cell = _cell(nb, "evaluate")
    text = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    accuracy = float(re.search(r"测试精度：(0\.\d+)", text).group(1))
    assert 0.81 <= accuracy <= 0.85, text  # SEED = 0 gives 0.8332; the book's figure ends near 0.83
    images = [o for o in cell.outputs if o.output_type == "display_data" and IMAGE_TYPES & set(o.data)]
    assert len(images) == 1
