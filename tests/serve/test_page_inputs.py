"""The page adapts to the run's input (``/api/model``'s ``input`` entry, `softmaxreg.runs.inputs`).

The page and its scripts come from the real server; the model's endpoints are answered by Playwright
(``page.route``) with the contract the page expects from a run of your own data, so that the page is
tested for runs the server may not serve yet: RGB images (no drawing pad, templates in colour) and
named features (a form, ``POST /api/predict/features`` with ``{"rows": [{name: value}]}``, the weights
as a table).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import test_page
from test_page import ARTIFACTS, Watch, expect, expect_loaded

browser = test_page.browser  # the module's headless Chromium (a fixture)
pytestmark = pytest.mark.real_data
FEATURES = ["sepal length", "sepal width", "petal length", "petal width"]
CLASSES = ["setosa", "versicolor", "virginica"]


def fake_api(page, model: dict, predict: dict, sent: list) -> None:
    """Answer the model's endpoints with ``model`` and ``predict``; record the bodies posted to predict."""

    def reply(route, body, status=200):
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    def on_predict(route):
        sent.append(json.loads(route.request.post_data or "null"))
        reply(route, predict)

    page.route("**/api/health", lambda route: reply(route, {"status": "ok", "run": "runs/mine", "model_epoch": 3}))
    page.route("**/api/model", lambda route: reply(route, model))
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "val_acc": 0.3 * e} for e in (1, 2, 3)]
    summary = {"epochs": 3, "val_acc": 0.9, "best_epoch": 3, "total_seconds": 1.5}
    run = {"run": "runs/mine", "test_accuracy": None, "train_points": [], "summary": summary, "history": history}
    page.route("**/api/run", lambda route: reply(route, run))
    page.route("**/api/testset", lambda route: reply(route, {"error": "No test set for this run."}, 503))
    page.route("**/api/predict/**", on_predict)


def result(logits: list[float], contributions) -> dict:
    probabilities = np.exp(logits) / np.exp(logits).sum()
    order = np.argsort(-probabilities)
    top_k = [{"label": int(i), "class": CLASSES[i], "probability": float(probabilities[i])} for i in order]
    return {"results": [{"top_k": top_k, "logits": logits, "probabilities": probabilities.tolist(),
                         "contributions": contributions, "inverted": False}]}  # fmt: skip


def test_a_run_of_named_features_gets_a_form_and_a_table_of_weights(browser, server):
    weights = [[0.5, -1.0, 2.0, 0.1], [0.2, 0.3, -0.4, 0.0], [-0.7, 0.7, 1.5, -1.2]]
    model = {"run": "runs/mine", "model": "concise", "model_epoch": 3, "input_shape": [4], "lang": "en",
             "classes": {"en": CLASSES}, "templates": weights, "biases": [0.1, 0.0, -0.1],
             "input": {"kind": "features", "feature_names": FEATURES, "mean": [5, 3, 4, 1],
                       "std": [1, 1, 2, 1]}}  # fmt: skip
    sent: list = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page)
    fake_api(page, model, result([0.3, 0.1, 2.5], [[0.1, -0.2, 0.3, 0.0]] * 3), sent)
    page.goto(server + "/")
    expect(page.locator("#features")).to_be_visible()
    assert not page.locator("#canvas").is_visible() and not page.locator("#image-inputs").is_visible()
    assert page.locator("#feature-fields label").all_inner_texts() == FEATURES
    expect(page.locator("#input-title")).to_have_text("Your example")
    assert "Fashion-MNIST" not in page.locator(".lead").inner_text()
    for i, value in enumerate(["5.1", "3.5", "1.4", "0.2"]):
        page.get_by_label(FEATURES[i], exact=True).fill(value)
    page.get_by_role("button", name="Predict").click()
    expect(page.locator("#top li .name").first).to_have_text("virginica")
    assert sent == [{"rows": [{"sepal length": 5.1, "sepal width": 3.5, "petal length": 1.4, "petal width": 0.2}]}]
    expect(page.locator("#prediction-source")).to_contain_text("your example")
    expect(page.locator("#scores caption")).to_contain_text("All 3 classes")
    weights_table = page.locator("#weights tbody tr")
    expect(weights_table).to_have_count(4)
    assert weights_table.first.locator("th").inner_text() == "sepal length"
    assert not page.locator("#template").is_visible()  # no 28×28 templates for features

    page.fill("#feature-csv", "sepal length,sepal width,petal length,petal width\n6.0,2.9,4.5,1.5\n")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator("#top li .name").first).to_have_text("virginica")
    assert sent[-1] == {"rows": [{"sepal length": 6.0, "sepal width": 2.9, "petal length": 4.5, "petal width": 1.5}]}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "inputs-features-desktop.png", full_page=True)
    watch.errors = [e for e in watch.errors if "503" not in e]  # the run has no test set: its view says so
    watch.check(server)
    page.close()


def test_an_rgb_run_has_no_drawing_pad_and_colour_templates(browser, server):
    rng = np.random.default_rng(0)
    templates = rng.normal(size=(3, 3, 32, 32)).round(3)
    templates[0, 0] += 3  # class 0 likes red
    model = {"run": "runs/mine", "model": "concise", "model_epoch": 3, "input_shape": [3, 32, 32], "lang": "en",
             "classes": {"en": CLASSES}, "templates": templates.tolist(), "biases": [0.0, 0.0, 0.0],
             "input": {"kind": "images", "channels": 3, "height": 32, "width": 32, "light_on_dark": False}}  # fmt: skip
    page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # bypass: reads the canvas
    watch = Watch(page)
    fake_api(page, model, {}, [])
    page.goto(server + "/")
    expect(page.locator("#explain-class option")).to_have_count(3)
    assert not page.locator("#canvas").is_visible() and page.locator("#file").count() == 1
    expect(page.locator("#prediction-source")).to_have_text("Choose, drop or paste an image.")  # no "draw"
    red, green, blue = page.evaluate("""() => { const c = document.getElementById('template');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = [0, 0, 0];
      for (let i = 0; i < d.length; i += 4) { s[0] += d[i]; s[1] += d[i + 1]; s[2] += d[i + 2]; } return s; }""")
    assert page.evaluate("document.getElementById('template').width") == 32
    assert red > 1.3 * green and red > 1.3 * blue  # drawn in colour, not as a grey or red-blue map
    page.screenshot(path=ARTIFACTS / "inputs-rgb-desktop.png", full_page=True)
    watch.errors = [e for e in watch.errors if "503" not in e]
    watch.check(server)
    page.close()


@pytest.mark.parametrize("kind", ["rgb", "features"])
def test_colour_and_feature_runs_browse_their_own_test_split(browser, tmp_path, kind):
    """A real server of a run trained by the CLI on a colour image folder or a CSV of features: a random
    test example is predicted and explained, and a confusion-matrix cell shows its colour images (or its
    rows, by number), in English and Vietnamese, with nothing for axe-core to find."""
    from conftest import run_cli, start_server, stop_server
    from own_data_helpers import feature_csv, make_folder
    from test_page_a11y import axe

    source = make_folder(tmp_path / "rgb", 8, (24, 24), "RGB") if kind == "rgb" else feature_csv(tmp_path / "t.csv")
    trained = run_cli("train", "--data", str(source), "--epochs", "20", "--batch-size", "8",
                      "--out", str(tmp_path / "run"), "--quiet", cwd=tmp_path)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    process, url = start_server(tmp_path / "run", tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        watch = Watch(page)
        page.goto(url + "/")
        page.locator("#matrix button").first.wait_for()
        noun = "image" if kind == "rgb" else "row"
        page.get_by_role("button", name=f"Random test {noun}").click()
        expect(page.locator("#prediction-source")).to_contain_text(f"test {noun} ")
        expect(page.locator("#test-image p")).to_contain_text(f"Test {noun} ")
        page.locator('#matrix button[data-label="0"][data-predicted="0"]').click()
        thumbs = page.locator("#cell .thumb")
        expect(thumbs.first).to_be_visible()
        if kind == "rgb":
            expect_loaded(page.locator("#cell .thumb img"), width=24)
        else:
            assert all(text.startswith("#") for text in thumbs.all_inner_texts())
            index = int(page.locator("#test-image p").inner_text().split()[2].rstrip(":"))
            row = page.request.get(f"{url}/api/testset/images/{index}").json()["features"]
            assert float(page.locator("#feature-fields input[name=a]").input_value()) == row["a"]  # the form shows it
        expect(page.locator("#cell h3")).to_contain_text(f"{noun}s" if thumbs.count() > 1 else f"1 {noun}")
        thumbs.first.click()
        expect(page.locator("#prediction-title")).to_be_focused()
        accuracy = page.request.get(f"{url}/api/testset").json()["accuracy"]
        assert page.request.get(f"{url}/api/run").json()["test_accuracy"] == accuracy  # "The run" shows it too
        assert axe(page, f"a11y-own-{kind}-test-set") == []
        page.select_option("#lang", "vi")
        random_vi = "Ảnh kiểm tra ngẫu nhiên" if kind == "rgb" else "Hàng kiểm tra ngẫu nhiên"
        expect(page.locator("#random")).to_have_text(random_vi)
        assert axe(page, f"a11y-own-{kind}-test-set-vi") == []
        watch.check(url)
        page.close()
    finally:
        code, _, err = stop_server(process)
    assert code == 0 and "Traceback" not in err, err
