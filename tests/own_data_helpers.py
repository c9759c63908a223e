"""Small synthetic data of your own for the tests: image folders and CSV tables (a few hundred examples)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("circle", "square", "stripe")


def make_folder(root: Path, per_class: int = 20, size: tuple[int, int] = (12, 12), mode: str = "L",
                classes: tuple[str, ...] = CLASSES, light_on_dark: bool = True, seed: int = 0) -> Path:  # fmt: skip
    """A learnable image folder: class k has a bright (or dark) block in the k-th third of the image."""
    rng = np.random.default_rng(seed)
    h, w = size
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 50, (h, w), dtype=np.uint8)
            pixels[2 : h - 2, k * w // len(classes) : (k + 1) * w // len(classes)] = 230
            if not light_on_dark:
                pixels = 255 - pixels
            image = Image.fromarray(pixels)
            if mode == "RGB":
                rgb = np.zeros((h, w, 3), dtype=np.uint8)
                rgb[..., k % 3] = pixels
                image = Image.fromarray(rgb)
            image.save(root / name / f"{i:03d}.png")
    return root


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.write_text("\n".join(",".join(map(str, line)) for line in [header, *rows]) + "\n")
    return path


def blobs(n: int = 90, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Three separable classes in 4 features of different scales."""
    rng = np.random.default_rng(seed)
    labels = [("setosa", "versicolor", "virginica")[i % 3] for i in range(n)]
    x = rng.normal(size=(n, 4)) + np.array([[3 * (i % 3), 0, 0, 0] for i in range(n)])
    return x * np.array([1.0, 10.0, 100.0, 0.1]), labels


def feature_csv(path: Path, n: int = 90) -> Path:
    x, labels = blobs(n)
    return write_csv(
        path, ["a", "b", "label", "c", "d"], [[r[0], r[1], y, r[2], r[3]] for r, y in zip(x, labels, strict=True)]
    )
