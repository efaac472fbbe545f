"""A message sent the moment the message box appears is answered (Playwright + Debian's Chromium, app started by the
test). Chainlit 2.12 shows the box before the page can send: with the local login the first load passes through a
page that is reloaded at once, and until the socket session is up the box drops Enter. Such a message vanished without
a word; now ``public/greenrunner.js`` keeps the box hidden until ``ui/web_ready.py`` says the conversation has started.
Each fresh page types its use case as soon as the box is visible and must get the staging reply to exactly that
message. A slow session (the socket set up 1.5 s late, as on a busy machine or a slow network) makes the window
certain; the first case is the plain page load, where it is a race."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.app_server import AppServer, app_env, fresh_cache, launch_chromium, require_browser

pytestmark = pytest.mark.integration

CASES = [   # use case typed at once on a fresh page, session slow?, the word its reply quotes, the size weight proposed
    ("detect objects from a drone", False, "drone", "0.27"),
    ("read digits on parcels in a phone app", True, "phone", "0.3"),
    ("sort photos on a server overnight", True, "server", "0.01"),
]
REPLY_TIMEOUT = 30_000         # ms: a staging proposal needs no evaluation (the lost message was never answered)
# Chainlit's page awaits POST /set-session-cookie before it opens the socket: delay it, as a slow connection would
SLOW_SESSION = """
const fetchNow = window.fetch;
window.fetch = (url, options) => String(url).includes('/set-session-cookie')
    ? new Promise(done => setTimeout(done, 1500)).then(() => fetchNow(url, options)) : fetchNow(url, options);
"""


# keep the page's WebSockets at hand, so the test can drop the socket.io one as a network drop would
KEEP_SOCKETS = """
window.keptSockets = [];
const WebSocketNow = window.WebSocket;
window.WebSocket = class extends WebSocketNow {
    constructor(url, protocols) { super(url, protocols); window.keptSockets.push(this); }
};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _isolated_cache: Path) -> Iterator[AppServer]:
    require_browser()
    data = tmp_path_factory.mktemp("app")
    cache = fresh_cache(_isolated_cache, data / "cache")       # the zoo of the session: the reply needs no build
    app = AppServer(app_env(data, cache, GREENRUNNER_INCLUDE_TORCHVISION="false"), data / "server.log").start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def browser(server: AppServer):
    yield from launch_chromium()


@pytest.mark.parametrize(("use_case", "slow", "cue", "size"), CASES, ids=[c[0] for c in CASES])
def test_a_message_sent_as_soon_as_the_box_appears_is_answered(browser, server: AppServer, use_case: str, slow: bool,
                                                                 cue: str, size: str) -> None:
    from playwright.sync_api import expect
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_default_timeout(REPLY_TIMEOUT)
        if slow:
            page.add_init_script(SLOW_SESSION)
        page.goto(server.url)
        page.wait_for_selector("#chat-input")               # visible: what a person (or a script) can type into
        page.fill("#chat-input", use_case)
        page.keyboard.press("Enter")
        page.get_by_text("Approve this run?").last.wait_for()
        sent = page.locator("[data-step-type=user_message]")
        expect(sent).to_have_count(1)                                          # the message as sent, once
        expect(sent).to_have_text(use_case)
        size_row = page.locator("table").last.locator("tr").filter(has_text=re.compile(r"^size")).filter(
            has_text=f"(“{cue}”)")                                               # the reply to exactly this message
        expect(size_row.locator("td").nth(1)).to_have_text(size)
        expect(page.get_by_text("An error occurred")).to_have_count(0)
        # the box was shown by the server's ready signal (ui/web_ready.py), not by the page script's fallback timer
        assert page.evaluate("document.documentElement.dataset.greenrunnerReady") == "signal"
    finally:
        page.close()


def _new_chat(page) -> None:
    """Chainlit's "New chat" and its confirmation (a click that lands while the header re-renders can open nothing:
    try again, at most three times)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    confirm = page.get_by_role("button", name="Confirm")
    for attempt in range(3):
        page.click("#new-chat-button")
        try:
            confirm.click(timeout=5_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def test_a_message_sent_as_soon_as_a_new_chat_shows_the_box_is_answered(browser, server: AppServer) -> None:
    """After "New chat" the page's socket session starts again (slowly here, as above): the box is hidden until the new
    chat has started, so a use case sent the moment it is back is answered; before, Enter was dropped in that window.
    A dropped socket hides it too, and the reconnected session (Chainlit restores it: no new chat start) shows it."""
    from playwright.sync_api import expect
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_default_timeout(REPLY_TIMEOUT)
        page.add_init_script(SLOW_SESSION)
        page.add_init_script(KEEP_SOCKETS)
        page.goto(server.url)
        page.wait_for_selector("#chat-input")
        page.fill("#chat-input", "detect objects from a drone")
        page.keyboard.press("Enter")
        page.get_by_text("Approve this run?").last.wait_for()
        expect(page.get_by_role("button", name="Proposed weights", exact=True)).to_be_visible()   # the step, in words
        _new_chat(page)
        expect(page.locator("#chat-input")).to_be_hidden()  # hidden again at once ("Connecting to GreenRunner…")
        page.wait_for_selector("#chat-input")               # back: type at once
        page.fill("#chat-input", "sort photos on a server overnight")
        page.keyboard.press("Enter")
        page.get_by_text("Approve this run?").last.wait_for()
        sent = page.locator("[data-step-type=user_message]")
        expect(sent).to_have_count(1)                       # the new chat shows only the message sent in it
        expect(sent).to_have_text("sort photos on a server overnight")
        assert page.evaluate("document.documentElement.dataset.greenrunnerReady") == "signal"

        page.evaluate("window.keptSockets.filter(s => s.url.includes('/socket.io/')).forEach(s => s.close())")
        expect(page.locator("#chat-input")).to_be_hidden()
        page.wait_for_selector("#chat-input", timeout=10_000)   # the page asked; the restored session said ready
        page.fill("#chat-input", "cancel")
        page.keyboard.press("Enter")
        page.get_by_text("OK, nothing was run.").last.wait_for()
        assert page.evaluate("document.documentElement.dataset.greenrunnerReady") == "signal"
    finally:
        page.close()
