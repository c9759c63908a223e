"""The Train panel in a real browser: a 3-epoch run started from the page, watched live, then served.

Screenshots (desktop mid-run and after, phone) and the measured delay from an epoch's end to the page
(``train-latency.json``) are saved with the other screenshots (``build/screenshots/``).
"""

from __future__ import annotations

import json
import shutil
import time

import pytest
import test_page
from conftest import server_token, start_server, stop_server
from test_page import ARTIFACTS, ROOT, Watch, expect
from test_page_a11y import axe

browser = test_page.browser  # the module's headless Chromium (a fixture)

pytestmark = pytest.mark.real_data
LONG = 480  # seconds for a 3-epoch run on a busy machine (seven engineers on two cores)
SNAPSHOT = """() => [document.getElementById('train-curves').toDataURL(),
  [...document.querySelectorAll('#train-templates canvas')].map((c) => c.toDataURL()).join(),
  document.getElementById('train').dataset.latency]"""


@pytest.fixture(scope="module")
def training_server(trained_run, tmp_path_factory):
    pytest.importorskip("fastapi", reason='needs pip install "softmaxreg[serve]"')
    cwd = tmp_path_factory.mktemp("train-page")
    served = shutil.copytree(trained_run.dir, cwd / "served")
    # torch's own thread count for this server's training worker, not the suite's one thread: the page is
    # watched while it trains, and one thread makes epochs too quick for the polls below to see each step
    process, url = start_server(served, cwd, "--allow-training", "--runs-dir", "runs",
                                "--data-dir", str(trained_run.real_data_dir),
                                env={"OMP_NUM_THREADS": None})  # fmt: skip
    try:
        yield url
    finally:
        code, _, err = stop_server(process)
        assert code == 0 and "Traceback" not in err, err


def top_line(page) -> str:
    return page.locator("#top li").first.inner_text()


def test_a_run_started_from_the_panel_is_watched_live_and_then_answers_uploads(browser, training_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # bypass: axe is injected
    watch = Watch(page)
    page.goto(f"{training_server}/?token={server_token(training_server)}")  # as the server printed it
    expect(page.locator("#train")).to_be_visible()
    page.set_input_files("#file", str(ROOT / "examples" / "images" / "trouser.png"))
    expect(page.locator("#top li .name").first).to_have_text("trouser")
    before = top_line(page)  # the served run's answer

    page.fill("#train-epochs", "60")
    page.click("#train-start")
    refused = "“Epochs (1–50)” must be a whole number from 1 to 50 on the page; got 60. Train longer runs with "
    refused += "softmaxreg train."  # the form's label, not the API's `epochs`
    expect(page.locator("#train-message")).to_have_text(refused)
    expect(page.locator("#train-epochs")).to_be_focused()  # the form's field, named by its label
    assert page.get_attribute("#train-epochs", "aria-invalid") == "true"
    assert (
        [error for error in watch.errors if "422" in error] == watch.errors != []
    )  # the refused start, logged by Chromium
    watch.errors.clear()
    page.fill("#train-epochs", "3")
    page.fill("#train-lr", "0.05")
    page.fill("#train-batch_size", "64")  # epochs of a few seconds; the curve moves 8 times in each
    page.locator("#train-start").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#train-stop")).to_be_enabled()
    expect(page.locator("#train-stop")).to_be_focused()  # not <body>: Start is disabled now
    expect(page.locator("#train-batch")).to_contain_text("batch")  # progress within the epoch
    expect(page.locator("#train-runs tr.live")).to_contain_text("training now")  # listed while it trains

    # mid-epoch 1: the training loss already draws a curve across the first eighth of the planned span
    grid = page.locator("#train-templates")
    deadline = time.monotonic() + LONG
    while int(grid.get_attribute("data-points") or 0) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert grid.get_attribute("data-epochs") == "0" and page.locator("#train-templates canvas").count() == 10
    assert axe(page, "train-desktop-mid-epoch-1") == []  # also saves the screenshot

    curves, templates, latencies, live_shot = set(), set(), [], False
    deadline = time.monotonic() + LONG
    while page.locator("#train-state").get_attribute("data-status") != "finished":
        assert time.monotonic() < deadline, page.locator("#train-state").inner_text()
        curve, template, latency = page.evaluate(SNAPSHOT)
        if latency is not None and (not latencies or float(latency) != latencies[-1]):
            latencies.append(float(latency))  # set once an epoch, when its row reaches the page
        curves.add(curve)
        templates.add(template)
        if grid.get_attribute("data-epochs") == "2" and not live_shot:  # after epoch 2 of 3
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=ARTIFACTS / "train-desktop-live.png", full_page=True)
            live_shot = True
        time.sleep(0.05)
    curve, template, latency = page.evaluate(SNAPSHOT)
    curves.add(curve), templates.add(template)
    templates.discard("")
    assert len(curves - {page.evaluate("() => { const c = document.createElement('canvas'); c.width = 560; "
                                       "c.height = 260; return c.toDataURL(); }")}) >= 3  # fmt: skip
    assert len(templates) >= 3 * 4  # the templates refresh with the curve, 8 times an epoch (some polls miss one)
    assert page.locator("#train-templates canvas").count() == 10
    expect(page.locator("#train-state")).to_contain_text("Finished.")
    expect(page.locator("#status")).to_contain_text("The page now predicts with")
    assert int(page.locator("#train-curves").get_attribute("data-points")) == 3 * 8  # the board's pace
    (ARTIFACTS / "train-latency.json").write_text(json.dumps({"seconds_from_epoch_end_to_page": latencies}))

    page.set_input_files("#file", [])
    page.set_input_files("#file", str(ROOT / "examples" / "images" / "trouser.png"))
    expect(page.locator("#top li").first).not_to_have_text(before)  # the new model's answer...
    assert page.locator("#top li .name").first.inner_text() == "trouser"
    runs = page.locator("#train-runs tbody tr")
    expect(runs).to_have_count(1)
    expect(runs.first).to_contain_text("3/3")
    page.screenshot(path=ARTIFACTS / "train-desktop.png", full_page=True)

    phone = browser.new_page(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    phone_watch = Watch(phone)
    phone.goto(f"{training_server}/?token={server_token(training_server)}")  # a later page gets the last run's curves
    expect(phone.locator("#train-templates canvas")).to_have_count(10)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=ARTIFACTS / "train-phone.png", full_page=True)
    phone_watch.check(training_server)
    phone.close()

    page.fill("#train-epochs", "1")
    page.click("#train-start")  # the next run: the last one's "now predicts with" is over
    expect(page.locator("#status")).to_have_text("")
    expect(page.locator("#train-batch")).to_contain_text("batch")  # training (not a Stop while the worker starts)
    page.click("#train-stop")
    expect(page.locator("#train-state")).to_be_focused()
    expect(page.locator("#train-state")).to_have_attribute("data-status", "stopped")
    page.select_option("#lang", "vi")  # how it ended, in the page's language (the server's message)
    expect(page.locator("#train-state")).to_contain_text("Đã dừng")
    watch.check(training_server)
    page.close()
