import numpy as np
import pytest
from PIL import Image

from softmaxreg.book.board import ProgressBoard


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


def test_a_series_of_one_point_shows_as_a_dot():
    """After one epoch val_loss has one point: a plain line of one point would draw nothing."""
    board = ProgressBoard(xlabel="epoch", xlim=[0, 1])
    board.draw(0.5, 1.0, "train_loss")
    board.draw(0.9, 0.8, "train_loss")
    board.draw(1, 0.7, "val_loss")
    lines = {line.get_label(): line for line in board.figure().axes[0].get_lines()}
    assert lines["val_loss"].get_marker() == "o" and lines["train_loss"].get_marker() in ("None", None, "")


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


# -- in a (simulated) Jupyter kernel ----------------------------------------------------------------


class FakeKernel:
    """Stands in for IPython: records every display and update, and lets the test move the clock."""

    def __init__(self, monkeypatch):
        from softmaxreg.book import board as board_module

        self.now, self.cell, self.calls = 0.0, 1, []
        monkeypatch.setattr(board_module._display, "in_notebook", lambda: True)
        monkeypatch.setattr(board_module._display, "show", self._show)
        monkeypatch.setattr(board_module, "_register_notebook_hook", lambda: None)
        monkeypatch.setattr(board_module, "_current_cell", lambda: self.cell)
        monkeypatch.setattr(board_module.time, "monotonic", lambda: self.now)

    def _show(self, fig, handle=None):
        self.calls.append("update" if handle is not None else "display")
        return handle if handle is not None else object()


def test_a_fast_stream_of_points_is_redrawn_at_most_four_times_a_second(monkeypatch):
    kernel = FakeKernel(monkeypatch)
    board = ProgressBoard()
    for i in range(1000):  # 1000 points over one simulated second
        kernel.now = i / 1000
        board.draw(i, i, "loss")
    assert kernel.calls == ["display", "update", "update", "update"]


def test_epoch_end_flush_shows_the_last_points_unless_a_redraw_just_happened(monkeypatch):
    kernel = FakeKernel(monkeypatch)
    board = ProgressBoard()
    board.draw(0, 1, "loss")
    board.draw(1, 2, "loss")  # same instant: throttled
    assert kernel.calls == ["display"]
    board.flush()  # epoch end right after a redraw: still throttled
    assert kernel.calls == ["display"]
    kernel.now = 0.3
    board.flush()  # a slow epoch's end: redrawn
    board.flush()  # nothing new: not redrawn
    assert kernel.calls == ["display", "update"]
    board.draw(2, 3, "loss")
    board.flush(force=True)  # the end of the cell always shows the last point
    assert kernel.calls == ["display", "update", "update"]


def test_drawing_in_a_later_cell_opens_a_new_display_there(monkeypatch):
    kernel = FakeKernel(monkeypatch)
    board = ProgressBoard()
    board.draw(0, 1, "loss")
    kernel.now, kernel.cell = 1.0, 2
    board.draw(1, 2, "loss")
    kernel.now = 2.0
    board.draw(2, 3, "loss")
    assert kernel.calls == ["display", "display", "update"]


def test_display_false_never_shows(monkeypatch):
    kernel = FakeKernel(monkeypatch)
    board = ProgressBoard(display=False)
    board.draw(0, 1, "loss")
    board.flush(force=True)
    assert kernel.calls == [] and board.fig is None


def test_training_redraws_per_epoch_not_per_batch(monkeypatch, fake_fashion):
    """A fit with 24 batches of 50 ms per epoch: a few redraws per epoch, none per batch."""
    import softmaxreg as d2l

    kernel = FakeKernel(monkeypatch)
    data = d2l.FashionMNIST(batch_size=4, root=fake_fashion)  # 24 training batches per epoch
    redraws_at_epoch_end = []

    class Clock:
        def on_train_batch_end(self, trainer, model, loss):
            kernel.now += 0.05

        def on_epoch_end(self, trainer, model, metrics):
            redraws_at_epoch_end.append(len(kernel.calls))
            # at each epoch end the screen is up to date, or was redrawn less than 0.25 s ago
            board = model.board
            assert not board._stale or kernel.now - board._last_refresh < 0.25

    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    d2l.Trainer(max_epochs=3, callbacks=[Clock()]).fit(model, data)
    assert kernel.calls[0] == "display" and set(kernel.calls[1:]) == {"update"}
    per_epoch = np.diff([0] + redraws_at_epoch_end)
    assert all(1 <= n <= 4 for n in per_epoch), per_epoch  # 2 train points, then val points + flush
    assert len(model.board.data["train_loss"]) == 6  # plot_train_per_epoch=2 points per epoch
