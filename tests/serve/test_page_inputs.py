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
from test_page import ARTIFACTS, Watch, expect

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
