"""The page in a real browser: headless Chromium (Debian's) driven by Playwright against the real server.

Screenshots at desktop and phone size are saved under ``build/screenshots/`` (or ``$SOFTMAXREG_ARTIFACTS``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import IN_CI

pytestmark = pytest.mark.real_data
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("SOFTMAXREG_ARTIFACTS", ROOT / "build" / "screenshots"))


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("CI must install Debian's chromium (apt-get install -y chromium)")
        pytest.skip("no chromium at " + CHROMIUM)
    sync_api.expect.set_options(timeout=30_000)  # a busy shared machine: generous waits, no timing asserted
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


class Watch:
    """Every request the page makes and every console error or uncaught exception."""

    def __init__(self, page) -> None:
        self.urls: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"{error}\n{error.stack}"))

    def check(self, origin: str) -> None:
        others = [url for url in self.urls if not url.startswith(origin + "/")]
        assert others == [], f"requests to another origin: {others}"
        assert self.errors == []


def expect(locator):
    from playwright.sync_api import expect

    return expect(locator)


def expect_loaded(images, tries: int = 50, width: int = 28) -> None:
    """Every image of ``images`` has arrived and decoded as ``width`` pixels wide (Fashion-MNIST's 28)."""
    import time

    for _ in range(tries):
        if images.evaluate_all(f"imgs => imgs.every(i => i.complete && i.naturalWidth === {width})"):
            return
        time.sleep(0.1)
    raise AssertionError("the cell's images did not load")


def test_the_page_predicts_uploads_and_drawings_switches_language_and_browses_the_test_set(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page)
    page.goto(server + "/")
    page.locator("#matrix button").first.wait_for()  # the test set is loaded

    page.set_input_files("#file", str(ROOT / "examples" / "images" / "trouser.png"))
    expect(page.locator("#top li .name").first).to_have_text("trouser")  # locators: the CSP forbids eval
    assert page.locator("#scores tbody tr").count() == 10
    uploaded = page.locator("#top").inner_text()

    page.select_option("#lang", "vi")
    expect(page.locator("#top li .name").first).to_have_text("quần dài")
    assert page.locator("#input-title").inner_text() == "Ảnh của bạn"
    page.select_option("#lang", "en")

    box = page.locator("#canvas").bounding_box()
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.3 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.8 * box["width"], box["y"] + 0.35 * box["height"], steps=8)
    page.mouse.up()
    expect(page.locator("#prediction-source")).to_contain_text("your drawing")
    page.wait_for_timeout(300)  # the last request of the stroke
    assert page.locator("#top").inner_text() != uploaded

    page.locator("#matrix button[data-label='0'][data-predicted='6']").click()  # t-shirts taken for shirts
    thumbs = page.locator("#cell .grid img")
    thumbs.first.wait_for()
    expect_loaded(thumbs)
    assert thumbs.count() > 0 and "t-shirt" in page.locator("#cell h3").inner_text()
    thumbs.first.click()  # a test image goes to the other views
    expect(page.locator("#prediction-source")).to_contain_text("test image")
    page.locator("#mistake").click()
    page.locator("#test-image p.wrong").wait_for()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "serve-desktop.png", full_page=True)
    watch.check(server)
    page.close()


def test_the_page_on_a_phone_by_keyboard_alone(browser, server):
    page = browser.new_page(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    watch = Watch(page)
    page.goto(server + "/?lang=vi")
    page.locator("#matrix button").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen

    page.locator("#canvas").focus()
    for key in ["ArrowDown"] * 6 + ["Shift+ArrowRight"] * 3 + ["ArrowUp"] * 8:
        page.keyboard.press(key)
    expect(page.locator("#prediction-source")).to_contain_text("hình bạn vẽ")
    page.locator("#random").focus()
    page.keyboard.press("Enter")
    page.locator("#test-image img").wait_for()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "serve-phone.png", full_page=True)
    watch.check(server)
    assert urlsplit(server).hostname == "127.0.0.1"
    page.close()


def test_the_api_docs_render_offline(browser, server):
    page = browser.new_page()
    watch = Watch(page)
    page.goto(server + "/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()  # Swagger UI ran, from the package
    assert "/api/predict" in page.locator(".swagger-ui").inner_text()
    watch.check(server)
    page.close()
