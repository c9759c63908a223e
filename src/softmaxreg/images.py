"""Your own pictures, made the way Fashion-MNIST's were: grey, light object on black, 28×28, centred.

Fashion-MNIST was made from product photos on white: trim the background, shrink the longest edge
to 28 pixels, centre on a 28×28 canvas, negate, 8-bit grey (Xiao et al., 2017). `to_fashion_mnist`
does the same with any image Pillow can open, of any size or colour mode:

1. transparent pixels become white (a cut-out product is a product on white);
2. grey, then invert when the background is light (``invert='auto'``; ``'yes'``/``'no'`` force it):
   the background is the median of the border pixels;
3. a dark but not black background is mapped to black;
4. trim the rows and columns that hold no object, fit the longest edge into 28 pixels (Lanczos),
   centre on black.

An image that is already 28×28 is used as it is after steps 1–3, so Fashion-MNIST images come back
unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from softmaxreg._validate import check_choice
from softmaxreg.errors import ImageError

INVERT_CHOICES = ("auto", "yes", "no")
_OBJECT_LEVEL = 0.05 * 255  # Fashion-MNIST's trim tolerance: 5% of the intensity range
_MIN_SHARE = 0.01  # a row or column belongs to the object when more than 1% of it is object


def load_image(path: str | os.PathLike[str]) -> Any:
    """Open an image file fully (Pillow decodes PNG, JPEG and more), upright as its EXIF says.

    Raises:
        ImageError: the file is missing, unreadable, not an image, or too large to decode safely.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            image.draft("L", (256, 256))  # JPEG: decode a reduced grey image, much faster for photos
            image.load()
            return ImageOps.exif_transpose(image)
    except FileNotFoundError:
        raise ImageError(f"Expected an image at {path}; the file does not exist.") from None
    except IsADirectoryError:
        raise ImageError(f"Expected an image file; {path} is a folder.") from None
    except UnidentifiedImageError:
        raise ImageError(f"Expected a PNG or JPEG image in {path}; Pillow does not recognise the file.") from None
    except Image.DecompressionBombError as err:
        raise ImageError(f"{path} is too large to decode safely ({err}).") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"Cannot read the image {path}: {err}. Is the file complete?") from None


def to_grey(image: Any) -> np.ndarray:
    """Pixels of a Pillow image as float grey levels in [0, 255], transparency shown as white.

    Examples:
        >>> from PIL import Image
        >>> to_grey(Image.new("RGBA", (2, 1), (0, 0, 0, 0))).tolist()
        [[255.0, 255.0]]
        >>> to_grey(Image.new("I;16", (1, 1), 65535)).tolist()
        [[255.0]]
    """
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    if image.mode.startswith("I") or image.mode == "F":  # 16/32-bit grey: scale, do not clip
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if pixels.max() > 255 else 255.0
        return np.clip(pixels * (255.0 / top), 0, 255)
    return np.asarray(image.convert("L"), dtype=np.float64)


def border_level(pixels: np.ndarray) -> float:
    """The background's grey level: the median of the outermost pixels.

    Examples:
        >>> border_level(np.pad(np.zeros((3, 3)), 1, constant_values=200))
        200.0
    """
    ring = np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]])
    return float(np.median(ring))


def _object_box(pixels: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns holding the object (pixels above the trim tolerance), or everything."""
    mask = pixels > _OBJECT_LEVEL
    rows = np.flatnonzero(mask.sum(axis=1) > _MIN_SHARE * pixels.shape[1])
    cols = np.flatnonzero(mask.sum(axis=0) > _MIN_SHARE * pixels.shape[0])
    if len(rows) == 0 or len(cols) == 0:
        return slice(None), slice(None)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _fit(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Shrink (or grow) so the longest edge fits ``size``, then centre on black."""
    from PIL import Image

    height, width = pixels.shape
    scale = min(size[0] / height, size[1] / width)
    new_h, new_w = max(round(height * scale), 1), max(round(width * scale), 1)
    small = Image.fromarray(pixels.astype(np.float32)).resize((new_w, new_h), Image.Resampling.LANCZOS)
    canvas = np.zeros(size, dtype=np.float64)
    top, left = (size[0] - new_h) // 2, (size[1] - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = np.asarray(small)
    return canvas


def to_fashion_mnist(image: Any, invert: str = "auto", size: tuple[int, int] = (28, 28)) -> tuple[np.ndarray, bool]:
    """Make ``image`` look like a Fashion-MNIST image (see the module docstring).

    Args:
        image: a Pillow image of any mode and size.
        invert: ``'auto'`` (invert when the border is light), ``'yes'`` or ``'no'``.
        size: ``(height, width)`` of the result.

    Returns:
        ``(pixels, inverted)``: a ``size`` uint8 array (light object on black) and whether it was
        inverted.

    Examples:
        >>> from PIL import Image, ImageDraw
        >>> photo = Image.new("RGB", (200, 100), "white")
        >>> ImageDraw.Draw(photo).rectangle((80, 20, 119, 79), fill="black")  # a 40×60 dark box
        >>> pixels, inverted = to_fashion_mnist(photo)
        >>> inverted, pixels.shape, int(pixels[14, 14]), int(pixels[14, 2])
        (True, (28, 28), 255, 0)
    """
    check_choice("invert", invert, INVERT_CHOICES)
    pixels = to_grey(image)  # (H, W)
    level = border_level(pixels)
    inverted = invert == "yes" or (invert == "auto" and level > 127.5)
    if inverted:
        pixels, level = 255.0 - pixels, 255.0 - level
    if 0 < level < 127.5:  # a dark grey background becomes black
        pixels = (pixels - level) * (255.0 / (255.0 - level))
    pixels = np.clip(pixels, 0, 255)
    if pixels.shape != tuple(size):
        rows, cols = _object_box(pixels)
        pixels = _fit(pixels[rows, cols], tuple(size))
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8), inverted
