"""The staging question in Chainlit: its message with Run / Adjust / Cancel (and their removal once answered), the
settings panel set to the staged run, what the conversation's uploads add to it, and weight changes asked in words
while it waits. ``ui/chat_flow.py`` plays the turns around it; the words come from ``ui/present/``."""
from __future__ import annotations

from typing import Any

import chainlit as cl

from ui.present.turn import weight_change_text
from ui.present.web import web_markdown
from ui.runtime import runtime
from ui.settings import ChatSettingsModel, parse_settings, settings_widgets, staging_weight_change


def uploads_extras(thread_id: str) -> tuple[dict[str, Any], str]:
    """What a staging answer adds for this conversation's uploads (the dataset, the label map edits), and a sentence
    saying so. Candidates are not added here: staging chose them to fit the data and listed them."""
    uploads = runtime().conversations.uploads(thread_id)
    dataset, models, edits = uploads.dataset(), uploads.model_names(), uploads.label_map_edits()
    extras: dict[str, Any] = {}
    said = []
    if dataset:
        extras["dataset"] = str(dataset)
        said.append(f"your dataset `{dataset.name.split('-', 1)[-1]}`")
    if models:
        said.append("candidates from your models " + ", ".join(f"`{m}`" for m in models))
    elif dataset:
        said.append("candidate models whose labels cover your classes (listed before you approve)")
    if edits:
        extras["label_map"] = edits
        said.append("your label map edits (" + "; ".join(f"{k} → {', '.join(v)}" for k, v in edits.items()) + ")")
    if not said:
        return {}, ""
    return extras, "This run uses " + " and ".join(said) + "."


async def send_settings_panel(pending: dict[str, Any] | None) -> None:
    """The settings panel, showing the staged run when one waits for approval."""
    staged = pending is not None and pending.get("type") == "staging"
    panel = ChatSettingsModel.from_staging(pending) if staged else ChatSettingsModel()  # type: ignore[arg-type]
    await cl.ChatSettings(settings_widgets(panel)).send()


async def staging_message(thread_id: str, payload: dict[str, Any], lead: str = "") -> cl.Message:
    """The staging question with its buttons (not sent yet); a staged run also sets the settings panel to it."""
    if payload.get("type") != "staging":        # e.g. enabling a user metric: approve or cancel only
        actions = [cl.Action(name="staging_run", label="Approve", payload={"id": payload.get("tool_call_id")}),
                   cl.Action(name="staging_cancel", label="Cancel", payload={"id": payload.get("tool_call_id")})]
        return cl.Message(content=web_markdown("\n\n".join(p for p in (lead, str(payload.get("message", ""))) if p)),
                          actions=actions)
    current, _ = parse_settings(cl.context.session.chat_settings or {})
    panel = ChatSettingsModel.from_staging(payload, current)
    await cl.ChatSettings(settings_widgets(panel)).send()
    _, uploads_note = uploads_extras(thread_id)
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
    return cl.Message(content=web_markdown("\n\n".join(p for p in parts if p)), actions=actions)


async def send_staging(thread_id: str, payload: dict[str, Any], lead: str = "") -> None:
    """The staging message (the paper's experiment-staging screen): proposal, reasons, trade-offs, Run / Adjust."""
    message = await staging_message(thread_id, payload, lead)
    await message.send()
    cl.user_session.set("staging_actions", message.actions)


async def remove_staging_buttons(clicked: cl.Action | None = None) -> None:
    """Answered: the proposal's buttons go away (after a restart only the clicked one is known)."""
    buttons = cl.user_session.get("staging_actions") or ([clicked] if clicked else [])
    cl.user_session.set("staging_actions", None)
    for button in buttons:
        await button.remove()


async def weight_change_reply(pending: dict[str, Any], text: str, slack: bool) -> str | None:
    """"make size matter more" while a run waits: the reply showing the new weights (the browser's settings panel is
    set to them); None when the text asks no weight change."""
    staged = dict(pending.get("weights") or {})
    if (change := staging_weight_change(text, staged) if pending.get("type") == "staging" else None) is None:
        return None
    weights, sentence = change
    if not slack:
        current, _ = parse_settings(cl.context.session.chat_settings or {})
        panel = ChatSettingsModel.from_staging({**pending, "weights": {**staged, **weights}}, current)
        await cl.ChatSettings(settings_widgets(panel)).send()
    return weight_change_text(sentence, staged, weights, buttons=not slack)
