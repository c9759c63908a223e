"""Images of your own data as the model takes them: decoded, grey or RGB, resized to H×W, uint8 ``(C, H, W)``.

Training (`softmaxreg.datasets.image_folder`) and prediction (`softmaxreg predict` on a run of your
own images) both go through `to_array`, so an image is made alike in both. Resizing is Pillow's
Lanczos filter (as `softmaxreg serve` resizes uploads for such runs); colour to grey is Pillow's
``convert("L")`` (ITU-R 601-2 luma); transparent pixels are shown over white.

Decoding is bounded as Pillow bounds it: an image of more than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels
is refused (a possible decompression bomb), not just warned about.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from softmaxreg.errors import ImageError

GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F", "La")


def open_image(source: str | os.PathLike[str] | Any, name: str) -> Any:
    """Decode an image file (a path or a binary file object) fully; errors name ``name``.

    Raises:
        ImageError: not an image Pillow reads, truncated or damaged, too large, or 0×0.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                image.load()
    except UnidentifiedImageError:
        raise ImageError(f"Expected an image in {name}; Pillow does not recognise the file.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"Expected an image of at most {Image.MAX_IMAGE_PIXELS:,} pixels in {name}; it is larger "
            "(a possible decompression bomb)."
        ) from None
    except FileNotFoundError:
        raise ImageError(f"Expected an image at {name}; the file does not exist.") from None
    except Exception as err:  # Pillow's decoders raise many kinds of errors on damaged files
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ImageError(f"Expected a complete image in {name}; got a truncated or damaged file ({reason}).") from None
    if image.width == 0 or image.height == 0:
        raise ImageError(f"Expected an image of at least 1×1 pixels in {name}; got {image.width}×{image.height}.")
    return image


def is_grey(image: Any) -> bool:
    """Whether a Pillow image's mode holds grey levels only (a palette image counts as colour)."""
    return image.mode in GREY_MODES


def to_mode(image: Any, channels: int) -> Any:
    """``image`` in mode ``L`` (1 channel) or ``RGB`` (3); transparency over white, 16-bit grey scaled."""
    from PIL import Image

    if image.mode.startswith("I") or image.mode == "F":  # 16/32-bit grey: scale to 0..255, do not clip
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        image = Image.fromarray(np.clip(np.rint(pixels * (255.0 / top)), 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("L" if channels == 1 else "RGB")


def to_array(image: Any, channels: int, size: tuple[int, int]) -> np.ndarray:
    """A Pillow image as the model's input: ``(channels, height, width)`` uint8.

    Examples:
        >>> from PIL import Image
        >>> to_array(Image.new("RGB", (40, 20), (255, 0, 0)), 3, (10, 20)).shape
        (3, 10, 20)
        >>> int(to_array(Image.new("RGB", (4, 4), (255, 0, 0)), 1, (2, 2))[0, 0, 0])  # luma of red
        76
    """
    from PIL import Image

    image = to_mode(image, channels)
    height, width = size
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    pixels = np.asarray(image, dtype=np.uint8)  # (H, W) or (H, W, 3)
    return pixels[None] if channels == 1 else np.ascontiguousarray(pixels.transpose(2, 0, 1))
