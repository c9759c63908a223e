"""The page by keyboard, by screen reader and in Vietnamese, checked by axe-core in every state.

axe-core is the npm package pinned in ``package.json`` (``make node_modules/.installed`` runs ``npm ci``),
injected by Playwright into pages opened with ``bypass_csp`` (the page's CSP refuses injected
scripts, as it should). Each state's violations and a screenshot go to ``build/screenshots/``.
"""

from __future__ import annotations

import json

import pytest
import test_page
from conftest import IN_CI
from test_page import ARTIFACTS, ROOT, Watch, expect, expect_loaded

browser = test_page.browser  # the module's headless Chromium (a fixture)

pytestmark = pytest.mark.real_data
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
}"""


def axe(page, state: str) -> list[dict]:
    """axe-core's violations on ``page`` now; saved with a full-page screenshot as ``<state>``."""
    if not AXE.exists():
        if IN_CI:
            pytest.fail("axe-core is missing: run make node_modules/.installed (npm ci)")
        pytest.skip("no axe-core: run npm ci")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(RUN_AXE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{state}.png", full_page=True)
    (ARTIFACTS / f"axe-{state}.json").write_text(json.dumps(violations, indent=1))
    return violations


def open_page(browser, server, size=DESKTOP, query=""):
    page = browser.new_page(bypass_csp=True, **size)
    watch = Watch(page)
    page.goto(server + "/" + query)
    page.locator("#matrix button").first.wait_for()
    return page, watch


def focused(page) -> str:
    return page.evaluate("""() => { const e = document.activeElement;
      return e.id || (e.closest('#matrix') ? `cell ${e.dataset.label},${e.dataset.predicted}` : '')
        || e.className || e.tagName; }""")


def contrast(rgb_a: tuple[int, ...], rgb_b: tuple[int, ...]) -> float:
    def luminance(rgb):
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    low, high = sorted([luminance(rgb_a), luminance(rgb_b)])
    return (high + 0.05) / (low + 0.05)


def test_axe_finds_nothing_on_the_page_in_any_state(browser, server):
    page, watch = open_page(browser, server)
    assert axe(page, "a11y-desktop-first-load") == []
    page.set_input_files("#file", str(ROOT / "examples" / "images" / "trouser.png"))
    expect(page.locator("#top li .name").first).to_have_text("trouser")
    assert axe(page, "a11y-desktop-prediction") == []
    page.locator("#matrix button[data-label='6'][data-predicted='0']").click()
    expect_loaded(page.locator("#cell .grid img"))
    page.locator("#mistake").click()
    page.locator("#test-image p.wrong").wait_for()
    assert axe(page, "a11y-desktop-test-set") == []
    page.select_option("#lang", "vi")
    expect(page.locator("#testset-title")).to_have_text("Tập kiểm tra")
    assert axe(page, "a11y-desktop-vietnamese") == []
    watch.check(server)
    page.close()

    phone, watch = open_page(browser, server, PHONE, "?lang=vi")
    assert axe(phone, "a11y-phone-first-load") == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # the matrix fits: no sideways scroll
    labels = phone.locator("#matrix th[scope='row']")
    assert all(box["x"] >= 0 for box in (labels.nth(i).bounding_box() for i in range(labels.count())))  # none cut
    phone.set_input_files("#file", str(ROOT / "examples" / "images" / "trouser.png"))
    expect(phone.locator("#top li .name").first).to_have_text("quần dài")
    assert axe(phone, "a11y-phone-prediction") == []
    phone.locator("#matrix button[data-label='9'][data-predicted='9']").click()
    expect_loaded(phone.locator("#cell .grid img"))
    assert axe(phone, "a11y-phone-test-set") == []
    watch.check(server)
    phone.close()


def test_the_keyboard_reaches_everything_in_few_stops_and_focus_follows_each_action(browser, server):
    page, watch = open_page(browser, server)
    stops = []
    for _ in range(60):  # a whole Tab cycle, from the top of the page back to it
        page.keyboard.press("Tab")
        stops.append(focused(page))
        if len(stops) > 1 and stops[-1] == stops[0]:
            break
    cycle = len(stops) - 1
    assert stops[0] == "skip" and cycle <= 25, stops  # it was 111, 100 of them the matrix's cells
    assert sum(stop.startswith("cell") for stop in stops[:-1]) == 1  # the matrix is one stop
    to_matrix = stops.index("cell 0,0") + 1

    matrix = page.locator("#matrix button[data-label='0'][data-predicted='0']")
    matrix.focus()
    moves = [("ArrowRight", "cell 0,1"), ("ArrowDown", "cell 1,1"), ("End", "cell 1,9"),
             ("Control+End", "cell 9,9"), ("Control+Home", "cell 0,0"), ("ArrowDown", "cell 1,0")]  # fmt: skip
    for key, where in moves:
        page.keyboard.press(key)
        assert focused(page) == where, key
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # t-shirts taken for shirts
    page.keyboard.press("Enter")
    expect(page.locator("#announce")).to_contain_text("True t-shirt, predicted shirt: 48 of")  # heard, not only seen
    assert focused(page) == "cell 0,6"  # the focus stays in the matrix
    page.keyboard.press("Tab")
    assert focused(page) == "thumb"  # the cell's first image: one Tab past the matrix
    to_images = to_matrix + 6 + 1 + 1  # Tabs to the matrix, six arrows, Enter, one Tab
    counts = {"tab_cycle": cycle, "keys_to_a_cells_images": to_images, "tabs_to_the_matrix": to_matrix, "stops": stops}
    (ARTIFACTS / "tab-counts.json").write_text(json.dumps(counts))

    page.keyboard.press("Enter")  # the image is predicted: the focus goes to the answer, a screen reader hears it
    expect(page.locator("#announce")).to_contain_text("Prediction for test image")
    expect(page.locator("#prediction-source")).to_contain_text("test image")
    assert focused(page) == "prediction-title"
    assert page.locator("#prediction-title").evaluate("e => e.getBoundingClientRect().top") >= 0  # on screen

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "link" and page.evaluate("document.activeElement.dataset.label") == "1"
    page.keyboard.press("Enter")  # a class in the score table: the focus stays on it
    assert page.evaluate("document.activeElement.dataset.label") == "1"
    assert page.evaluate("document.activeElement.getAttribute('aria-pressed')") == "true"
    expect(page.locator("#explain-class")).to_have_value("1")
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    rgb = tuple(int(v) for v in ring.removeprefix("rgb(").removesuffix(")").split(","))
    assert contrast(rgb, (255, 255, 255)) >= 3 and contrast(rgb, (246, 246, 244)) >= 3, ring  # WCAG 1.4.11

    page.locator("#drop").focus()
    page.keyboard.press("Tab")  # the pad, by keyboard: its cursor shows where the arrows draw
    assert focused(page) == "canvas"
    assert page.locator("#cursor").is_visible()
    before = page.locator("#cursor").bounding_box()
    page.keyboard.press("Shift+ArrowRight")
    assert page.locator("#cursor").bounding_box()["x"] > before["x"]
    page.keyboard.press("ArrowDown")
    expect(page.locator("#prediction-source")).to_contain_text("your drawing")
    page.screenshot(path=ARTIFACTS / "a11y-desktop-keyboard-drawing.png")

    page.locator("#random").focus()
    page.keyboard.press("Enter")  # "Random test image" predicts it; the focus stays for another
    expect(page.locator("#prediction-source")).to_contain_text("test image")
    expect(page.locator("#announce")).to_contain_text("Prediction for test image")
    assert focused(page) == "random"
    watch.check(server)
    page.close()


def test_vietnamese_reaches_text_already_shown_numbers_charts_and_the_servers_messages(browser, server):
    page, watch = open_page(browser, server)
    page.locator("#random").click()
    expect(page.locator("#prediction-source")).to_contain_text("test image")
    page.select_option("#lang", "vi")
    expect(page.locator("#prediction-source")).to_contain_text("Dự đoán cho ảnh kiểm tra")  # already shown
    expect(page.locator("#explain-sum")).to_contain_text("Điểm của")
    assert "," in page.locator("#scores tbody td").first.inner_text()  # one locale: 2,86 beside 0,0%
    assert "." not in page.locator("#scores tbody").inner_text()
    expect(page.locator("#curves-legend")).to_contain_text("độ chính xác kiểm định")
    expect(page.locator("#test-image p")).to_contain_text("Ảnh kiểm tra")
    page.locator("#matrix button[data-label='1'][data-predicted='5']").click()  # an empty cell
    expect(page.locator("#cell")).to_contain_text("Ô này không có ảnh nào.")
    page.set_input_files("#file", {"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image"})
    expect(page.locator("#status")).to_have_text(
        "Cần một ảnh PNG hoặc JPEG trong notes.png; Pillow không nhận ra tệp này."
    )
    watch.errors.clear()  # the refused upload, logged by Chromium
    page.select_option("#lang", "en")
    expect(page.locator("#prediction-source")).to_contain_text("Prediction for test image")
    watch.check(server)
    page.close()


UPSTREAM = {"label-content-name-mismatch"}  # Swagger UI's buttons: aria-label "get /api/health" with zero-width spaces


def test_the_api_docs_have_a_main_landmark_a_heading_and_contrast_and_only_swagger_uis_own_problems_remain(
    browser, server
):
    page = browser.new_page(bypass_csp=True, **DESKTOP)
    watch = Watch(page)
    page.goto(server + "/docs")
    expect(page.locator(".opblock-summary-method").first).to_be_visible()
    violations = axe(page, "a11y-docs")
    assert {v["id"] for v in violations} <= UPSTREAM, violations  # before: contrast (19 nodes), landmarks, heading
    watch.check(server)
    page.close()
