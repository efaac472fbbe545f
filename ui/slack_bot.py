"""Slack through Chainlit's native integration (``SLACK_BOT_TOKEN`` + ``SLACK_SIGNING_SECRET`` mount
``POST /slack/events``): the Web API address. Slack's forms of the answers: ``present/slack.py``.

Named ``slack_bot`` rather than ``slack``: Chainlit puts ``ui/`` on ``sys.path``, where a ``slack`` module would
shadow the ``slack`` package that ``slack_sdk`` installs."""
from __future__ import annotations

import logging

from ui.settings import AppSettings

_log = logging.getLogger(__name__)


def configure_slack_api(settings: AppSettings) -> bool:
    """Point Chainlit's Slack client at another Web API base URL (GovSlack, a proxy, a test server).

    Bolt copies the app client's ``base_url`` into the client of every request, so this covers ``say`` too.
    Returns True when the address was changed.
    """
    api_url = settings.slack_api_url
    if not api_url or not settings.slack_enabled():
        return False
    from chainlit.slack.app import slack_app
    slack_app.client.base_url = api_url if api_url.endswith("/") else api_url + "/"
    _log.info("Slack Web API at %s", slack_app.client.base_url)
    return True
