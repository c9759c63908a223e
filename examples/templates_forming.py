"""An animated GIF of the ten templates forming as SGD trains: the README's picture of the Train panel.

    python examples/templates_forming.py docs/templates-forming.gif [--epochs 5]

It trains the book's run (``softmaxreg train``'s `train_run`, in a temporary run folder) and takes
the templates (each class's weights as a 28×28 image, drawn as the page and ``weights.png`` draw
them: red raises the class's score, blue lowers it) after steps 1, 2, 4, ... of the first epoch,
when they change the most, and then after every epoch, the moments the Train panel shows.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

SCALE = 2  # screen pixels per template pixel
GAP = 4
CAPTION = 14
LEVELS = 11  # colours of the weights: a few keep the GIF small, and still show each template's shape
WHITE, BLACK = LEVELS, LEVELS + 1  # palette indices


class Frames:
    """A Trainer callback keeping ``(label, templates)`` at steps 1, 2, 4, ... of epoch 1 and after every epoch."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, np.ndarray]] = []

    def on_train_batch_end(self, trainer: Any, model: Any, loss: Any) -> None:
        step = trainer.train_batch_idx
        if trainer.epoch == 0 and step & (step - 1) == 0:  # a power of two
            self.frames.append((f"epoch 1, step {step}", _templates(model)))

    def on_epoch_end(self, trainer: Any, model: Any, metrics: dict[str, float]) -> None:
        self.frames.append((f"after epoch {trainer.epoch + 1}, val acc {metrics['val_acc']:.3f}", _templates(model)))


def _templates(model: Any) -> np.ndarray:
    from softmaxreg.serve.worker import templates  # what the Train panel receives each epoch

    return np.asarray(templates(model, (1, 28, 28)))


def palette() -> list[int]:
    """One GIF palette for every frame: ``LEVELS`` steps of RdBu_r (as ``weights.png``), then white and black."""
    import matplotlib

    colors = matplotlib.colormaps["RdBu_r"](np.linspace(0, 1, LEVELS))[:, :3]
    rgb = [*(colors * 255).round().astype(int).ravel().tolist(), 255, 255, 255, 0, 0, 0]
    return rgb + [0] * (768 - len(rgb))


def render(label: str, templates: np.ndarray, names: list[str]) -> Any:
    """One frame: the ten templates in two rows of five, each scaled to its own largest weight."""
    from PIL import Image, ImageDraw

    size = 28 * SCALE
    width, height = 5 * size + 6 * GAP, 2 * (size + CAPTION) + 3 * GAP + CAPTION
    frame = Image.new("P", (width, height), WHITE)
    frame.putpalette(palette())
    draw = ImageDraw.Draw(frame)
    draw.text((GAP, GAP // 2), label, fill=BLACK)
    for i, weights in enumerate(templates):
        limit = np.abs(weights).max() or 1.0
        levels = np.rint((0.5 + 0.5 * weights / limit) * (LEVELS - 1)).astype(np.uint8)  # palette indices
        x, y = GAP + (i % 5) * (size + GAP), CAPTION + GAP + (i // 5) * (size + CAPTION + GAP)
        frame.paste(Image.fromarray(levels, "P").resize((size, size), Image.NEAREST), (x, y))
        draw.text((x, y + size + 1), names[i], fill=BLACK)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the GIF to write")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data-dir", help="folder holding Fashion-MNIST")
    args = parser.parse_args()

    from softmaxreg.book.devices import resolve_device
    from softmaxreg.datasets.fashion_mnist import FashionMNIST
    from softmaxreg.datasets.labels import LABELS
    from softmaxreg.runs.config import TrainConfig
    from softmaxreg.runs.training import train_run

    frames = Frames()
    with tempfile.TemporaryDirectory() as run_dir:
        data = FashionMNIST(batch_size=256, root=args.data_dir)
        train_run(TrainConfig(epochs=args.epochs), data, Path(run_dir), resolve_device("cpu"), callbacks=[frames])
    images = [render(label, t, list(LABELS["en"])) for label, t in frames.frames]
    durations = [600] * (len(images) - 1) + [2500]  # hold the trained templates
    args.out.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(args.out, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=True)
    print(f"{args.out}: {len(images)} frames, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
