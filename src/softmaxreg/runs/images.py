"""Your own pictures, made the way Fashion-MNIST's were: grey, light object on black, 28×28, centred.

Fashion-MNIST was made from product photos on white: trim the background, shrink the longest edge
to 28 pixels, centre on a 28×28 canvas, negate, 8-bit grey (Xiao et al., 2017). `to_fashion_mnist`
does the same with any image Pillow can open, of any size or colour mode:

1. transparent pixels become the background that contrasts with the visible ones: white behind a
   dark object (a cut-out product is a product on white), black behind a light one;
2. grey, then invert when the background is light (``invert='auto'``; ``'yes'``/``'no'`` force it):
   the background is the median of the border pixels;
3. a dark but not black background is mapped to black;
4. trim the rows and columns that hold no object, fit the longest edge into 28 pixels (Lanczos),
   centre on black.

An image that is already 28×28 is used as it is after steps 1–3, so Fashion-MNIST images come back
unchanged.

What `load_image` accepts: any file Pillow decodes, in any colour mode (grey, 16-bit grey, palette
with or without transparency, RGB, RGBA, CMYK, LA...). It refuses, with an `ImageError` naming the
file: a missing, empty, unrecognised, truncated or damaged file, and an image of more than
``PIL.Image.MAX_IMAGE_PIXELS`` pixels (about 89 million: a possible decompression bomb; Pillow
only warns below twice that, softmaxreg refuses). Of a multi-frame file (animated GIF or PNG,
multi-page TIFF) it uses the first frame and logs a warning saying so. An image in memory (an upload
to the server, `read_image_bytes`) may have at most `UPLOAD_MAX_PIXELS`.

Decoding is bounded by pixels, not bytes (a PNG of a few kB can hold 89 million pixels): the size is
read from the header and checked before anything is decoded; a JPEG is decoded at a reduced scale
(``draft``); any other image larger than `WORK_EDGE` pixels a side is shrunk by an integer factor
(``reduce``, a box filter) as soon as it is decoded, before any float copy is made.
"""

from __future__ import annotations

import io
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from softmaxreg._validate import check_choice
from softmaxreg.errors import ImageError

logger = logging.getLogger(__name__)

INVERT_CHOICES = ("auto", "yes", "no")
UPLOAD_MAX_PIXELS = 16_000_000  # 4000×4000: more than a 12-megapixel phone photo, and far more than 28×28 needs
WORK_EDGE = 256  # decoded images keep at least this many pixels a side (both sides) before they are prepared
_OBJECT_LEVEL = 0.05 * 255  # Fashion-MNIST's trim tolerance: 5% of the intensity range
_MIN_SHARE = 0.01  # a row or column belongs to the object when more than 1% of it is object


def load_image(path: str | os.PathLike[str]) -> Any:
    """Open an image file fully (Pillow decodes PNG, JPEG and more), upright as its EXIF says.

    Of a multi-frame file, the first frame (with a logged warning).

    Raises:
        ImageError: the file is missing, empty, unreadable, not an image, damaged, 0×0, or has
            more than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels.
    """
    path = Path(path)
    try:
        return _open_checked(path, str(path), lambda: path.stat().st_size == 0)
    except FileNotFoundError:
        raise ImageError(f"Expected an image at {path}; the file does not exist.") from None
    except IsADirectoryError:
        raise ImageError(f"Expected an image file; {path} is a folder.") from None


def read_image_bytes(data: bytes, name: str, max_pixels: int = UPLOAD_MAX_PIXELS, colour: bool = False) -> Any:
    """`load_image` for an image held in memory (an upload), its errors naming it ``name``; at most
    ``max_pixels`` pixels (width × height, read from the header before anything is decoded). A JPEG
    is decoded in grey unless ``colour`` (for a colour run) asks for its colours.

    Examples:
        >>> read_image_bytes(b"", "upload.png")
        Traceback (most recent call last):
        softmaxreg.errors.ImageError: Expected an image in upload.png; got an empty file (0 bytes).
    """
    return _open_checked(io.BytesIO(data), name, lambda: len(data) == 0, max_pixels, colour)


def image_pixels(data: bytes, name: str, max_pixels: int = UPLOAD_MAX_PIXELS) -> int:
    """Width × height of the image in ``data``, read from its header only (nothing is decoded).

    Raises:
        ImageError: not an image, or more than ``max_pixels`` pixels (the message says the limit).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # judged below, against our limit
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError as err:
        raise ImageError(_too_large(name, err, max_pixels)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return 0  # `read_image_bytes` says what is wrong with it, cheaply: it fails as soon as this did
    if width * height > max_pixels:
        raise ImageError(_too_large(name, f"({width * height} pixels)", max_pixels))
    return width * height


def _open_checked(source: Any, name: str, is_empty: Any, max_pixels: int | None = None, colour: bool = False) -> Any:
    """Decode ``source`` (a path or a binary file); every failure is an `ImageError` naming ``name``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # refuse, do not just warn
            image = _decode(source, name, max_pixels, colour)
    except (FileNotFoundError, IsADirectoryError):
        raise
    except UnidentifiedImageError:
        if is_empty():
            raise ImageError(f"Expected an image in {name}; got an empty file (0 bytes).") from None
        raise ImageError(f"Expected a PNG or JPEG image in {name}; Pillow does not recognise the file.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, _TooManyPixels) as err:
        raise ImageError(_too_large(name, err, max_pixels)) from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(
            f"Expected a complete image in {name}; got a truncated or damaged file (Pillow: {_one_line(err)}). "
            "Save or download it again."
        ) from None
    except Exception as err:  # Pillow's decoders raise many kinds of errors on damaged files
        pillow = f"{type(err).__name__}: {_one_line(err)}"
        raise ImageError(
            f"Expected a complete image in {name}; got a damaged file (Pillow: {pillow}). Save or download it again."
        ) from None
    if image.width == 0 or image.height == 0:
        raise ImageError(f"Expected an image of at least 1×1 pixels in {name}; got {image.width}×{image.height}.")
    return image


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


class _TooManyPixels(ValueError):
    """More pixels than the caller allows (below Pillow's own limit)."""


def _decode(source: Any, name: str, max_pixels: int | None = None, colour: bool = False) -> Any:
    from PIL import Image

    with Image.open(source) as image:  # reads the header only: the size is known, nothing is decoded yet
        if max_pixels is not None and image.width * image.height > max_pixels:
            raise _TooManyPixels(f"({image.width * image.height} pixels)")
        frames = getattr(image, "n_frames", 1)
        orientation = image.getexif().get(0x0112)  # EXIF orientation, applied once the image is small
        # JPEG: decode a reduced image (grey unless the colours are wanted), much faster for photos
        image.draft("RGB" if colour else "L", (WORK_EDGE, WORK_EDGE))
        image.load()
        if frames > 1 and image.format != "MPO":  # MPO: a phone photo and its previews, the first is the photo
            logger.warning("%s has %d frames; using the first.", name, frames)
        small = _reduced(image)
    method = _orientation_method(orientation)
    return small.transpose(method) if method is not None else small  # loaded: its pixels outlive the file


def _orientation_method(orientation: Any) -> Any:
    """The transposition that makes an image with this EXIF orientation upright (ImageOps.exif_transpose's table)."""
    from PIL import Image

    t = Image.Transpose
    return {2: t.FLIP_LEFT_RIGHT, 3: t.ROTATE_180, 4: t.FLIP_TOP_BOTTOM, 5: t.TRANSPOSE, 6: t.ROTATE_270,
            7: t.TRANSVERSE, 8: t.ROTATE_90}.get(orientation)  # fmt: skip


def _reduced(image: Any) -> Any:
    """``image`` shrunk by the largest integer factor that keeps both sides at least `WORK_EDGE` (a box
    filter, in C, on 8-bit pixels): the float copies made afterwards stay small whatever the upload."""
    factor = min(image.width // WORK_EDGE, image.height // WORK_EDGE)
    if factor < 2 or image.mode == "I;16":  # I;16: reduce does not take it (and 16-bit photos are rare)
        return image
    if image.mode in ("P", "PA", "1"):  # palette indices and bits cannot be averaged: real colours first
        transparent = image.mode == "PA" or "transparency" in image.info
        image = image.convert("L" if image.mode == "1" else "RGBA" if transparent else "RGB")
    return image.reduce(factor)


def _too_large(name: str, err: BaseException | str, max_pixels: int | None = None) -> str:
    from PIL import Image

    found = re.search(r"\((\d+) pixels\)", str(err))
    size = f"{int(found[1]):,} pixels" if found else str(err)
    limit = min(max_pixels or Image.MAX_IMAGE_PIXELS or 0, Image.MAX_IMAGE_PIXELS or max_pixels or 0)
    return (
        f"Expected an image of at most {limit:,} pixels in {name}; got {size}. It is refused as a possible "
        "decompression bomb: shrink it (a few hundred pixels a side is plenty) and try again."
    )


def prepare_image(
    path: str | os.PathLike[str], invert: str = "auto", size: tuple[int, int] = (28, 28)
) -> tuple[np.ndarray, bool]:
    """`load_image` then `to_fashion_mnist`; every `ImageError` names the file.

    Examples:
        >>> import tempfile
        >>> from PIL import Image
        >>> path = Path(tempfile.mkdtemp()) / "white.png"
        >>> Image.new("RGB", (60, 40), "white").save(path)
        >>> pixels, inverted = prepare_image(path)
        >>> pixels.shape, pixels.dtype.name, inverted
        ((28, 28), 'uint8', True)
    """
    return _prepare(load_image(path), str(path), invert, size)


def prepare_image_bytes(
    data: bytes, name: str, invert: str = "auto", size: tuple[int, int] = (28, 28)
) -> tuple[np.ndarray, bool]:
    """`prepare_image` for an image held in memory (an upload); nothing is written to disk."""
    return _prepare(read_image_bytes(data, name), name, invert, size)


def _prepare(image: Any, name: str, invert: str, size: tuple[int, int]) -> tuple[np.ndarray, bool]:
    try:
        return to_fashion_mnist(image, invert, size)
    except ImageError as err:
        raise ImageError(f"Cannot use the image {name}: {err}") from None


def to_grey(image: Any) -> np.ndarray:
    """Pixels of a Pillow image as float grey levels in [0, 255]; transparency becomes background.

    Transparent pixels are shown over white when the visible ones are dark on average, over black
    when they are light, so that the object always stands out. 16-bit grey is scaled, not clipped.

    Raises:
        ImageError: the image's colour mode cannot be made grey.

    Examples:
        >>> from PIL import Image
        >>> to_grey(Image.new("RGBA", (2, 1), (0, 0, 0, 0))).tolist()
        [[255.0, 255.0]]
        >>> light = Image.new("LA", (2, 1), (0, 0))
        >>> light.putpixel((0, 0), (250, 255))  # one opaque light pixel: the background becomes black
        >>> to_grey(light).tolist()
        [[250.0, 0.0]]
        >>> to_grey(Image.new("I;16", (1, 1), 65535)).tolist()
        [[255.0]]
    """
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        return _over_background(image.convert("LA").convert("RGBA") if image.mode == "La" else image.convert("RGBA"))
    if image.mode.startswith("I") or image.mode == "F":  # 16/32-bit grey: scale, do not clip
        pixels = np.asarray(image, dtype=np.float64)
        pixels = np.nan_to_num(pixels, nan=0.0, posinf=65535.0, neginf=0.0)
        top = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        return np.clip(pixels * (255.0 / top), 0, 255)
    for route in (("L",), ("RGB", "L")):  # some modes (e.g. LAB, HSV) only go to grey through RGB, if at all
        try:
            converted = image
            for mode in route:
                converted = converted.convert(mode)
            return np.asarray(converted, dtype=np.float64)
        except ValueError:
            continue
    raise ImageError(f"Expected an image in a colour mode that can be made grey; got mode {image.mode}.")


def _over_background(rgba: Any) -> np.ndarray:
    """Grey levels of an RGBA image over white (dark object) or black (light object)."""
    grey = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float64)  # (H, W)
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0  # (H, W) in [0, 1]
    weight = alpha.sum()
    level = float((grey * alpha).sum() / weight) if weight > 0 else 0.0  # mean grey of what is visible
    background = 255.0 if level <= 127.5 else 0.0
    return grey * alpha + background * (1.0 - alpha)


def border_level(pixels: np.ndarray) -> float:
    """The background's grey level: the median of the outermost pixels.

    Examples:
        >>> border_level(np.pad(np.zeros((3, 3)), 1, constant_values=200))
        200.0
    """
    ring = np.sort(np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]]))
    middle = len(ring) // 2  # np.median's value, at a fifth of its cost (this runs once per request served)
    return float(ring[middle]) if len(ring) % 2 else (float(ring[middle - 1]) + float(ring[middle])) / 2


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

    Raises:
        ImageError: the image is 0×0 or its colour mode cannot be made grey.
        ConfigError: ``invert`` is not one of ``INVERT_CHOICES``.

    Examples:
        >>> from PIL import Image, ImageDraw
        >>> photo = Image.new("RGB", (200, 100), "white")
        >>> ImageDraw.Draw(photo).rectangle((80, 20, 119, 79), fill="black")  # a 40×60 dark box
        >>> pixels, inverted = to_fashion_mnist(photo)
        >>> inverted, pixels.shape, int(pixels[14, 14]), int(pixels[14, 2])
        (True, (28, 28), 255, 0)
    """
    check_choice("invert", invert, INVERT_CHOICES)
    if image.width == 0 or image.height == 0:
        raise ImageError(f"Expected an image of at least 1×1 pixels; got {image.width}×{image.height}.")
    ready = _as_it_is(image, invert, size)
    if ready is not None:
        return ready
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


_NEGATIVE = bytes(range(255, -1, -1))  # byte v becomes 255 - v


def _as_it_is(image: Any, invert: str, size: tuple[int, int]) -> tuple[np.ndarray, bool] | None:
    """An 8-bit grey image of ``size`` on black or white (a Fashion-MNIST image, a drawn one): the
    general path's result, at most inverted; None for any other image.

    Every request the server classifies comes this way, so it works on the image's bytes (a handful
    of C calls) instead of float arrays (a few dozen numpy calls, 3× the time).
    """
    height, width = size
    if image.mode != "L" or image.size != (width, height):
        return None
    data = image.tobytes()  # row after row, one byte per pixel
    inner = slice(width, (height - 1) * width, width)  # rows 1 .. H-2 of column 0
    ring = sorted(data[:width] + data[-width:] + data[inner] + data[inner.start + width - 1 : inner.stop : width])
    middle = len(ring) // 2  # `border_level`'s median, to the bit
    level = float(ring[middle]) if len(ring) % 2 else (ring[middle - 1] + ring[middle]) / 2
    inverted = invert == "yes" or (invert == "auto" and level > 127.5)
    if (255.0 - level if inverted else level) != 0:  # a grey background: the general path stretches it
        return None
    pixels = bytearray(data.translate(_NEGATIVE) if inverted else data)  # a writable copy
    return np.frombuffer(pixels, dtype=np.uint8).reshape(height, width), inverted
