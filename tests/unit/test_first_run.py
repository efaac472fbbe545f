"""First run of the web app (issue 14 item 10): the demo zoo preparation, started at app start-up, is shown as a
live step under the user's message until it is ready, and then the turn runs."""
from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

from ui.present.turn import warmup_step_text
from ui.web_view import follow_warmup


@dataclass
class FakeWarmup:
    done: bool = False
    step: str = "starting"
    error: str | None = None


class FakeStep:
    def __init__(self) -> None:
        self.output = ""
        self.shown: list[str] = []

    async def update(self) -> None:
        self.shown.append(self.output)


def test_the_preparation_moves_live_then_says_ready():
    warmup, step = FakeWarmup(), FakeStep()

    def train() -> None:
        for k in range(1, 4):
            time.sleep(0.05)
            warmup.step = f"train demo_model_{k} ({k}/3)"
        time.sleep(0.05)
        warmup.done = True

    threading.Thread(target=train).start()
    waited = asyncio.run(follow_warmup(warmup, step, interval=0.01))
    assert waited > 0.1
    assert any("demo_model_1 (1/3)" in s for s in step.shown) and any("(3/3)" in s for s in step.shown)
    assert all("First start only" in s for s in step.shown[:-1])
    assert step.shown[-1].startswith("Ready after") and "runs now" in step.shown[-1]
    assert len(step.shown) == len(set(step.shown))          # an update only when the text changes


def test_a_finished_or_failed_preparation_is_said_once():
    step = FakeStep()
    assert asyncio.run(follow_warmup(FakeWarmup(done=True), step, interval=0.01)) < 0.5
    assert step.shown == [warmup_step_text(True, "starting", None, 0.0)]
    failed = FakeStep()
    asyncio.run(follow_warmup(FakeWarmup(done=True, error="OSError: disk full"), failed, interval=0.01))
    assert "could not be prepared (OSError: disk full)" in failed.shown[-1]
