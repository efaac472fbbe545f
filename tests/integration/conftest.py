"""A failed test that used a web app (a fixture with an ``AppServer``) shows the tail of the app's log, so a browser
timeout on CI says what the server was doing instead of only which text never appeared."""
from __future__ import annotations

import pytest

from tests.integration.app_server import AppServer


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call" and report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, AppServer):
                report.sections.append((f"app log ({name}), last 80 lines", value.tail(80)))
    return report
