"""What a finished turn shows, for the web app and for Slack alike: the answer's markdown (with the structured top 3,
savings panel and notes for a selection run), the charts, and a pending staging question. No Chainlit here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
from langchain_core.messages import AIMessage, ToolMessage

from agent.tools import STAGED_TOOLS
from greenrunner_core.result import ExperimentResult
from tools.notes_text import notes_lines
from tools.result import RerankArtifact, RunRecord
from ui.present.charts import reranked, reward_vs_macs_figure, selection_counts_figure
from ui.present.markdown import savings_markdown, top3_markdown
from ui.turns import STOPPED_BEFORE_RESULT, TurnResult

EMPTY_MESSAGE = ("Your message is empty. Describe your use case (e.g. \"detect digits on parcels from a delivery "
                 "drone\"), ask a follow-up such as \"what if size matters more?\", or attach a dataset (.zip of an "
                 "ImageFolder) or a model checkpoint.")
MAX_TEXT = 4000
TOO_LONG = (f"Your message is longer than {MAX_TEXT:,} characters; please describe the use case in a few "
            "sentences (the details that matter are where the model runs, what it must recognise, and what matters "
            "most: accuracy, size or speed).")


def welcome_text(warmup_done: bool, warmup_step: str, warmup_error: str | None) -> str:
    """The first message of a web chat (and how far the demo's first-start preparation is)."""
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
             "checkpoints (TorchScript, torch.export, or a state_dict: recognised by its shapes, else named in a "
             "`greenrunner.json`), or a label map JSON. Without uploads I use the built-in offline demo (digits through a new camera, 13 small models).")]
    if not warmup_done:
        lines += ["", f"_Preparing the offline demo zoo (first start only, about a minute): {warmup_step}._"]
    elif warmup_error:
        lines += ["", f"_The offline demo could not be prepared ({warmup_error}); runs on it will say why._"]
    return "\n".join(lines)


WARMUP_STEP_NAME = "Preparing the offline demo zoo"


def warmup_step_text(done: bool, step: str, error: str | None, seconds: float) -> str:
    """The live step shown under the user's message while the first start prepares the demo zoo."""
    if done:
        return (f"Ready after {seconds:.0f} s. Your request runs now." if error is None else
                f"The offline demo could not be prepared ({error}); your request runs now and says what it needs.")
    return (f"First start only (about a minute; later starts reuse it): training the demo zoo's small models on "
            f"scikit-learn's digits — {step}. Your request starts as soon as it is ready.")


def staging_reply_help(payload: dict[str, Any], buttons: bool) -> str:
    how = "press **Run**, **Adjust** (uses the settings panel) or **Cancel** below the proposal, or type" if buttons \
        else "reply in this thread with"
    return (f"A run is waiting for your approval: {how} *approve*, *cancel*, or new values such as "
            "`accuracy=0.7 size=0.2 complexity=0.1`, `budget 800`, `use ucb`. "
            "(Your message was not sent to the assistant, so nothing changed.)")


def weight_change_text(sentence: str, staged: dict[str, float], changed: dict[str, float], buttons: bool) -> str:
    """The reply to a weight change asked in words while a run waits for approval: what changes and how to run it
    (nothing runs from such words: the user sees the new weights first)."""
    typed = " ".join(f"{m}={v:g}" for m, v in changed.items() if v != staged.get(m))
    if not typed:
        return f"{sentence} The proposal is unchanged; press **Run** or type *approve* to run it."
    how = (f"press **Adjust** to run with it (the settings panel ⚙ now shows it), or type `{typed}`; **Run** runs the "
           "proposal as shown" if buttons else f"reply `{typed}` to run with it, or *approve* for the proposal as shown")
    return f"{sentence} Nothing has run yet: {how}."


def check_text(text: str) -> str | None:
    """A reply for text that cannot be a message (empty, too long), or None when it is fine."""
    if not text.strip():
        return EMPTY_MESSAGE
    if len(text) > MAX_TEXT:
        return TOO_LONG
    return None


def merge_decision(payload: dict[str, Any], answer: dict[str, Any], extras: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """A staging answer completed with the proposal's other weights and the conversation's uploads."""
    decision = dict(answer)
    if decision.get("weights") is not None:
        decision["weights"] = {**dict(payload.get("weights") or {}), **decision["weights"]}
    for key, value in (extras or {}).items():
        decision.setdefault(key, value)
    return decision


@dataclass
class Presentation:
    text: str = ""
    charts: list[tuple[str, go.Figure]] = field(default_factory=list)
    staging: dict[str, Any] | None = None
    staging_lead: str = ""
    results: list[ExperimentResult] = field(default_factory=list)


def _strip(text: str, part: str) -> str:
    """The answer without a tool's text it repeats verbatim (the offline reasoner quotes its tools)."""
    if part and part in text:
        return text.replace(part, "").strip()
    return text


def _run_section(record: RunRecord) -> str:
    result = record.result
    parts = [top3_markdown(result), savings_markdown(result)]
    excluded = record.excluded_weights
    left_out = [f"{name} is left out of the reward: {why}" for name, why in excluded.items()]
    # an interrupted run's stop is also one of its notes: the savings block already says it (once is enough)
    notes = notes_lines([n for n in result.notes if not (result.interrupted and n == result.stop_reason)],
                        before=left_out)
    if notes:
        parts.append("\n".join(notes))
    return "\n\n".join(parts)


def present(turn: TurnResult, last_run: RunRecord | None = None, shown: set[str] | None = None,
            live: bool = True) -> Presentation:
    """The answer to show for ``turn``. ``last_run`` is the graph state's last run (for re-rank charts); ``shown``
    are AI message ids already shown live; ``live`` is False for Slack (no live steps: intermediate texts are
    included)."""
    shown = shown or set()
    out = Presentation()
    sections: list[str] = []
    if not live:
        for msg in turn.messages:
            if isinstance(msg, AIMessage) and msg.tool_calls and msg.content and msg.id not in shown \
                    and not any(tc["name"] in STAGED_TOOLS for tc in msg.tool_calls):
                sections.append(str(msg.content))
    final = turn.final_ai()
    answer = str(final.content) if final is not None and final.content else ""
    base = last_run.result if last_run is not None else None
    results: list[str] = []
    stripped = False
    for tool in turn.tool_messages():
        artifact = tool.artifact
        if tool.status == "error":
            continue
        if isinstance(artifact, RunRecord):
            result = artifact.result
            out.results.append(result)
            stripped = stripped or str(tool.content) in answer
            answer = _strip(answer, str(tool.content))
            results.append(_run_section(artifact))
            out.charts += [("selection_counts", selection_counts_figure(result)),
                           ("reward_vs_macs", reward_vs_macs_figure(result))]
        elif isinstance(artifact, RerankArtifact) and base is not None:
            result = reranked(base, artifact.after)
            out.results.append(result)
            fig = reward_vs_macs_figure(result)
            fig.update_layout(title="New ranking: estimated reward vs MACs per image (re-ranked from the cache)")
            out.charts.append(("reward_vs_macs_reranked", fig))
    if turn.stopped_by_user:
        if any(r.interrupted for r in out.results):
            sections.append("**Stopped at your request.** The results so far:")   # the savings block says the rest
        elif not out.results:
            sections.append(f"**Stopped.** {STOPPED_BEFORE_RESULT}")
    elif turn.error is not None:
        sections.append(f"Something went wrong: {type(turn.error).__name__}: {turn.error}. Your conversation is "
                        "saved; try again, or rephrase your request.")
    if results and answer and not stripped:
        # a language model's own summary goes first; the structured results follow
        sections += [answer, *results]
    else:
        sections += results + ([answer] if answer else [])
    out.text = "\n\n".join(s for s in sections if s.strip())
    if turn.interrupt is not None:
        out.staging = turn.interrupt
        staged = next((m for m in reversed(turn.messages) if isinstance(m, AIMessage) and m.tool_calls), None)
        if staged is not None and staged.content and staged.id not in shown:
            out.staging_lead = str(staged.content)
    return out


def tool_step_input(args: dict[str, Any]) -> dict[str, Any]:
    """A tool call's arguments as its step shows them: an uploaded dataset by the name the user gave it (not the
    server's folder of the conversation), arguments left unset left out."""
    from tools.dataset_text import upload_name
    shown = {k: v for k, v in args.items() if v is not None}
    if isinstance(shown.get("dataset"), str) and "/" in shown["dataset"]:
        shown["dataset"] = upload_name(shown["dataset"])
    return shown


def tool_step_output(message: ToolMessage, limit: int = 6000) -> str:
    text = str(message.content)
    return text if len(text) <= limit else text[:limit] + "\n\n… (shortened)"
