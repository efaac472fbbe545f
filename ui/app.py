"""GreenRunner in the browser and in Slack (one Chainlit app): thin handlers that validate input, run the agent's
graph off the event loop and render the results through ``ui/present/``.

    chainlit run ui/app.py --host 127.0.0.1 --port 8000 --headless        (what `make run` does)

Conversations live in a LangGraph SQLite checkpointer keyed by Chainlit's thread id (Slack: one per Slack thread),
so a restarted server continues them. Settings: ``ui/settings.py`` (``GREENRUNNER_*`` environment variables).
"""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chainlit as cl
from chainlit.utils import utc_now
from langchain_core.messages import AIMessage, ToolMessage

from agent.session import ChatSession, Event
from agent.tools import STAGED_TOOLS
from greenrunner_core.strategies.base import ProgressEvent
from tools.progress import ToolProgress
from tools.settings import workspace_for
from ui.conversations import Conversations
from ui.present.markdown import progress_markdown
from ui.present.slack import SLACK_TEXT_LIMIT, slack_messages, slack_mrkdwn, split_message, staging_text
from ui.present.turn import Presentation, check_text, merge_decision, present, staging_reply_help, tool_step_output
from ui.settings import AppSettings, ChatSettingsModel, parse_settings, settings_widgets, staging_answer
from ui.slack_bot import configure_slack_api
from ui.turns import CANCELLABLE_TOOLS, Canceller, close_dangling_tool_calls, run_turn

_log = logging.getLogger("greenrunner.app")

SETTINGS = AppSettings()
CONVERSATIONS = Conversations(SETTINGS)

_locks: dict[str, asyncio.Lock] = {}
_answering: set[str] = set()            # threads whose staging answer (a button) is about to run


def _lock(thread_id: str) -> asyncio.Lock:
    return _locks.setdefault(thread_id, asyncio.Lock())


# ---- start-up ----------------------------------------------------------------------------------------------------

class Warmup:
    """Builds the offline demo zoo (first start only) and the model registry in the background."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.step = "starting"
        self.error: str | None = None

    def start(self) -> None:
        threading.Thread(target=self._run, name="greenrunner-warmup", daemon=True).start()

    def _run(self) -> None:
        try:
            ws = workspace_for(CONVERSATIONS.context("warmup"))
            ws.demo.ensure_built(progress=lambda step, done, total: setattr(self, "step", f"{step} ({done}/{total})"))
            ws.registry.names()
        except Exception as err:  # noqa: BLE001 - reported in the chat; the first run retries and says why
            self.error = f"{type(err).__name__}: {err}"
            _log.exception("warm-up failed")
        finally:
            self.done.set()


WARMUP = Warmup()
WARMUP.start()
configure_slack_api(SETTINGS.slack_api_url)


def _warn_if_exposed() -> None:
    host = os.environ.get("CHAINLIT_HOST") or ""
    try:
        loopback = not host or host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not SETTINGS.users():
        _log.warning("GreenRunner is listening on %s without a login: anyone who reaches it can use it. Set "
                     "GREENRUNNER_AUTH_USERS and CHAINLIT_AUTH_SECRET (docs/slack.md), or bind to 127.0.0.1.", host)


_warn_if_exposed()

if SETTINGS.users():
    @cl.password_auth_callback
    async def login(username: str, password: str) -> cl.User | None:
        """Chainlit's password login, enabled by GREENRUNNER_AUTH_USERS (needs CHAINLIT_AUTH_SECRET)."""
        if SETTINGS.check_password(username, password):
            return cl.User(identifier=username, metadata={"provider": "greenrunner-password"})
        return None


# ---- helpers -----------------------------------------------------------------------------------------------------

def _is_slack() -> bool:
    return cl.context.session.client_type == "slack"


def _thread_id() -> str:
    return str(cl.context.session.thread_id)


async def _say(text: str, **kwargs: Any) -> None:
    """A reply in the chat (Slack: in mrkdwn, split under Slack's length limit)."""
    if _is_slack():
        for piece in split_message(slack_mrkdwn(text)):
            await cl.Message(content=piece, **kwargs).send()
    else:
        await cl.Message(content=text, **kwargs).send()


def _welcome() -> str:
    lines = [("**GreenRunner** picks the pretrained model that fits *your* use case and *your* images, evaluating "
             "only a fraction of what brute force would."),
             "",
             ("Describe your use case, for example: *detect digits on parcels from a delivery drone*. I propose "
             "weights for accuracy, size and complexity with my reasons; you approve or adjust them (also with the "
             "settings panel ⚙ next to the message box); then I run the selection on your images and show the top 3, "
             "charts, and what it saved against brute force. Follow-ups such as *what if size matters more?* are "
             "answered from the cache."),
             "",
             ("Attach a **.zip** of an ImageFolder (one folder per class) as your target dataset, or model "
             "checkpoints (TorchScript, torch.export, or a state_dict with a `greenrunner.json`). Without uploads "
             "I use the built-in offline demo (digits through a new camera, 13 small models).")]
    if not WARMUP.done.is_set():
        lines += ["", f"_Preparing the offline demo zoo (first start only, about a minute): {WARMUP.step}._"]
    elif WARMUP.error:
        lines += ["", f"_The offline demo could not be prepared ({WARMUP.error}); runs on it will say why._"]
    return "\n".join(lines)


def _uploads_extras(thread_id: str) -> tuple[dict[str, Any], str]:
    """What a staging answer adds for this conversation's uploads, and a sentence saying so."""
    uploads = CONVERSATIONS.uploads(thread_id)
    dataset, models = uploads.dataset(), uploads.model_names()
    if not dataset and not models:
        return {}, ""
    extras: dict[str, Any] = {}
    said = []
    if dataset:
        extras["dataset"] = str(dataset)
        said.append(f"your dataset `{dataset.name.split('-', 1)[-1]}`")
    if models:
        extras["models"] = models
        said.append("your models " + ", ".join(f"`{m}`" for m in models))
    elif dataset:                       # own data needs named candidates: the demo zoo's (its classes must match)
        extras["models"] = [c.name for c in workspace_for(CONVERSATIONS.context(thread_id)).demo_cards()]
        said.append("the demo zoo's models")
    return extras, "This run uses " + " and ".join(said) + "."


# ---- the live view of a turn in the browser ---------------------------------------------------------------------

class WebTurnView:
    """A Step per tool call (live progress for selection runs) and the assistant's intermediate texts."""

    def __init__(self, calls: dict[str, dict[str, Any]] | None = None, skip_call_ids: set[str] | None = None) -> None:
        self.calls: dict[str, dict[str, Any]] = dict(calls or {})
        self.skip_call_ids = set(skip_call_ids or ())
        self.shown: set[str] = set()
        self.steps: dict[str, cl.Step] = {}
        self.open_by_tool: dict[str, str] = {}
        self.progress: dict[str, ProgressEvent] = {}
        self.last_update = 0.0

    async def on_event(self, event: Event) -> None:
        if event.kind == "message":
            if isinstance(event.data, AIMessage):
                await self._ai(event.data)
            elif isinstance(event.data, ToolMessage):
                await self._tool_result(event.data)
        elif event.kind == "progress" and isinstance(event.data, ToolProgress):
            await self._progress(event.data)

    async def _ai(self, msg: AIMessage) -> None:
        for call in msg.tool_calls:
            self.calls[call["id"]] = call
        if not msg.tool_calls or {c["id"] for c in msg.tool_calls} & self.skip_call_ids:
            return                     # the answer (shown at the end) or an adjusted staged call (already shown)
        if msg.content and not any(c["name"] in STAGED_TOOLS for c in msg.tool_calls):
            await cl.Message(content=str(msg.content)).send()
            self.shown.add(str(msg.id))
        for call in msg.tool_calls:
            if call["name"] not in STAGED_TOOLS:
                await self._open(call)

    async def _open(self, call: dict[str, Any]) -> cl.Step:
        long_tool = call["name"] in CANCELLABLE_TOOLS
        parent = cl.context.current_step       # the message's run: the step shows inside the answer, in order
        step = cl.Step(name=call["name"], type="tool", default_open=long_tool, show_input="json",
                       parent_id=parent.id if parent else None)
        step.input = call.get("args") or {}
        step.start = utc_now()
        if long_tool:
            step.output = "Starting… (press ■ to stop: results so far are kept)"
        await step.send()
        self.steps[call["id"]] = step
        self.open_by_tool[call["name"]] = call["id"]
        return step

    async def _progress(self, progress: ToolProgress) -> None:
        tool, event = progress.tool, progress.event
        self.progress[tool] = event
        call_id = self.open_by_tool.get(tool)
        if call_id is None:            # a staged call: it starts running in this (resumed) turn
            call = next((c for c in reversed(self.calls.values()) if c["name"] == tool),
                        {"id": f"progress-{tool}", "name": tool, "args": {}})
            await self._open(call)
            call_id = call["id"]
        now = time.monotonic()
        if now - self.last_update < SETTINGS.progress_interval and event.spent != event.budget:
            return
        self.last_update = now
        step = self.steps[call_id]
        step.output = progress_markdown(event)
        await step.update()

    async def _tool_result(self, msg: ToolMessage) -> None:
        call_id = msg.tool_call_id
        if call_id not in self.steps:
            if msg.name in self.open_by_tool:
                call_id = self.open_by_tool[msg.name]
            elif str(msg.content).startswith("Not run"):
                return                 # refused at the staging step: nothing ran
            else:
                await self._open(self.calls.get(call_id) or {"id": call_id, "name": msg.name or "tool", "args": {}})
        step = self.steps.pop(call_id)
        self.open_by_tool = {k: v for k, v in self.open_by_tool.items() if v != call_id}
        progress = self.progress.pop(msg.name or "", None)
        summary = tool_step_output(msg)
        if progress is not None and msg.status != "error":
            summary = progress_markdown(progress) + "\n\nFinished. The results are in the answer below."
        step.output = summary
        step.is_error = msg.status == "error"
        step.end = utc_now()
        await step.update()

    async def finish(self, note: str = "Stopped.") -> None:
        for step in self.steps.values():
            step.output = (step.output or "") + f"\n\n{note}"
            step.end = utc_now()
            await step.update()
        self.steps.clear()


# ---- running a turn ----------------------------------------------------------------------------------------------

async def _run(thread_id: str, start: Callable[[ChatSession], Iterator[Event]],
               pending: dict[str, Any] | None = None) -> None:
    """One turn: stream the graph, show it live (web), then show the answer, charts and any staging question."""
    canceller = Canceller()
    chat = CONVERSATIONS.session(thread_id, canceller)
    slack = _is_slack()
    view = None if slack else WebTurnView(
        calls={pending["tool_call_id"]: {"id": pending["tool_call_id"], "name": pending.get("tool", "run_bandit"),
                                         "args": {"weights": pending.get("weights"), **(pending.get("run") or {})}}}
        if pending else None,
        skip_call_ids={pending["tool_call_id"]} if pending else None)
    cl.user_session.set("canceller", canceller)
    try:
        turn = await run_turn(lambda: start(chat), view.on_event if view else None, canceller)
    finally:
        cl.user_session.set("canceller", None)
    if turn.error is not None:
        if not turn.stopped_by_user:
            _log.error("turn failed on thread %s", thread_id, exc_info=turn.error)
        await asyncio.to_thread(close_dangling_tool_calls, chat)
    if view is not None:
        await view.finish("Stopped." if turn.stopped_by_user else "Not finished.")
    last_run = (await asyncio.to_thread(chat.values)).get("last_run")
    shown = view.shown if view else set()
    await _show(thread_id, present(turn, last_run, shown, live=not slack))


async def _show(thread_id: str, out: Presentation) -> None:
    if _is_slack():
        texts, pngs, note = await asyncio.to_thread(slack_messages, out)
        if note:
            texts.append(note)
        for i, text in enumerate(texts):
            last = i == len(texts) - 1
            elements = [cl.Image(name=name, content=data, mime="image/png", display="inline")
                        for name, data in pngs] if last else []
            await cl.Message(content=text, elements=elements).send()
        if out.staging is not None:
            _, note = _uploads_extras(thread_id)
            for piece in split_message(staging_text(out.staging, out.staging_lead, note), SLACK_TEXT_LIMIT):
                await cl.Message(content=piece).send()
        return
    if out.text:
        charts = [cl.Plotly(name=name, figure=fig, display="inline", size="large") for name, fig in out.charts]
        await cl.Message(content=out.text, elements=charts).send()
    if out.staging is not None:
        await _send_staging(thread_id, out.staging, out.staging_lead)


async def _send_staging(thread_id: str, payload: dict[str, Any], lead: str = "") -> None:
    """The staging message (the paper's experiment-staging screen): proposal, reasons, trade-offs, Run / Adjust."""
    if payload.get("type") != "staging":        # e.g. enabling a user metric: approve or cancel only
        actions = [cl.Action(name="staging_run", label="Approve", payload={"id": payload.get("tool_call_id")}),
                   cl.Action(name="staging_cancel", label="Cancel", payload={"id": payload.get("tool_call_id")})]
        await cl.Message(content="\n\n".join(p for p in (lead, str(payload.get("message", ""))) if p),
                         actions=actions).send()
        cl.user_session.set("staging_actions", actions)
        return
    current, _ = parse_settings(cl.context.session.chat_settings or {})
    panel = ChatSettingsModel.from_staging(payload, current)
    await cl.ChatSettings(settings_widgets(panel)).send()
    _, uploads_note = _uploads_extras(thread_id)
    parts = [lead, str(payload.get("message", "")), uploads_note,
             ("**Run** starts it as shown. **Adjust** runs it with the settings panel (⚙ next to the message box; "
             "now set to this proposal: move the sliders, then press Adjust). **Cancel** runs nothing. You can also "
             "type *approve*, *cancel*, or values such as `size=0.4 budget 800`.")]
    ref = {"id": payload.get("tool_call_id")}
    actions = [cl.Action(name="staging_run", label="Run", icon="play", payload=ref,
                         tooltip="Run the selection with the proposed weights"),
               cl.Action(name="staging_adjust", label="Adjust", icon="sliders-horizontal", payload=ref,
                         tooltip="Run it with the weights, strategy, budget and seed of the settings panel"),
               cl.Action(name="staging_cancel", label="Cancel", icon="x", payload=ref, tooltip="Do not run it")]
    await cl.Message(content="\n\n".join(p for p in parts if p), actions=actions).send()
    cl.user_session.set("staging_actions", actions)


async def _remove_staging_buttons(clicked: cl.Action | None = None) -> None:
    """Answered: the proposal's buttons go away (after a restart only the clicked one is known)."""
    buttons = cl.user_session.get("staging_actions") or ([clicked] if clicked else [])
    cl.user_session.set("staging_actions", None)
    for button in buttons:
        await button.remove()


async def _answer_staging(thread_id: str, pending: dict[str, Any], answer: dict[str, Any]) -> None:
    if not _is_slack():
        await _remove_staging_buttons()
    extras, _ = _uploads_extras(thread_id)
    decision = merge_decision(pending, answer, extras if answer.get("approved") else None)
    if answer.get("approved") and _is_slack():
        await _say("Running the selection now; the results follow in this thread.")
    await _run(thread_id, lambda chat: chat.stream_resume(decision), pending)


async def _handle_text(thread_id: str, text: str) -> None:
    lock = _lock(thread_id)
    if lock.locked() or thread_id in _answering:
        await _say("I am still working on your previous request; wait for it to finish (or press ■ to stop it).")
        return
    async with lock:
        pending = await asyncio.to_thread(CONVERSATIONS.session(thread_id).pending)
        if pending is None:
            await _run(thread_id, lambda chat: chat.stream_send(text))
            return
        answer = staging_answer(text)
        if answer is None:
            await _say(staging_reply_help(pending, buttons=not _is_slack()))
        elif answer.get("approved") is None:
            await _say(f"That answer was {answer['error']}. " + staging_reply_help(pending, buttons=not _is_slack()))
        else:
            await _answer_staging(thread_id, pending, answer)


async def _handle_uploads(thread_id: str, files: list[tuple[Path, str]]) -> None:
    uploads = CONVERSATIONS.uploads(thread_id)
    needs_registry = any(Path(name).suffix.lower() not in (".zip", ".json") for _, name in files)
    known = await asyncio.to_thread(CONVERSATIONS.model_names, thread_id) if needs_registry else []
    replies = await asyncio.to_thread(uploads.accept_many, files, known)
    lines = [r.message for r in replies]
    if any(r.ok and r.kind in ("dataset", "checkpoint") for r in replies):
        _, note = _uploads_extras(thread_id)
        lines.append(note.replace("This run uses", "Your next run uses") if note else "")
    await _say("\n\n".join(line for line in lines if line))


# ---- Chainlit handlers -------------------------------------------------------------------------------------------

def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A handler that answers with a clear message instead of failing (a bug must not end the chat)."""
    @functools.wraps(handler)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await handler(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - logged with its traceback, and the user is told
            _log.exception("%s failed", handler.__name__)
            await _say(f"Something went wrong ({type(err).__name__}: {err}). Nothing was lost: your conversation is "
                       "saved. Try again, or rephrase your request.")
            return None
    return run


@cl.on_chat_start
@guarded
async def on_chat_start() -> None:
    if _is_slack():
        return                                  # every Slack message is its own session: nothing to set up
    session = cl.context.session
    # The page reconnects after a server restart with its session (and thread) id: the conversation continues.
    thread_id, _ = await asyncio.to_thread(CONVERSATIONS.claim_thread, session.id, _thread_id())
    session.thread_id = thread_id
    chat = CONVERSATIONS.session(thread_id)
    pending = await asyncio.to_thread(chat.pending)
    history = await asyncio.to_thread(chat.history)
    _log.info("chat start: browser session %s, thread %s, %d messages", session.id, thread_id, len(history))
    panel = ChatSettingsModel.from_staging(pending) if pending and pending.get("type") == "staging" \
        else ChatSettingsModel()
    await cl.ChatSettings(settings_widgets(panel)).send()
    if history:
        await _say(f"Welcome back: this conversation ({len(history)} messages) continues where it was before the "
                   "server restarted.")
        if pending:
            await _send_staging(thread_id, pending)
    else:
        await _say(_welcome())


@cl.on_chat_resume
@guarded
async def on_chat_resume(thread: dict[str, Any]) -> None:
    """A thread reopened from the history (needs a Chainlit data layer): same thread id, same conversation."""
    thread_id = str(thread.get("id") or _thread_id())
    await asyncio.to_thread(CONVERSATIONS.bind_thread, cl.context.session.id, thread_id)
    pending = await asyncio.to_thread(CONVERSATIONS.session(thread_id).pending)
    panel = ChatSettingsModel.from_staging(pending) if pending and pending.get("type") == "staging" \
        else ChatSettingsModel()
    await cl.ChatSettings(settings_widgets(panel)).send()
    if pending:
        await _send_staging(thread_id, pending)


@cl.on_message
@guarded
async def on_message(message: cl.Message) -> None:
    thread_id = _thread_id()
    files = [(Path(el.path), el.name) for el in (message.elements or []) if getattr(el, "path", None)]
    text = (message.content or "").strip()
    if files:
        await _handle_uploads(thread_id, files)
        if not text:
            return
    problem = check_text(text)
    if problem is not None:
        await _say(problem)
        return
    await _handle_text(thread_id, text)


@cl.on_settings_update
@guarded
async def on_settings_update(values: dict[str, Any]) -> None:
    settings, problem = parse_settings(values)
    if settings is None:
        await _say(problem + " Fix them in the settings panel; nothing was changed.")
        return
    pending = await asyncio.to_thread(CONVERSATIONS.session(_thread_id()).pending)
    where = ("Press **Adjust** on the proposal to run with them." if pending
             else "They apply when you press **Adjust** on the next proposal (say *run it* to get one).")
    await _say(f"Settings saved: {settings.describe()}. {where}")


async def _action(action: cl.Action, answer: Callable[[dict[str, Any]], dict[str, Any] | str]) -> None:
    """Answer the pending staging question from a button, as a task the stop button can cancel."""
    thread_id = _thread_id()
    lock = _lock(thread_id)
    if lock.locked():
        await _say("A run is already in progress; press ■ to stop it.")
        return
    pending = await asyncio.to_thread(CONVERSATIONS.session(thread_id).pending)
    call_id = (action.payload or {}).get("id")
    if pending is None or pending.get("tool_call_id") != call_id or thread_id in _answering:
        await _say("This proposal was already answered; ask again (e.g. *run it*) for a new one.")
        return
    decision = answer(pending)
    if isinstance(decision, str):
        await _say(decision)
        return
    await _remove_staging_buttons(action)

    @guarded
    async def work() -> None:
        await cl.context.emitter.task_start()
        try:
            async with lock:
                await _answer_staging(thread_id, pending, decision)
        finally:
            _answering.discard(thread_id)
            await cl.context.emitter.task_end()

    _answering.add(thread_id)           # a double click (or a typed answer meanwhile) must not answer twice

    # a task (not this HTTP request) runs it, so the stop button can cancel it like a message's task
    cl.context.session.current_task = asyncio.create_task(work())


@cl.action_callback("staging_run")
@guarded
async def on_run(action: cl.Action) -> None:
    await _action(action, lambda pending: {"approved": True})


@cl.action_callback("staging_adjust")
@guarded
async def on_adjust(action: cl.Action) -> None:
    def decide(pending: dict[str, Any]) -> dict[str, Any] | str:
        settings, problem = parse_settings(cl.context.session.chat_settings or {})
        if settings is None:
            return problem + " Fix them in the settings panel, then press Adjust again."
        return settings.decision()
    await _action(action, decide)


@cl.action_callback("staging_cancel")
@guarded
async def on_cancel(action: cl.Action) -> None:
    await _action(action, lambda pending: {"approved": False, "reason": "cancelled by the user"})


@cl.on_stop
async def on_stop() -> None:
    canceller: Canceller | None = cl.user_session.get("canceller")
    if canceller is not None:
        canceller.cancel()
