"""The sweep figure's axes: whole-number epochs, and a log scale only where losses span a decade."""

from conftest import check_png

from softmaxreg.runs import figures


def history(losses, accs):
    return [
        {"epoch": e + 1, "train_loss": loss, "val_loss": loss, "val_acc": acc}
        for e, (loss, acc) in enumerate(zip(losses, accs, strict=True))
    ]


def test_a_one_epoch_sweep_has_one_whole_number_tick_and_linear_losses(tmp_path):
    runs = {"lr 0.1": history([0.79], [0.77]), "lr 0.3": history([1.03], [0.75])}
    fig = figures.sweep_figure(runs, title_args={"epochs": 1, "batch_size": 256})
    assert fig._suptitle.get_text() == "Learning-rate sweep (1 epoch, batch size 256)"
    for ax in fig.axes:
        assert list(ax.get_xticks()) == [1] and ax.get_xlim() == (0.5, 1.5)
    assert [ax.get_yscale() for ax in fig.axes] == ["linear", "linear", "linear"]
    check_png(fig, tmp_path / "sweep.png", min_size=(1000, 300))


def test_losses_a_decade_apart_get_a_log_axis_with_plain_labels(tmp_path):
    runs = {"lr 0.001": history([2.1, 1.7, 1.5], [0.5, 0.6, 0.65]), "lr 30": history([100, 60, 55], [0.7, 0.8, 0.79])}
    fig = figures.sweep_figure(runs, lang="vi", title_args={"epochs": 3, "batch_size": 256})
    assert fig._suptitle.get_text() == "Quét tốc độ học (3 epoch, kích thước batch 256)"
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "log", "linear"]
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks() if 1 <= t <= 3)
    check_png(fig, tmp_path / "sweep.png", min_size=(1000, 300))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels(minor=True) if t.get_text()]
    assert labels and all("e" not in label for label in labels)  # 0.3, 20, 60: not 3e-01
