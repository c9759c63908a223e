"""Requests' data made into what a served run's model takes, as the run was trained.

- Image files (``POST /api/predict``): a grey run of light objects on dark (Fashion-MNIST and runs
  like it) prepares them as ``softmaxreg predict`` does (trim, fit, centre, auto-invert); any other
  image run resizes them to its ``H×W``, grey or RGB, and inverts only when asked (``invert=yes``),
  or, with ``invert=auto``, when the run was trained light on dark and the image's border is light.
- Pixel arrays (``POST /api/predict/pixels``): numbers in [0, 1], one image ``H×W`` (grey) or
  ``H×W×3`` (colour), or a batch of them, checked with numpy (shape, finiteness, range).
- Table rows (``POST /api/predict/features``): objects by column name or lists in training column
  order; every problem is one line naming the row and the column.

Every problem is a `BadInputError` (400) with one line saying what was expected and what came.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from softmaxreg.serve import jsonarrays
from softmaxreg.serve.errors import BadInputError
from softmaxreg.serve.state import ServedRun

MAX_IMAGES = 256  # images in one POST /api/predict/pixels (a batch); documented in docs/guide/inference-protocol.md
MAX_ROWS = 4096  # rows in one POST /api/predict/features


def prepare_upload(run: ServedRun, data: bytes, name: str, invert: str) -> tuple[np.ndarray, bool]:
    """An uploaded image file as the run's model takes it: ``(H, W)`` uint8 (grey) or ``(3, H, W)`` (RGB).

    Raises:
        ImageError: not an image, damaged, too large (400, with the file's name).
        BadInputError: the run takes features, not images.
    """
    from softmaxreg.runs.images import prepare_image_bytes, read_image_bytes

    if not run.is_images:
        names = ", ".join(run.spec.feature_names[:5])
        raise BadInputError(f"This run takes table rows ({names}...), not images: POST them to /api/predict/features.")
    if run.is_fashion_mnist_like:
        return prepare_image_bytes(data, name, invert, run.input_size)
    return resize_as_trained(read_image_bytes(data, name, colour=run.spec.channels == 3), run, invert)


def resize_as_trained(image: Any, run: ServedRun, invert: str) -> tuple[np.ndarray, bool]:
    """A Pillow image as training made the run's images (`softmaxreg.datasets.convert.to_array`: grey or
    RGB, transparency over white, Lanczos to ``H×W``), inverted when asked: ``(H, W)`` or ``(3, H, W)``."""
    from softmaxreg.datasets.convert import to_array

    spec = run.spec
    pixels = to_array(image, spec.channels, (spec.height, spec.width))  # (C, H, W)
    pixels = pixels[0] if spec.channels == 1 else pixels
    inverted = invert == "yes" or (invert == "auto" and spec.light_on_dark and _light_border(pixels))
    return (255 - pixels if inverted else pixels), inverted


def _light_border(pixels: np.ndarray) -> bool:
    grey = pixels if pixels.ndim == 2 else pixels.mean(axis=0)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return bool(np.median(border) > 127)


def pixel_images(run: ServedRun, value: Any) -> tuple[np.ndarray, bool]:
    """``pixels`` of a JSON body (nested lists of numbers in [0, 1]) as uint8 images.

    Returns:
        ``(images, batch)``: ``(N, H, W)`` (grey) or ``(N, 3, H, W)`` (colour) uint8, and whether the
        body held a batch (a list of images) rather than one image.
    """
    spec = run.spec
    if not run.is_images:
        raise BadInputError("This run takes table rows, not pixels: POST them to /api/predict/features.")
    one = _one_image(run)
    what = f"{spec.height} rows of {spec.width} " + ("numbers" if spec.channels == 1 else "[r, g, b] triples")
    if not isinstance(value, list):
        raise BadInputError(f"Expected `pixels` to hold {what} in [0, 1]; got {_kind(value)}.")
    x = _grey_rows(value, spec.height, spec.width) if spec.channels == 1 else None
    if x is None:
        try:
            x = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            x = None  # ragged or not numbers: say where, below
    if x is None or x.ndim not in (len(one), len(one) + 1) or x.shape[-len(one) :] != one:
        raise BadInputError(_shape_problem(value, one, what))
    batch = x.ndim == len(one) + 1
    if batch and not 1 <= len(x) <= MAX_IMAGES:
        raise BadInputError(
            f"Expected a batch of 1 to {MAX_IMAGES} images in `pixels`; got {len(x)}. Send more in several requests."
        )
    return _as_images(x if batch else x[None], spec.channels, value), batch


def _one_image(run: ServedRun) -> tuple[int, ...]:
    """The shape of one image in ``pixels``: ``(H, W)`` grey, ``(H, W, 3)`` colour."""
    spec = run.spec
    return (spec.height, spec.width) if spec.channels == 1 else (spec.height, spec.width, 3)


def fast_pixel_images(run: ServedRun, raw: bytes) -> tuple[np.ndarray, bool] | None:
    """`pixel_images` of a whole body ``{"pixels": ...}`` read without a Python float per number
    (`softmaxreg.serve.jsonarrays`); None when that read cannot prove the body's structure (then the
    ordinary read answers, problems included)."""
    if not run.is_images:
        return None
    one = _one_image(run)
    fast = jsonarrays.pixels_body(raw, one, MAX_IMAGES)
    if fast is None:
        return None
    x, batch = fast
    return _as_images(x, run.spec.channels, None), batch


def _as_images(x: np.ndarray, channels: int, value: Any) -> np.ndarray:
    """``(N, H, W[, 3])`` numbers checked to be pixels in [0, 1], as uint8 ``(N, H, W)`` or ``(N, 3, H, W)``.
    ``value``: the JSON they came from, to name a null's place (None: they hold no null)."""
    finite = np.isfinite(x)
    if not finite.all() and value is not None:  # a null reads as NaN
        path, item = _first_non_number(value, "pixels")
        if path is not None:
            raise BadInputError(f"`{path}` must be a valid number; got {'null' if item is None else _kind(item)}.")
    if not finite.all() or x.min() < 0 or x.max() > 1:
        bad = x[~(finite & (x >= 0) & (x <= 1))][0]
        raise BadInputError(f"Expected every pixel in [0, 1] (0 black, 1 white); got {bad}.")
    images = np.rint(x * 255).astype(np.uint8)
    if channels == 3:
        images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))  # (N, 3, H, W), as the model takes it
    return images


def _grey_rows(value: list[Any], height: int, width: int) -> np.ndarray | None:
    """Grey images (one ``H×W`` or a batch) as float64, read row by row: ~25% faster than ``np.asarray`` of
    the nested lists (which first discovers their shape); None when they are not exactly that (the caller
    then finds what is wrong)."""
    first = value[0] if value else None
    rows = (
        value if first is None or not isinstance(first, list) or not first or not isinstance(first[0], list) else None
    )
    if rows is None:  # a batch: its images' rows
        if not all(isinstance(image, list) and len(image) == height for image in value):
            return None
        rows = [row for image in value for row in image]
        shape: tuple[int, ...] = (len(value), height, width)
    else:
        shape = (height, width)
    if len(rows) != math.prod(shape[:-1]) or not all(isinstance(row, list) and len(row) == width for row in rows):
        return None
    try:
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=len(rows) * width)
    except (ValueError, TypeError):
        return None
    return flat.reshape(shape)


def _kind(value: Any) -> str:
    return {dict: "an object", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), repr(value)[:40]
    )


def _shape_problem(value: list[Any], one: tuple[int, ...], what: str) -> str:
    """Where a nested list stops fitting: the first element that is not a number, or the sizes found."""
    path, item = _first_non_number(value, "pixels")
    if path is not None:
        return f"`{path}` must be a valid number; got {'null' if item is None else _kind(item)}."
    rows = value[0] if value and isinstance(value[0], list) and _depth(value) == len(one) + 1 else value
    widths = sorted({len(row) for row in rows if isinstance(row, list)})
    got = f"{len(rows)} row{'s' if len(rows) != 1 else ''} of {'/'.join(map(str, widths[:4])) or 0} numbers"
    if len(one) == 3 and widths:
        got = f"{len(rows)} rows of {'/'.join(map(str, widths[:4]))} items"
    return f"Expected `pixels` to hold {what}; got {got} (a batch is a list of such images)."


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    return depth


def _first_non_number(value: Any, path: str) -> tuple[str | None, Any]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_non_number(item, f"{path}.{i}")
            if found[0] is not None:
                return found
        return None, None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return path, value
    return None, None


def feature_rows(run: ServedRun, rows: Any) -> np.ndarray:
    """``rows`` of a JSON body as an ``(N, F)`` float64 array in the model's column order.

    Each row is an object ``{"name": value, ...}`` holding every feature (other keys are ignored) or a
    list of ``F`` numbers in training column order.
    """
    spec = run.spec
    if run.is_images:
        raise BadInputError(
            f"This run takes {spec.channels}×{spec.height}×{spec.width} images, not table rows: "
            "POST files to /api/predict or pixels to /api/predict/pixels."
        )
    names = spec.feature_names
    if not isinstance(rows, list) or not rows:
        raise BadInputError(f"Expected `rows` to be a non-empty list of rows; got {_kind(rows) if rows else 'none'}.")
    if len(rows) > MAX_ROWS:
        raise BadInputError(f"Expected at most {MAX_ROWS} rows in one request; got {len(rows)}. Send several requests.")
    out = np.empty((len(rows), len(names)), dtype=np.float64)
    for i, row in enumerate(rows):
        if isinstance(row, dict):
            missing = [name for name in names if name not in row]
            if missing:
                raise BadInputError(
                    f"Row {i} has no column `{missing[0]}`"
                    + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else "")
                    + f"; every row needs {', '.join(names[:8])}{'...' if len(names) > 8 else ''}."
                )
            values = [row[name] for name in names]
        elif isinstance(row, list):
            if len(row) != len(names):
                raise BadInputError(
                    f"Row {i} has {len(row)} values; expected {len(names)}, in the training column order "
                    f"({', '.join(names[:8])}{'...' if len(names) > 8 else ''})."
                )
            values = row
        else:
            raise BadInputError(f"Row {i} must be an object by column name or a list of values; got {_kind(row)}.")
        for j, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                shown = (
                    "null (a missing value)" if v is None else repr(v)[:40] if isinstance(v, (str, float)) else _kind(v)
                )
                raise BadInputError(f"Row {i}, column `{names[j]}` must be a finite number; got {shown}.")
            out[i, j] = v
    return out
