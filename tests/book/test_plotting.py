"""d2l's plotting helpers: plot, show_images, set_figsize, use_svg_display and the lazy d2l.plt."""

import json
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
import torch
from conftest import SRC, check_png
from PIL import Image

import softmaxreg as d2l
from softmaxreg.book import _display


@pytest.fixture(autouse=True)
def close_figures():
    yield
    d2l.plt.close("all")
    matplotlib.rcdefaults()


def _modules_after(code: str) -> set:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SRC), "PATH": "", "MPLBACKEND": "Agg"},
    )  # fmt: skip
    return set(json.loads(out.stdout))


def test_plotting_helpers_load_pyplot_only_when_used():
    modules = _modules_after("import softmaxreg as d2l; d2l.plot; d2l.show_images; d2l.set_figsize; d2l.tensor")
    assert not {"matplotlib", "matplotlib.pyplot", "IPython"} & modules
    modules = _modules_after("import softmaxreg as d2l, matplotlib.pyplot; assert d2l.plt is matplotlib.pyplot")
    assert "matplotlib.pyplot" in modules and "IPython" not in modules


def test_plot_several_lines_with_the_books_arguments(tmp_path):
    x = np.arange(-7, 7, 0.01)
    params = [(0, 1), (0, 2), (3, 1)]
    ys = [np.exp(-0.5 * (x - mu) ** 2 / s**2) / np.sqrt(2 * np.pi * s**2) for mu, s in params]
    ax = d2l.plot(
        x, ys, xlabel="x", ylabel="p(x)", figsize=(4.5, 2.5), legend=[f"mean {m}, std {s}" for m, s in params]
    )
    assert ax is d2l.plt.gca()
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--", "-."]
    assert np.allclose(ax.lines[2].get_ydata(), ys[2])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mean 0, std 1", "mean 0, std 2", "mean 3, std 1"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "p(x)")
    assert tuple(ax.figure.get_size_inches()) == (4.5, 2.5)
    check_png(ax.figure, tmp_path / "plot.png", min_size=(440, 240))


def test_plot_y_only_uses_the_index_and_accepts_tensors_that_require_grad():
    y = torch.tensor([1.0, 4.0, 9.0], requires_grad=True)
    ax = d2l.plot(y, yscale="log", xlim=[0, 2], ylim=[1, 10])
    assert ax.lines[0].get_xdata().tolist() == [0, 1, 2]
    assert ax.lines[0].get_ydata().tolist() == [1.0, 4.0, 9.0]
    assert ax.get_yscale() == "log" and ax.get_xlim() == (0, 2)


def test_plot_draws_into_given_axes_and_replaces_what_was_there():
    fig, (left, right) = d2l.plt.subplots(1, 2)
    d2l.plot([0, 1], [[0, 1], [1, 0]], axes=right)
    ax = d2l.plot([0, 1], [5, 6], axes=right, fmts=["r:"])
    assert ax is right and len(right.lines) == 1 and len(left.lines) == 0
    assert right.lines[0].get_color() == "r" and right.lines[0].get_linestyle() == ":"


def test_set_figsize_sets_the_default_size_of_new_figures():
    d2l.set_figsize((5, 2))
    assert tuple(d2l.plt.figure().get_size_inches()) == (5, 2)


def test_use_svg_display_switches_the_board_format_without_ipython(tmp_path):
    try:
        d2l.use_svg_display()
        assert _display._FORMAT["value"] == "svg"
    finally:
        _display.set_format("png")


def test_show_images_returns_the_flat_axes_with_titles(tmp_path):
    imgs = torch.rand(5, 28, 28)
    axes = d2l.show_images(imgs, 2, 3, titles=["a", "b", "c", "d", "e"], scale=1.5)
    assert axes.shape == (6,)
    assert [ax.get_title() for ax in axes] == ["a", "b", "c", "d", "e", ""]
    assert np.allclose(axes[4].images[0].get_array(), imgs[4].numpy())
    assert not axes[5].images  # the unused cell stays blank
    assert tuple(axes[0].figure.get_size_inches()) == (4.5, 3.0)
    check_png(axes[0].figure, tmp_path / "grid.png", min_size=(440, 290))


def test_show_images_accepts_lists_of_arrays_pil_images_and_channel_first_tensors():
    pil = Image.fromarray(np.full((8, 8), 128, dtype=np.uint8))
    images = [np.zeros((8, 8)), pil, torch.rand(1, 8, 8), torch.rand(3, 8, 8)]
    axes = d2l.show_images(images, 1, 4)
    assert [ax.images[0].get_array().shape for ax in axes] == [(8, 8), (8, 8), (8, 8), (8, 8, 3)]


def test_show_images_ignores_images_beyond_the_grid():
    axes = d2l.show_images(torch.rand(10, 4, 4), 1, 3)
    assert len(axes) == 3 and all(ax.images for ax in axes)


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_class_name_titles_render_in_both_languages(tmp_path, lang):
    """Every class name, Vietnamese diacritics included, is drawn with a font that has its glyphs."""
    names = d2l.text_labels(range(10), lang=lang)
    titles = [f"{a}\n{b}" for a, b in zip(names, reversed(names), strict=True)]
    axes = d2l.show_images(torch.rand(10, 28, 28), 2, 5, titles=titles)
    assert [ax.get_title() for ax in axes] == titles
    check_png(axes[0].figure, tmp_path / f"titles-{lang}.png", min_size=(740, 290))
