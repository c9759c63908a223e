"""Images for `predict`, case by case: real files made with Pillow, each used sensibly or refused clearly.

Used: 16-bit grey, palette (with and without transparency), RGBA and LA over the background that
suits them, CMYK, and the first frame of a multi-frame GIF or TIFF (with a warning). Refused, with
an `ImageError` naming the file: not an image, truncated, empty, 0×0, and more pixels than
``PIL.Image.MAX_IMAGE_PIXELS`` (a possible decompression bomb, even where Pillow would only warn).
A few go through ``softmaxreg predict`` in a subprocess, the rest through `prepare_image`.
"""

import io
import logging
import re
import shutil
import struct
import warnings
import zlib

import numpy as np
import pytest
from conftest import run_cli, train_synthetic_run
from PIL import Image, ImageDraw

from softmaxreg.errors import ImageError
from softmaxreg.runs.images import load_image, prepare_image, to_fashion_mnist


def garment(mode="RGB", background="white", fill="black", size=(120, 160)):
    """A dark 60×100 box (the garment) on a light background, in ``mode``."""
    image = Image.new("RGB", size, background)
    ImageDraw.Draw(image).rectangle((30, 30, 89, 129), fill=fill)
    return image.convert(mode) if mode != "RGB" else image


def reference():
    """What every usable variant below should come out as: the RGB garment, prepared."""
    return to_fashion_mnist(garment())[0]


def close_to_reference(pixels, tolerance=12):
    return np.abs(pixels.astype(int) - reference().astype(int)).mean() < tolerance


def png_header(width, height):
    """A PNG whose header claims ``width``×``height`` grey pixels, with no pixel data to speak of."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


# -- usable: each comes out like the plain RGB garment ----------------------------------------------


def sixteen_bit(path):
    pixels = np.full((160, 120), 60_000, np.uint16)  # light background, 16 bits
    pixels[30:130, 30:90] = 1_000  # the dark garment
    Image.fromarray(pixels).save(path)
    assert Image.open(path).mode.startswith("I")


def palette(path):
    garment("P").save(path)


def palette_transparent(path):
    image = Image.new("P", (120, 160), 0)
    image.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)  # index 0 and 1 are both black...
    ImageDraw.Draw(image).rectangle((30, 30, 89, 129), fill=1)
    image.save(path, transparency=0)  # ...but index 0 is transparent: a black garment on nothing


def rgba_dark_on_transparent(path):
    image = Image.new("RGBA", (120, 160), (0, 0, 0, 0))  # transparent *black*
    ImageDraw.Draw(image).rectangle((30, 30, 89, 129), fill=(0, 0, 0, 255))
    image.save(path)


def la_dark_on_transparent(path):
    image = Image.new("LA", (120, 160), (255, 0))
    ImageDraw.Draw(image).rectangle((30, 30, 89, 129), fill=(0, 255))
    image.save(path)


def cmyk_jpeg(path):
    garment("CMYK").save(path, quality=95)


def cmyk_tiff(path):
    garment("CMYK").save(path)


def multi_frame_gif(path):
    frames = [garment("P"), garment("P", fill="grey"), garment("P", background="black", fill="white")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)


def multi_page_tiff(path):
    garment("L").save(path, save_all=True, append_images=[Image.new("L", (120, 160), 0)])


USABLE = {
    "16-bit grey (I;16)": ("a.png", sixteen_bit),
    "palette": ("b.png", palette),
    "palette with transparency": ("c.gif", palette_transparent),
    "RGBA, dark on transparent": ("d.png", rgba_dark_on_transparent),
    "LA, dark on transparent": ("e.png", la_dark_on_transparent),
    "CMYK JPEG": ("f.jpg", cmyk_jpeg),
    "CMYK TIFF": ("g.tif", cmyk_tiff),
    "multi-frame GIF": ("h.gif", multi_frame_gif),
    "multi-page TIFF": ("i.tif", multi_page_tiff),
}


@pytest.mark.parametrize("case", USABLE)
def test_usable_images_come_out_like_the_plain_rgb_one(tmp_path, caplog, case):
    name, make = USABLE[case]
    make(tmp_path / name)
    with caplog.at_level(logging.WARNING, logger="softmaxreg.runs.images"):
        pixels, inverted = prepare_image(tmp_path / name)
    assert inverted and pixels.shape == (28, 28) and pixels.dtype == np.uint8
    assert close_to_reference(pixels), np.abs(pixels.astype(int) - reference().astype(int)).mean()
    frames = {"multi-frame GIF": 3, "multi-page TIFF": 2}.get(case)
    assert caplog.messages == ([f"{tmp_path / name} has {frames} frames; using the first."] if frames else [])


def test_a_light_garment_on_transparency_is_shown_over_black(tmp_path):
    image = Image.new("RGBA", (120, 160), (255, 255, 255, 0))  # transparent *white*
    ImageDraw.Draw(image).rectangle((30, 30, 89, 129), fill=(250, 250, 250, 255))  # a white shirt
    image.save(tmp_path / "shirt.png")
    pixels, inverted = prepare_image(tmp_path / "shirt.png")
    assert not inverted  # over white it would vanish; over black it is already light on dark
    assert close_to_reference(pixels)


def test_sixteen_bit_values_are_scaled_from_the_full_16_bit_range(tmp_path):
    pixels = np.full((28, 28), 200, np.uint16)  # 200 of 65535: nearly black, not 8-bit 200
    Image.fromarray(pixels).save(tmp_path / "dark.png")
    out, inverted = prepare_image(tmp_path / "dark.png")
    assert not inverted and out.max() <= 1


# -- refused: one ImageError naming the file ---------------------------------------------------------


def truncated(fmt):
    def make(path):
        buffer = io.BytesIO()
        garment().save(buffer, format=fmt)
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])

    return make


TRUNCATED = (
    r"Expected a complete image in {p}; got a truncated or damaged file \(Pillow: image file is truncated.*\)\. "
    r"Save or download it again\."
)
BOMB = (r"Expected an image of at most 89,478,485 pixels in {p}; got {n} pixels\. "
        r"It is refused as a possible decompression bomb: shrink it \(a few hundred pixels a side is plenty\) "
        r"and try again\.")  # fmt: skip
REFUSED = {
    "not an image": ("notes.png", lambda p: p.write_text("my shopping list"),
                     r"Expected a PNG or JPEG image in {p}; Pillow does not recognise the file\."),
    "truncated PNG": ("cut.png", truncated("PNG"), TRUNCATED),
    "truncated JPEG": ("cut.jpg", truncated("JPEG"), TRUNCATED),
    "empty file": ("empty.png", lambda p: p.write_bytes(b""),
                   r"Expected an image in {p}; got an empty file \(0 bytes\)\."),
    "0×0 PNG": ("zero.png", lambda p: p.write_bytes(png_header(0, 0)),
                r"Expected a PNG or JPEG image in {p}; Pillow does not recognise the file\."),
    "100 megapixels (Pillow only warns)": ("huge.png", lambda p: Image.new("1", (10_000, 10_000)).save(p),
                                           BOMB.replace("{n}", "100,000,000")),
    "400 megapixels (Pillow refuses)": ("bomb.png", lambda p: p.write_bytes(png_header(20_000, 20_000)),
                                        BOMB.replace("{n}", "400,000,000")),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
def test_refused_images_raise_one_image_error_naming_the_file(tmp_path, case):
    name, make, message = REFUSED[case]
    make(tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning gets out instead
        with pytest.raises(ImageError) as info:
            prepare_image(tmp_path / name)
    assert re.fullmatch(message.replace("{p}", re.escape(str(tmp_path / name))), str(info.value)), str(info.value)


def test_a_0x0_image_in_memory():
    with pytest.raises(ImageError, match=r"^Expected an image of at least 1×1 pixels; got 0×0\.$"):
        to_fashion_mnist(Image.new("L", (0, 0)))


def test_the_limit_follows_pillows_setting(tmp_path, monkeypatch):
    garment().save(tmp_path / "photo.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(ImageError, match=r"at most 10,000 pixels in .*photo\.png; got 19,200 pixels\."):
        load_image(tmp_path / "photo.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # the user switched the check off
    assert load_image(tmp_path / "photo.png").size == (120, 160)


# -- through softmaxreg predict --------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A 1-epoch run folder on the synthetic data (predict needs a model, not the data)."""
    run = train_synthetic_run(tmp_path_factory.mktemp("predict"), epochs=1)
    shutil.rmtree(run.parent / "data")
    return run


def test_predict_uses_the_odd_ones_and_says_so_for_frames(run_dir, tmp_path):
    names = []
    for name, make in USABLE.values():
        make(tmp_path / name)
        names.append(name)
    result = run_cli("predict", str(run_dir), *names, "--top-k", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line.split(" (inverted): ")[0] for line in result.stdout.splitlines()] == names
    assert result.stderr.splitlines() == ["softmaxreg: h.gif has 3 frames; using the first.",
                                          "softmaxreg: i.tif has 2 frames; using the first."]  # fmt: skip


@pytest.mark.parametrize("case", ["100 megapixels (Pillow only warns)", "empty file"])
def test_predict_refuses_in_one_line(run_dir, tmp_path, case):
    name, make, message = REFUSED[case]
    make(tmp_path / name)
    garment().save(tmp_path / "good.png")
    result = run_cli("predict", str(run_dir), "good.png", name, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")  # nothing is predicted before every image is read
    assert re.fullmatch("softmaxreg: error: " + message.replace("{p}", re.escape(name)) + "\n", result.stderr), (
        result.stderr
    )


@pytest.mark.parametrize("case", [c for c in REFUSED if "megapixels" not in c])
def test_predict_in_process_one_line_for_each(run_dir, tmp_path, cli_in_process, case):
    name, make, message = REFUSED[case]
    make(tmp_path / name)
    code, out, err = cli_in_process("predict", run_dir, tmp_path / name)
    assert (code, out) == (2, "")
    assert re.fullmatch("softmaxreg: error: " + message.replace("{p}", re.escape(str(tmp_path / name))) + "\n", err), (
        err
    )
