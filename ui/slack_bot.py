"""Slack through Chainlit's native integration (``SLACK_BOT_TOKEN`` + ``SLACK_SIGNING_SECRET`` mount
``POST /slack/events``): the Web API address, and Slack's forms of the staging question and of the results
(mrkdwn, messages under Slack's length limit, charts as PNG files).

Named ``slack_bot`` rather than ``slack``: Chainlit puts ``ui/`` on ``sys.path``, where a ``slack`` module would
shadow the ``slack`` package that ``slack_sdk`` installs."""
from __future__ import annotations

import logging
import os
from typing import Any

from ui import render
from ui.present import Presentation

_log = logging.getLogger(__name__)
SLACK_TEXT_LIMIT = 2900          # Slack refuses section blocks over 3000 characters


def slack_enabled() -> bool:
    return bool(os.environ.get("SLACK_BOT_TOKEN") and os.environ.get("SLACK_SIGNING_SECRET"))


def configure_slack_api(api_url: str | None) -> bool:
    """Point Chainlit's Slack client at another Web API base URL (GovSlack, a proxy, a test server).

    Bolt copies the app client's ``base_url`` into the client of every request, so this covers ``say`` too.
    Returns True when the address was changed.
    """
    if not api_url or not slack_enabled():
        return False
    from chainlit.slack.app import slack_app
    slack_app.client.base_url = api_url if api_url.endswith("/") else api_url + "/"
    _log.info("Slack Web API at %s", slack_app.client.base_url)
    return True


def staging_text(payload: dict[str, Any], lead: str = "", uploads_note: str = "") -> str:
    parts = [lead, str(payload.get("message", "")), uploads_note,
             ("Reply in this thread with *approve* to run it, *cancel* to skip it, or new values such as "
             "`accuracy=0.7 size=0.2 complexity=0.1`, `budget 800` or `use ucb` to run it with those.")]
    return render.slack_mrkdwn("\n\n".join(p for p in parts if p))


def slack_messages(presentation: Presentation) -> tuple[list[str], list[tuple[str, bytes]], str]:
    """Texts to post (each under Slack's limit), charts as (file name, PNG bytes), and a note if charts failed."""
    texts = render.split_message(render.slack_mrkdwn(presentation.text), SLACK_TEXT_LIMIT) if presentation.text else []
    pngs: list[tuple[str, bytes]] = []
    note = ""
    if presentation.charts:
        try:
            images = render.figures_png([fig for _, fig in presentation.charts])
            pngs = [(f"{name}.png", data) for (name, _), data in zip(presentation.charts, images)]
        except RuntimeError as err:
            note = f"(Charts are not attached: {err}.)"
    return texts, pngs, note
