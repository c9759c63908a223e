"""`softmaxreg predict RUN_DIR IMAGE...` on real Fashion-MNIST test images saved as files."""

import json

import pytest
from conftest import run_cli
from PIL import Image

pytestmark = pytest.mark.real_data

NUM_IMAGES = 20


@pytest.fixture(scope="module")
def test_images(fashion, tmp_path_factory):
    """The first test images as files: grey 28×28 PNGs, and RGB 200×200 photos (dark object on white)."""
    folder = tmp_path_factory.mktemp("images")
    labels = fashion.val.labels[:NUM_IMAGES].tolist()
    grey, photos = [], []
    for i in range(NUM_IMAGES):
        pixels = fashion.val.images[i, 0].numpy()  # (28, 28) uint8, light on dark
        Image.fromarray(pixels).save(folder / f"grey{i:02d}.png")
        garment = Image.fromarray(255 - pixels).resize((150, 150), Image.Resampling.BICUBIC).convert("RGB")
        photo = Image.new("RGB", (200, 200), "white")
        photo.paste(garment, (30, 20))  # off centre: predict must centre it again
        photo.save(folder / f"photo{i:02d}.png")
        grey.append(str(folder / f"grey{i:02d}.png"))
        photos.append(str(folder / f"photo{i:02d}.png"))
    return grey, photos, labels


def test_predict_recovers_the_labels_of_real_test_images(trained_run, test_images, tmp_path):
    grey, photos, labels = test_images
    result = run_cli("predict", str(trained_run.dir), *grey, *photos, "--json", "--save-inputs", "seen", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    predictions = json.loads(result.stdout)
    assert [p["image"] for p in predictions] == grey + photos
    assert [p["inverted"] for p in predictions] == [False] * NUM_IMAGES + [True] * NUM_IMAGES
    for p in predictions:
        probabilities = [t["probability"] for t in p["top_k"]]
        assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-6
    top1 = [p["top_k"][0]["label"] for p in predictions]
    grey_hits = sum(a == b for a, b in zip(top1[:NUM_IMAGES], labels, strict=True))
    photo_hits = sum(a == b for a, b in zip(top1[NUM_IMAGES:], labels, strict=True))
    assert grey_hits >= 0.7 * NUM_IMAGES, (grey_hits, top1[:NUM_IMAGES], labels)  # the model's ~80% accuracy
    assert photo_hits >= 0.6 * NUM_IMAGES, (photo_hits, top1[NUM_IMAGES:], labels)
    agree = sum(a == b for a, b in zip(top1[:NUM_IMAGES], top1[NUM_IMAGES:], strict=True))
    assert agree >= 0.7 * NUM_IMAGES  # the photo, made back into a 28×28 image, looks like the original

    seen = sorted((tmp_path / "seen").iterdir())
    assert len(seen) == 2 * NUM_IMAGES
    with Image.open(seen[0]) as first:
        assert (first.mode, first.size) == ("L", (28, 28))
        assert first.tobytes() == Image.open(grey[0]).tobytes()  # a Fashion-MNIST image comes back unchanged


def test_predict_text_output_in_vietnamese(trained_run, test_images, tmp_path):
    grey, photos, _ = test_images
    result = run_cli("predict", str(trained_run.dir), grey[0], photos[0], "--top-k", "2", "--lang", "vi", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith(f"{grey[0]}: bốt cổ ngắn ")  # test image 0 is an ankle boot
    assert first.count("%") == 2
    assert second.startswith(f"{photos[0]} (inverted): ")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.png", "Expected an image at {d}/missing.png; the file does not exist."),
        (lambda d: (d / "notes.png").write_text("hello") and d / "notes.png",
         "Expected a PNG or JPEG image in {d}/notes.png; Pillow does not recognise the file."),
    ],
)  # fmt: skip
def test_unreadable_image_is_one_line(trained_run, tmp_path, make, message):
    good = tmp_path / "good.png"
    Image.new("L", (28, 28)).save(good)
    result = run_cli("predict", str(trained_run.dir), str(good), str(make(tmp_path)), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""  # nothing is predicted before every image is read
    assert result.stderr == f"softmaxreg: error: {message.format(d=tmp_path)}\n"


def test_predict_needs_a_run_folder(tmp_path):
    Image.new("L", (28, 28)).save(tmp_path / "a.png")
    result = run_cli("predict", "no-such-run", "a.png", cwd=tmp_path)
    assert result.returncode == 2
    assert "Expected a run folder at no-such-run; it does not exist." in result.stderr
    assert len(result.stderr.splitlines()) == 1
