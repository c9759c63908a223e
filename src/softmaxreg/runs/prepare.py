"""A user's image as a run's model takes it, whatever data the run was trained on (``predict``, ``serve``).

A run whose images are grey with light objects on a dark background (Fashion-MNIST, MNIST, a folder
of such images: ``model.json``'s ``input.light_on_dark``) gets Fashion-MNIST's treatment
(`softmaxreg.runs.images.prepare_image`: inverted when its background is light, trimmed, fitted and
centred). Any other run's images are converted and resized exactly as its training images were
(`softmaxreg.datasets.convert.to_array`), with no inversion.
"""

from __future__ import annotations

import io
import os

import numpy as np

from softmaxreg.runs.inputs import InputSpec


def is_fashion_like(spec: InputSpec) -> bool:
    """Whether images for this run are made the Fashion-MNIST way (grey, light object on dark)."""
    return spec.kind == "images" and spec.channels == 1 and spec.light_on_dark


def prepare_path(path: str | os.PathLike[str], spec: InputSpec, invert: str = "auto") -> tuple[np.ndarray, bool]:
    """An image file as the run's input.

    Returns:
        ``(pixels, inverted)``: ``(H, W)`` uint8 for a Fashion-MNIST-like run (as `prepare_image`
        returns it), else ``(C, H, W)`` uint8; whether it was inverted.

    Raises:
        ImageError: the file cannot be read as an image.
    """
    if is_fashion_like(spec):
        from softmaxreg.runs.images import prepare_image

        return prepare_image(path, invert, (spec.height, spec.width))
    from softmaxreg.datasets.convert import open_image, to_array

    return to_array(open_image(path, str(path)), spec.channels, (spec.height, spec.width)), False


def prepare_bytes(data: bytes, name: str, spec: InputSpec, invert: str = "auto") -> tuple[np.ndarray, bool]:
    """`prepare_path` for an image held in memory (an upload), its errors naming it ``name``."""
    if is_fashion_like(spec):
        from softmaxreg.runs.images import prepare_image_bytes

        return prepare_image_bytes(data, name, invert, (spec.height, spec.width))
    from softmaxreg.datasets.convert import open_image, to_array

    return to_array(open_image(io.BytesIO(data), name), spec.channels, (spec.height, spec.width)), False
