"""The first start in a real browser (Playwright + Debian's Chromium, app started by the test): the app starts on an
EMPTY cache folder, so the offline demo zoo is really built at start-up (15-40 s on 2 busy cores; neither the session's test
cache, where the zoo is already built, nor another test's folder is used or touched). The welcome says it is
preparing; a use case sent right away shows the live "Preparing the offline demo zoo" step under it, and the turn
then continues by itself to the staging proposal (weights, Run); a later message goes straight through, with no
preparing step."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.app_server import AppServer, app_env, launch_chromium, require_browser
from ui.present.turn import WARMUP_STEP_NAME

pytestmark = pytest.mark.integration

DRONE = "detect digits on parcels from a delivery drone"
BUILD_TIMEOUT = 240_000        # ms: the zoo's training on 2 cores shared with other work
LIVE_TEXT = "training the demo zoo's small models"      # the step's text while it builds (ui/present/turn.py)


@pytest.fixture
def first_start(tmp_path: Path) -> Iterator[AppServer]:
    require_browser()
    cache = tmp_path / "cache"
    assert not cache.exists(), f"{cache} must be empty: the test is about building the demo zoo"
    app = AppServer(app_env(tmp_path, cache, GREENRUNNER_INCLUDE_TORCHVISION="false"), tmp_path / "server.log")
    yield app.start()
    app.stop()


@pytest.fixture
def browser(first_start: AppServer):
    yield from launch_chromium()


def test_first_start_prepares_the_zoo_live_then_answers(first_start: AppServer, browser) -> None:
    from playwright.sync_api import expect
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    try:
        page.set_default_timeout(60_000)
        page.goto(first_start.url)
        page.wait_for_selector("#chat-input")
        expect(page.get_by_text("Preparing the offline demo zoo (first start only").first).to_be_visible()
        page.fill("#chat-input", DRONE)                    # right away, while the zoo is being built
        page.keyboard.press("Enter")
        step_header = page.get_by_role("button", name=WARMUP_STEP_NAME, exact=True)
        expect(step_header).to_have_count(1)
        expect(page.get_by_text(LIVE_TEXT).last).to_be_visible()
        expect(page.get_by_text(re.compile(r"trained demo_\w+ \(\d+/\d+\)")).last).to_be_visible(
            timeout=BUILD_TIMEOUT)                         # the step follows the build as models are trained
        ready = page.get_by_text(re.compile(r"^Ready after \d+ s\. Your request runs now\.$"))
        ready.wait_for(timeout=BUILD_TIMEOUT)
        page.get_by_text("Approve this run?").last.wait_for(timeout=120_000)   # no resend: the turn went on
        expect(page.get_by_text("Trade-offs:").last).to_be_visible()
        expect(page.get_by_role("button", name="Run").last).to_be_visible()
        expect(page.get_by_text(LIVE_TEXT)).to_have_count(0)
        built = list(Path(first_start.env["GREENRUNNER_CACHE_DIR"], "demo_zoo").glob("*/manifest.json"))
        assert built, "the demo zoo was not built in the test's own cache folder"
        print(f"demo zoo built in {json.loads(built[0].read_text())['build_seconds']:.0f} s; {ready.inner_text()}")

        page.fill("#chat-input", "cancel")
        page.keyboard.press("Enter")
        page.get_by_text("OK, nothing was run.").last.wait_for()
        page.fill("#chat-input", "show the models under 20 MB")
        page.keyboard.press("Enter")
        expect(page.get_by_text("demo_lenet").last).to_be_visible()
        # a hub name reads as written (remark-directive on the page used to eat "timm:name", ui/present/web.py)
        expect(page.get_by_text(re.compile(r"timm:test_convnext\.r160_in1k")).first).to_be_visible()
        expect(step_header).to_have_count(1)               # later messages: no preparing step
        expect(ready).to_have_count(1)
        expect(page.get_by_text("An error occurred")).to_have_count(0)
    finally:
        page.close()
