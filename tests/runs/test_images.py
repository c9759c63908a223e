"""Turning any picture into a Fashion-MNIST-like 28×28 image (softmaxreg.runs.images)."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from softmaxreg.errors import ConfigError, ImageError
from softmaxreg.runs.images import load_image, to_fashion_mnist


def photo(size=(200, 200), box=(60, 40, 119, 159), background="white", fill="black", mode="RGB"):
    """A product photo: a dark rectangle (the object) on a light background."""
    image = Image.new(mode, size, background)
    ImageDraw.Draw(image).rectangle(box, fill=fill)
    return image


def object_box(pixels, level=128):
    rows, cols = np.flatnonzero((pixels > level).any(1)), np.flatnonzero((pixels > level).any(0))
    return rows[0], rows[-1], cols[0], cols[-1]


def test_a_fashion_mnist_image_comes_back_unchanged():
    rng = np.random.default_rng(0)
    pixels = np.zeros((28, 28), np.uint8)
    pixels[3:25, 8:20] = rng.integers(30, 256, size=(22, 12))
    out, inverted = to_fashion_mnist(Image.fromarray(pixels))
    assert not inverted
    assert np.array_equal(out, pixels)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), background=st.sampled_from([0, 255, 3, 128, 200]),
       invert=st.sampled_from(["auto", "yes", "no"]), size=st.sampled_from([(28, 28), (20, 28), (28, 27)]))  # fmt: skip
def test_an_8bit_grey_image_of_the_right_size_takes_the_short_way_to_the_same_pixels(seed, background, invert, size):
    """`to_fashion_mnist` skips its float arithmetic for an 'L' image of the right size on black or white
    (each upload and drawing the server classifies); the result must be the general path's to the bit.
    Mode 'F' holds the same levels and always takes the general path."""
    rng = np.random.default_rng(seed)
    pixels = np.full(size, background, np.uint8)
    pixels[2:-2, 3:-3] = rng.integers(0, 256, (size[0] - 4, size[1] - 6))
    pixels[0, : rng.integers(0, size[1])] = rng.integers(0, 256)  # a border not quite uniform
    fast, fast_inverted = to_fashion_mnist(Image.fromarray(pixels), invert)
    slow, slow_inverted = to_fashion_mnist(Image.fromarray(pixels.astype(np.float32), "F"), invert)
    assert fast.dtype == slow.dtype == np.uint8 and fast_inverted == slow_inverted
    np.testing.assert_array_equal(fast, slow)


def test_a_light_background_photo_is_inverted_trimmed_fitted_and_centred():
    out, inverted = to_fashion_mnist(photo(box=(10, 20, 69, 139)))  # 60 wide, 120 tall, in the top left
    assert inverted and out.shape == (28, 28) and out.dtype == np.uint8
    top, bottom, left, right = object_box(out)
    assert (top, bottom) == (0, 27)  # the longest edge fills the 28 pixels
    assert right - left + 1 == 14  # the aspect ratio is kept: 60/120 of 28
    assert left == 7  # centred: (28 - 14) / 2
    assert out[0, 0] == 0 and out[14, 14] == 255  # light object on black


@pytest.mark.parametrize(("invert", "expected"), [("yes", True), ("no", False)])
def test_inversion_can_be_forced(invert, expected):
    out, inverted = to_fashion_mnist(photo(), invert=invert)
    assert inverted is expected
    assert out[14, 14] == 255 if expected else out[14, 14] < 10  # a dark object on black: nothing to see


def test_a_dark_photo_is_not_inverted_unless_asked():
    dark = photo(background="black", fill="white")
    assert to_fashion_mnist(dark)[1] is False
    out, inverted = to_fashion_mnist(dark, invert="yes")
    assert inverted and out[14, 14] < 10


def test_a_dark_grey_background_becomes_black():
    out, _ = to_fashion_mnist(photo(background=(60, 60, 60), fill=(250, 250, 250)))
    assert out[0, 0] == 0 and out[14, 14] == 248  # (250 - 60) * 255 / (255 - 60): the range is stretched


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16", "I", "F", "1"])
def test_every_colour_mode(mode):
    image = photo().convert(mode) if mode not in ("I;16", "I", "F") else _wide_grey(mode)
    out, inverted = to_fashion_mnist(image)
    assert inverted and out.shape == (28, 28)
    assert out[0, 0] == 0 and out[14, 14] >= 250


def _wide_grey(mode):
    top = 65535 if mode in ("I;16", "I") else 255.0
    pixels = np.full((200, 200), top, dtype={"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode])
    pixels[40:160, 60:120] = 0
    image = Image.fromarray(pixels)
    assert image.mode == mode
    return image


def test_transparency_counts_as_a_white_background():
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))  # transparent *black*
    ImageDraw.Draw(image).ellipse((20, 10, 79, 89), fill=(30, 30, 30, 255))
    out, inverted = to_fashion_mnist(image)
    assert inverted and out[0, 0] == 0 and out[14, 14] > 200


@pytest.mark.parametrize("size", [(1, 1), (1000, 10), (10, 1000), (3, 5)])
def test_any_size(size):
    out, _ = to_fashion_mnist(Image.new("L", size, 255))
    assert out.shape == (28, 28)


def test_invert_choice_is_checked():
    with pytest.raises(ConfigError, match="`invert` must be one of 'auto', 'yes', 'no'; got 'maybe'."):
        to_fashion_mnist(photo(), invert="maybe")


def test_load_image_follows_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise
    Image.new("RGB", (40, 20), "white").save(tmp_path / "rotated.jpg", exif=exif)
    assert load_image(tmp_path / "rotated.jpg").size == (20, 40)


def test_load_image_of_a_large_jpeg_is_reduced_while_decoding(tmp_path):
    photo(size=(2000, 1600), box=(600, 400, 1399, 1199)).save(tmp_path / "big.jpg", quality=90)
    image = load_image(tmp_path / "big.jpg")
    assert 256 <= min(image.size) < 1600
    out, inverted = to_fashion_mnist(image)
    assert inverted and out[14, 14] > 240


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.png", None, "Expected an image at {p}; the file does not exist."),
        ("notes.png", b"just text", "Expected a PNG or JPEG image in {p}; Pillow does not recognise the file."),
        ("folder.png", "dir", "Expected an image file; {p} is a folder."),
        ("cut.png", "truncated", "Expected a complete image in {p}; got a truncated or damaged file (Pillow: "),
    ],
)
def test_unreadable_images(tmp_path, name, content, message):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content == "truncated":
        buffer = io.BytesIO()
        photo().save(buffer, format="PNG")
        path.write_bytes(buffer.getvalue()[:200])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert str(info.value).startswith(message.format(p=path))
