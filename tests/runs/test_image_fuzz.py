"""Fuzzing the image loader: any bytes either become a 28×28 uint8 image or raise ImageError; nothing else escapes.

Random bytes rarely get past a format's signature, so most inputs are real small images (PNG, GIF,
JPEG, BMP, TIFF, WebP, ICO, PPM; grey, palette, RGB, RGBA, 16-bit) that are then cut, bit-flipped,
overwritten or extended. ``MAX_IMAGE_PIXELS`` is lowered so that a flipped size field costs little
memory. ``FUZZ_EXAMPLES=5000 pytest tests/runs/test_image_fuzz.py`` fuzzes longer than the suite's 300.
"""

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from softmaxreg.errors import ImageError
from softmaxreg.runs.images import prepare_image

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 300)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
FORMATS = ["PNG", "GIF", "JPEG", "BMP", "TIFF", "WEBP", "ICO", "PPM"]
MODES = ["L", "P", "RGB", "RGBA", "I;16", "1", "LA", "CMYK"]


def _encode(mode, fmt, size, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = (
        Image.fromarray(pixels, "RGB").convert(mode)
        if mode != "I;16"
        else Image.fromarray(pixels[..., 0].astype(np.uint16) * 257)
    )
    for candidate in (image, image.convert("RGB")):  # a mode the format cannot hold (or read back): RGB
        buffer = io.BytesIO()
        try:
            candidate.save(buffer, format=fmt)
            Image.open(io.BytesIO(buffer.getvalue())).load()
            return buffer.getvalue()
        except (OSError, ValueError, KeyError):
            continue
    raise AssertionError(f"Pillow cannot write {mode} as {fmt}")


@st.composite
def damaged_image(draw):
    """A real small image file, then cut, bit-flipped, overwritten, extended or left whole."""
    data = _encode(draw(st.sampled_from(MODES)), draw(st.sampled_from(FORMATS)),
                   (draw(st.integers(1, 40)), draw(st.integers(1, 40))), draw(st.integers(0, 2**16)))  # fmt: skip
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["cut", "flip", "overwrite", "extend", "none"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "cut":
            data = data[:i]
        elif action == "flip" and data:
            data = data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1 :]
        elif action == "overwrite":
            data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i + 8 :]
        elif action == "extend":
            data += draw(st.binary(max_size=50))
    return data


SIGNATURES = [
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"\xff\xd8\xff",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF",
    b"P5\n",
    b"\x00\x00\x01\x00",
]


def _loads_or_refuses(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.img"
        path.write_bytes(data)
        try:
            pixels, inverted = prepare_image(path)
        except ImageError as err:
            assert str(path) in str(err) and "\n" not in str(err)  # names the file, one line
            return
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8 and isinstance(inverted, bool)


@pytest.fixture(autouse=True)
def small_limit(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)


@FUZZ
@given(
    st.one_of(st.binary(max_size=300), st.tuples(st.sampled_from(SIGNATURES), st.binary(max_size=300)).map(b"".join))
)
def test_any_bytes_load_or_raise_image_error(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about some damage (e.g. corrupt EXIF); only errors count
        _loads_or_refuses(data)


@FUZZ
@given(damaged_image())
def test_damaged_real_images_load_or_raise_image_error(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _loads_or_refuses(data)


@settings(FUZZ, max_examples=60)
@given(st.sampled_from(MODES), st.sampled_from(FORMATS), st.integers(1, 40), st.integers(1, 40))
def test_undamaged_images_of_every_mode_and_format_load(mode, fmt, width, height):
    data = _encode(mode, fmt, (width, height), seed=width * height)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"image.{fmt.lower()}"
        path.write_bytes(data)
        pixels, _ = prepare_image(path)
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8
