import numpy as np
import pytest
from PIL import Image

from softmaxreg.board import ProgressBoard


def test_every_n_points_average_into_one():
    board = ProgressBoard()
    for x in range(10):
        board.draw(x, 2 * x, "line", every_n=5)
    assert board.data["line"] == [(2.0, 4.0), (7.0, 14.0)]


def test_draw_accepts_tensors_and_numpy_scalars():
    import torch

    board = ProgressBoard()
    board.draw(torch.tensor(1.0), np.float32(2.0), "a")
    assert board.data["a"] == [(1.0, 2.0)]


def test_saved_png_is_a_real_non_blank_image(tmp_path):
    board = ProgressBoard(xlabel="epoch", yscale="log", xlim=[0, 10])
    for x in np.arange(0, 10, 0.1):
        board.draw(x, np.exp(x), "exp", every_n=2)
        board.draw(x, 1 + x, "linear", every_n=10)
    path = board.save(tmp_path / "board.png")
    image = np.asarray(Image.open(path).convert("L"))
    assert image.shape[0] > 150 and image.shape[1] > 200
    assert (image < 128).mean() > 0.01  # lines, ticks and text are drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.png"]  # no temp file left behind


def test_no_display_in_a_script_does_not_create_a_figure():
    board = ProgressBoard()
    board.draw(0, 1, "a")
    board.flush()
    assert board.fig is None


def test_five_labels_get_five_lines():
    board = ProgressBoard()
    for k in range(5):
        board.draw(0, k, f"l{k}")
        board.draw(1, k, f"l{k}")
    assert len(board.figure().axes[0].lines) == 5


@pytest.mark.parametrize("scale", ["linear", "log"])
def test_scales_are_applied(scale):
    board = ProgressBoard(yscale=scale)
    board.draw(1, 1, "a")
    board.draw(2, 10, "a")
    assert board.figure().axes[0].get_yscale() == scale
