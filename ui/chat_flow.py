"""Running a conversation's turns in Chainlit, for the browser and for Slack: stream the graph off the event loop
(live view in the browser), show the answer, charts and staging question, take typed or clicked answers to it, and
accept uploads. The handlers in ``ui/app.py`` call these; the words come from ``ui/present/``."""
from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chainlit as cl
from chainlit.utils import utc_now

from agent.session import ChatSession, Event
from tools.candidates import class_name_lines
from ui.chat_staging import (
    remove_staging_buttons,
    send_settings_panel,
    send_staging,
    staging_message,
    uploads_extras,
    weight_change_reply,
)
from ui.label_edit import parse_map_edit, save_label_map_edit
from ui.present.slack import SLACK_TEXT_LIMIT, slack_messages, slack_mrkdwn, split_message, staging_text
from ui.present.turn import (
    WARMUP_STEP_NAME,
    Presentation,
    merge_decision,
    present,
    staging_reply_help,
    warmup_step_text,
    welcome_text,
)
from ui.present.web import web_markdown
from ui.runtime import runtime
from ui.settings import staging_answer
from ui.turns import Canceller, close_dangling_tool_calls, run_turn
from ui.web_resume import show_when_finished, welcome_back_text
from ui.web_view import WebTurnView, follow_warmup

_log = logging.getLogger("greenrunner.app")


def is_slack() -> bool:
    return cl.context.session.client_type == "slack"


def current_thread_id() -> str:
    return str(cl.context.session.thread_id)


async def say(text: str, **kwargs: Any) -> None:
    """A reply in the chat (Slack: in mrkdwn, split under Slack's length limit)."""
    if is_slack():
        for piece in split_message(slack_mrkdwn(text)):
            await cl.Message(content=piece, **kwargs).send()
    else:
        await cl.Message(content=web_markdown(text), **kwargs).send()


async def open_web_chat() -> None:
    """A browser chat starts: continue its conversation or welcome the user. After a server restart the page reconnects
    with its thread id (sent once the thread had a message): its checkpoint is found even without the data layer."""
    thread_id = current_thread_id()
    history = await asyncio.to_thread(runtime().conversations.session(thread_id).history)
    _log.info("chat start: browser session %s, thread %s, %d messages", cl.context.session.id, thread_id,
              len(history))
    if history:
        return await continue_thread(thread_id)
    await send_settings_panel(None)
    warmup = runtime().warmup
    await say(welcome_text(warmup.done, warmup.step, warmup.error))


async def continue_thread(thread_id: str, shown: dict[str, Any] | None = None) -> None:
    """An earlier conversation shows again (server restart, page reload, Chainlit's history): say so, restore the
    settings panel and the staging question it waits on. ``shown`` is the thread ``on_chat_resume`` is about to show:
    Chainlit replaces the page's messages with its steps after the handler returns (chainlit/socket.py
    ``connection_successful``; Chainlit issue #2611), so these messages join its steps instead of being sent."""
    chat = runtime().conversations.session(thread_id)
    messages, pending = len(await asyncio.to_thread(chat.history)), await asyncio.to_thread(chat.pending)
    await send_settings_panel(pending)
    busy = runtime().busy(thread_id)       # its turn still runs for the page that was reloaded: show it here when done
    greeting = cl.Message(content=welcome_back_text(running=busy))
    staging = await staging_message(thread_id, pending) if pending else None
    if shown is None:
        await greeting.send()
        if staging is not None:
            await staging.send()
    else:
        for message in (greeting, staging):
            if message is not None:
                message.created_at = utc_now()
                shown.setdefault("steps", []).append(message.to_dict())
                for action in message.actions:
                    await action.send(for_id=message.id)
    if staging is not None:
        cl.user_session.set("staging_actions", staging.actions)
    if busy:                               # the task is kept in the session, so it is not garbage-collected
        watch = show_when_finished(runtime(), thread_id, messages, functools.partial(show, thread_id))
        cl.user_session.set("watch", asyncio.create_task(watch))


async def wait_for_warmup(slack: bool) -> None:
    """First start: the demo zoo is still being prepared (started at app start-up). Show it as a live step right
    under the user's message, where they are looking, instead of a turn that sits still for a minute."""
    warmup = runtime().warmup
    if warmup.done:
        return
    if slack:
        await say(warmup_step_text(False, warmup.step, None, 0.0))
        while not warmup.done:
            await asyncio.sleep(0.5)
        return
    step = cl.Step(name=WARMUP_STEP_NAME, type="run", default_open=True)
    step.start = utc_now()
    await step.send()
    await follow_warmup(warmup, step)
    step.end = utc_now()
    await step.update()


async def play_turn(thread_id: str, start: Callable[[ChatSession], Iterator[Event]],
                    pending: dict[str, Any] | None = None) -> None:
    """One turn: stream the graph, show it live (web), then show the answer, charts and any staging question."""
    slack = is_slack()
    await wait_for_warmup(slack)
    canceller = Canceller()
    chat = runtime().conversations.session(thread_id, canceller)
    view = None if slack else WebTurnView(
        calls={pending["tool_call_id"]: {"id": pending["tool_call_id"], "name": pending.get("tool", "run_bandit"),
                                         "args": {"weights": pending.get("weights"), **(pending.get("run") or {})}}}
        if pending else None,
        skip_call_ids={pending["tool_call_id"]} if pending else None,
        progress_interval=runtime().settings.progress_interval)
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
    await show(thread_id, present(turn, last_run, shown, live=not slack))


async def show(thread_id: str, out: Presentation) -> None:
    if is_slack():
        texts, pngs, note = await asyncio.to_thread(slack_messages, out)
        if note:
            texts.append(note)
        for i, text in enumerate(texts):
            last = i == len(texts) - 1
            elements = [cl.Image(name=name, content=data, mime="image/png", display="inline")
                        for name, data in pngs] if last else []
            await cl.Message(content=text, elements=elements).send()
        if out.staging is not None:
            _, note = uploads_extras(thread_id)
            for piece in split_message(staging_text(out.staging, out.staging_lead, note), SLACK_TEXT_LIMIT):
                await cl.Message(content=piece).send()
        return
    if out.text:
        charts = [cl.Plotly(name=name, figure=fig, display="inline", size="large") for name, fig in out.charts]
        await cl.Message(content=web_markdown(out.text), elements=charts).send()
    if out.staging is not None:
        await send_staging(thread_id, out.staging, out.staging_lead)


async def answer_staging(thread_id: str, pending: dict[str, Any], answer: dict[str, Any]) -> None:
    if not is_slack():
        await remove_staging_buttons()
    extras, _ = uploads_extras(thread_id)
    decision = merge_decision(pending, answer, extras if answer.get("approved") else None)
    if answer.get("approved") and is_slack():
        await say("Running the selection now; the results follow in this thread.")
    await play_turn(thread_id, lambda chat: chat.stream_resume(decision), pending)


async def handle_text(thread_id: str, text: str) -> None:
    lock = runtime().lock(thread_id)
    if lock.locked() or thread_id in runtime().answering:
        await say("I am still working on your previous request; wait for it to finish (or press ■ to stop it).")
        return
    async with lock:
        pending = await asyncio.to_thread(runtime().conversations.session(thread_id).pending)
        edit = parse_map_edit(text)
        if edit is not None:
            await say(await asyncio.to_thread(save_label_map_edit, runtime().conversations, thread_id, edit, pending))
            return
        if pending is None:
            await play_turn(thread_id, lambda chat: chat.stream_send(text))
            return
        answer = staging_answer(text)
        if answer is None and (reply := await weight_change_reply(pending, text, is_slack())) is not None:
            await say(reply)
            return
        if answer is None:
            await say(staging_reply_help(pending, buttons=not is_slack()))
        elif answer.get("approved") is None:
            await say(f"That answer was {answer['error']}. " + staging_reply_help(pending, buttons=not is_slack()))
        else:
            await answer_staging(thread_id, pending, answer)


async def handle_uploads(thread_id: str, files: list[tuple[Path, str]]) -> None:
    uploads = runtime().conversations.uploads(thread_id)
    needs_registry = any(Path(name).suffix.lower() not in (".zip", ".json") for _, name in files)
    known = await asyncio.to_thread(runtime().conversations.model_names, thread_id) if needs_registry else []
    replies = await asyncio.to_thread(uploads.accept_many, files, known)
    lines = [r.message for r in replies]
    for reply in replies:
        if reply.ok and reply.kind == "dataset":
            context = runtime().conversations.context(thread_id)
            lines += await asyncio.to_thread(class_name_lines, list(reply.details.get("classes") or []), context)
    if any(r.ok and r.kind in ("dataset", "checkpoint", "label_map") for r in replies):
        _, note = uploads_extras(thread_id)
        lines.append(note.replace("This run uses", "Your next run uses") if note else "")
    await say("\n\n".join(line for line in lines if line))


def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A handler that answers with a clear message instead of failing (a bug must not end the chat)."""
    @functools.wraps(handler)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await handler(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - logged with its traceback, and the user is told
            _log.exception("%s failed", handler.__name__)
            await say(f"Something went wrong ({type(err).__name__}: {err}). Nothing was lost: your conversation is "
                       "saved. Try again, or rephrase your request.")
            return None
    return run


async def answer_with_button(action: cl.Action, answer: Callable[[dict[str, Any]], dict[str, Any] | str]) -> None:
    """Answer the pending staging question from a button, as a task the stop button can cancel."""
    thread_id = current_thread_id()
    lock = runtime().lock(thread_id)
    if lock.locked():
        await say("A run is already in progress; press ■ to stop it.")
        return
    pending = await asyncio.to_thread(runtime().conversations.session(thread_id).pending)
    call_id = (action.payload or {}).get("id")
    if pending is None or pending.get("tool_call_id") != call_id or thread_id in runtime().answering:
        await say("This proposal was already answered; ask again (e.g. *run it*) for a new one.")
        return
    decision = answer(pending)
    if isinstance(decision, str):
        await say(decision)
        return
    await remove_staging_buttons(action)

    @guarded
    async def work() -> None:
        await cl.context.emitter.task_start()
        try:
            async with lock:
                await answer_staging(thread_id, pending, decision)
        finally:
            runtime().answering.discard(thread_id)
            await cl.context.emitter.task_end()

    runtime().answering.add(thread_id)           # a double click (or a typed answer meanwhile) must not answer twice

    # a task (not this HTTP request) runs it, so the stop button can cancel it like a message's task
    cl.context.session.current_task = asyncio.create_task(work())
