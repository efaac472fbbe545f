"""The web app in a real browser: Playwright for Python drives Debian's Chromium against the app this test starts on
a free 127.0.0.1 port. Use case -> staging (weights, reasons, Run / Adjust, settings panel) -> Run -> top 3, charts,
savings -> "what if size matters more?" -> new ranking; bad input gets clear replies; a restarted server and a page
reload continue the conversation (its charts drawn again) and Adjust runs with the settings panel. Screenshots go to
docs/screenshots/ for the README."""
from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenrunner_core.strategies import DEFAULT_STRATEGY
from tests.integration.app_server import REPO, AppServer, app_env, fresh_cache, launch_chromium, require_browser

pytestmark = pytest.mark.integration

SHOTS = Path(os.environ.get("GREENRUNNER_SCREENSHOTS", REPO / "docs" / "screenshots"))
DRONE = "detect digits on parcels from a delivery drone"
RUN_TIMEOUT = 240_000          # ms: a first run evaluates ~1,300 calls on 2 busy cores


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _isolated_cache: Path) -> Iterator[AppServer]:
    require_browser()
    data = tmp_path_factory.mktemp("app")
    cache = fresh_cache(_isolated_cache, data / "cache")       # the zoo of the session, no cached outcomes
    env = app_env(data, cache, GREENRUNNER_MAX_UPLOAD_MB="1", GREENRUNNER_INCLUDE_TORCHVISION="false")
    app = AppServer(env, data / "server.log").start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def browser(server: AppServer):
    yield from launch_chromium()


def _new_page(browser, server: AppServer):
    page = browser.new_page(viewport={"width": 1280, "height": 1100}, color_scheme="light")
    page.set_default_timeout(60_000)
    page.goto(server.url)
    page.wait_for_selector("#chat-input")
    page.get_by_text("GreenRunner picks").first.wait_for()
    return page


@pytest.fixture(scope="module")
def page(browser, server: AppServer):
    page = _new_page(browser, server)
    yield page
    page.close()


def _send(page, text: str) -> None:
    page.fill("#chat-input", text)
    page.keyboard.press("Enter")


def _shot(page, name: str, anchor=None) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    if anchor is not None:
        anchor.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(700)                      # scrolling and dialog animations settle
    page.screenshot(path=str(SHOTS / name))


def test_use_case_staging_run_results_and_follow_up(page, server):
    from playwright.sync_api import expect
    _send(page, DRONE)
    staging = page.get_by_text("Approve this run?").last
    staging.wait_for()
    expect(page.get_by_text("A drone carries the model on a small onboard computer").last).to_be_visible()
    expect(page.get_by_text("Trade-offs:").last).to_be_visible()
    for label in ("Run", "Adjust", "Cancel"):
        expect(page.get_by_role("button", name=label, exact=True)).to_be_visible()
    _shot(page, "staging.png", page.get_by_text("Deployment cues I found").last)

    # the settings panel shows the proposal: sliders for every weight, strategy, budget, seed
    page.click("#chat-settings-open-modal")
    sliders = page.locator("[role=dialog] [role=slider]")
    expect(sliders).to_have_count(4)                 # accuracy, size, complexity, latency (none staged here)
    assert [sliders.nth(i).get_attribute("aria-valuenow") for i in range(4)] == ["0.65", "0.27", "0.23", "0"]
    for widget in ("#strategy", "#budget", "#seed"):
        expect(page.locator(f"[role=dialog] {widget}")).to_be_visible()
    _shot(page, "settings.png")
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Run", exact=True).click()
    results = page.get_by_text("Savings against brute force").last
    results.wait_for(timeout=RUN_TIMEOUT)
    expect(page.get_by_text("selection count").last).to_be_visible()
    top3 = page.locator("table").filter(has_text="selection count").last
    rows = top3.locator("tbody tr")
    expect(rows).to_have_count(3)
    first = rows.nth(0).inner_text()
    assert "±" in first or "exact" in first
    expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=30_000)
    expect(page.get_by_text("Selection counts (images evaluated per model").last).to_be_visible()
    expect(page.get_by_text("current leader").last).to_be_attached()       # the run_bandit step's progress
    expect(page.get_by_role("button", name="Ran the selection", exact=True).last).to_be_visible()  # its label, in words
    expect(page.get_by_role("button", name=re.compile(r"^(Used|Using) |_"))).to_have_count(0)   # no function names
    assert not page.get_by_role("button", name="Run", exact=True).count()   # the answered proposal lost its buttons
    _shot(page, "results.png", page.get_by_text(re.compile(rf"^Top 3 — {DEFAULT_STRATEGY}")).last)
    _shot(page, "charts.png", page.locator(".js-plotly-plot").first)

    before = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)]
    _send(page, "what if size matters more?")
    page.get_by_text("0 new evaluations").last.wait_for()
    expect(page.get_by_text(re.compile(r"size 0\.27 → 0\.42")).last).to_be_visible()
    expect(page.get_by_text("after (reward)").last).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
    assert before[0] in page.locator("table").last.inner_text()
    _shot(page, "rerank.png", page.get_by_text("what if size matters more?").last)


class Pickled:
    """A Python object in a checkpoint: loading it would need pickled code."""


def _png(color: int) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("L", (8, 8), color).save(buf, format="PNG")
    return buf.getvalue()


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_bad_input_gets_clear_replies_and_nothing_crashes(browser, server, tmp_path):
    import torch
    from playwright.sync_api import expect

    good = _zip_bytes({"digits/3/a.png": _png(10), "digits/3/b.png": _png(90), "digits/7/c.png": _png(200),
                       "digits/7/notes.txt": b"x"})
    files = {"corrupt.zip": good[: len(good) // 2],
             "no_images.zip": _zip_bytes({"readme.txt": b"hello", "docs/a.md": b"# a"}),
             "oversize.zip": b"\0" * (3 * 2**19),
             "pickled.pt": None,
             "digits.zip": good}
    for name, data in files.items():
        if data is None:
            torch.save({"model": Pickled()}, tmp_path / name)
        else:
            (tmp_path / name).write_bytes(data)
    expected = {"corrupt.zip": "is not a valid zip archive",
                "no_images.zip": "cannot be used as a target dataset: no usable images in no_images.zip",
                "oversize.zip": "is too large",
                "pickled.pt": "loading it would run arbitrary pickled code",
                "digits.zip": "target dataset accepted — 3 usable images in 2 classes"}
    page = _new_page(browser, server)
    for name, words in expected.items():
        page.set_input_files("#upload-button-input", str(tmp_path / name))
        expect(page.locator("#chat-submit")).to_be_enabled()
        page.locator("#chat-submit").click()
        expect(page.get_by_text(words).last).to_be_visible()
        # a first message with files only still starts a thread the page can come back to (and ■ can stop)
        expect(page).to_have_url(re.compile(r"/thread/[0-9a-f-]+$"))
    expect(page.get_by_text("notes.txt").last).to_be_visible()              # the validation report is shown
    _send(page, "purple monkey dishwasher")
    expect(page.get_by_text("I did not understand “purple monkey dishwasher”").last).to_be_visible()
    _shot(page, "bad_input.png", page.get_by_text("corrupt.zip").first)
    _send(page, "show the models under 20 MB")                                # still answering normally
    expect(page.get_by_text("demo_lenet").last).to_be_visible()
    page.close()


def test_a_restarted_server_continues_the_conversation_and_adjust_uses_the_panel(page, server):
    from playwright.sync_api import expect
    server.stop()
    server.start()                                  # same port, same conversations file
    page.get_by_text(re.compile(r"^Welcome back")).last.wait_for(timeout=120_000)
    page.reload()                                   # a reload resumes the thread too (Chainlit's data layer)
    page.wait_for_selector("#chat-input")
    page.get_by_text(re.compile(r"^Welcome back")).last.wait_for(timeout=60_000)
    expect(page.get_by_text("Savings against brute force").last).to_be_visible()    # the earlier turns are shown
    charts = page.locator(".js-plotly-plot")                  # with their charts (ui/web_elements.py), drawn again
    expect(charts).to_have_count(3, timeout=30_000)
    expect(charts.first.locator(".main-svg").first).to_be_visible()
    expect(page.get_by_text("An error occurred")).to_have_count(0)
    _send(page, "why this model?")                 # answered from the run stored before the restart
    # the first turn after a restart rebuilds the graph and reads the checkpoint: allow for a loaded machine
    expect(page.get_by_text(re.compile(r"ranks first with reward")).last).to_be_visible(timeout=60_000)
    _shot(page, "restart.png", page.get_by_text(re.compile(r"^Welcome back")).last)

    _send(page, "use UCB")
    page.get_by_text("A new run with strategy ucb1").last.wait_for(timeout=60_000)
    page.click("#chat-settings-open-modal")
    page.fill("[role=dialog] #budget", "300")
    page.click("[role=dialog] #confirm")
    page.get_by_text(re.compile(r"Settings saved: .*budget 300 calls")).last.wait_for()
    page.get_by_role("button", name="Adjust", exact=True).click()
    page.get_by_text(re.compile(r"^Top 3 — ucb1, budget 300 calls")).last.wait_for(timeout=RUN_TIMEOUT)
    expect(page.get_by_text("Savings against brute force").last).to_be_visible()


def test_stop_during_a_run_keeps_the_results_so_far(page, server):
    """A long run (most evaluations not cached yet) shows live progress; ■ stops it with a partial ranking."""
    from playwright.sync_api import expect
    _send(page, "budget 5000")
    page.get_by_text("A new run with strategy ucb1, budget 5000").last.wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    progress = page.get_by_text(re.compile(r"^\d[\d,]* / 5,000 evaluation calls")).last
    progress.wait_for(timeout=RUN_TIMEOUT)
    page.locator("#stop-button").click()        # at once: on a quiet machine the run ends within seconds
    expect(page.get_by_text("current leader").last).to_be_visible()
    _shot(page, "progress.png", progress)
    page.get_by_text("Stopped at your request.").last.wait_for(timeout=RUN_TIMEOUT)
    expect(page.get_by_text(re.compile(r"^Top 3 — ucb1, budget 5,000 calls")).last).to_be_visible()
    expect(page.get_by_text(re.compile(r"Stopped early \(interrupted")).last).to_be_visible()
    _shot(page, "stopped.png", page.get_by_text("Stopped at your request.").last)


def test_a_numeric_limit_in_the_use_case_is_staged_and_honoured(browser, server):
    """A use case with a number: staging shows the limit with the quoted phrase beside the weights, and the result
    holds only models within it, with a note for each one removed before evaluation."""
    from playwright.sync_api import expect
    page = _new_page(browser, server)
    _send(page, "read digits on parcels in a phone app; the model must be no larger than 0.06 MB")
    page.get_by_text("Approve this run?").last.wait_for()
    expect(page.get_by_text(re.compile(r"Hard constraints.*size ≤ 0\.06 MB")).last).to_be_visible()
    expect(page.get_by_text(re.compile(r"no larger than 0\.06 MB")).last).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Savings against brute force").last.wait_for(timeout=RUN_TIMEOUT)
    expect(page.get_by_text(re.compile(r"\d+ model\(s\) removed before evaluation")).last).to_be_visible()
    expect(page.get_by_text(re.compile(r"demo_mlp_wide: size 1\.53 MB > limit 0\.06 MB")).last).to_be_visible()
    top3 = page.locator("table").filter(has_text="selection count").last
    rows = top3.locator("tbody tr")
    expect(rows).to_have_count(3)
    for i in range(3):
        assert float(rows.nth(i).locator("td").nth(3).inner_text()) <= 0.06
    page.close()
