"""User metrics: the protocol a metric module implements, stub generation checked by AST, opt-in enabling.

A user metric lives in one Python file in the user's metrics folder. GreenRunner writes a stub, checks it
parses (``ast``) and has the protocol's parts, but never imports (executes) it until the user enables it
explicitly; the list of enabled metrics is ``enabled.json`` in that folder. ``user_metric_runs`` loads and
measures enabled metrics in child processes with a real timeout; their errors are reported as data.
"""
from __future__ import annotations

import ast
import json
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.reward import BUILTIN_METRICS

Direction = Literal["higher", "lower"]
Normalisation = Literal["log_minmax", "minmax", "identity"]
ENABLED_FILE = "enabled.json"
DEFAULT_TIMEOUT_S = 30.0
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


@runtime_checkable
class UserMetric(Protocol):
    """What a metric module's ``METRIC`` object provides.

    ``measure`` gets the model (eval mode, CPU), its card, and a batch of the user's target images already
    preprocessed for that model (``images``: float tensor N x C x H x W) with, per image, the set of class
    indices counted as correct (``correct``: list of frozensets). It returns one finite number for the model.
    """

    name: str
    direction: Direction          # "higher": more is better; "lower": less is better
    normalisation: Normalisation  # how values are scaled over the candidate set before weighting
    description: str

    def measure(self, model: Any, card: ModelCard, images: Any, correct: Sequence[frozenset[int]]) -> float: ...


def metrics_dir(cache_root: str | Path | None = None) -> Path:
    """``<cache dir>/metrics`` (``cache_root`` or the user cache dir); a front door passes the user's metrics folder
    (``GREENRUNNER_METRICS_DIR``, read by its settings) instead."""
    from greenrunner_core.paths import cache_dir
    return cache_dir(cache_root) / "metrics"


def metric_name(text: str) -> str:
    """``"robustness to blur"`` -> ``"robustness_to_blur"``; refuses names that cannot be a module."""
    name = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")
    if name and name[0].isdigit():
        name = "m_" + name
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise GreenRunnerError(f"cannot make a metric name from {text!r}; use 2-40 letters, digits or '_', "
                               "starting with a letter (e.g. blur_robustness)")
    if name in BUILTIN_METRICS:
        raise GreenRunnerError(f"{name!r} is a built-in metric already; pick another name for a user metric")
    return name


STUB_TEMPLATE = '''"""GreenRunner user metric: {name} — {description}

Written by GreenRunner as a stub. It is NOT run until you enable it (GreenRunner never imports this file
before that). To complete it:
  1. implement ``measure`` below so it returns one number per model;
  2. check ``direction`` ("higher" = more is better, "lower" = less is better) and ``normalisation``;
  3. enable it: say "enable metric {name}" in the chat, or call
     ``greenrunner_core.metrics_protocol.enable_metric("{name}")``.
Until it is enabled its weight is left out of the reward. Enabled metrics run with a time limit
({timeout:g} s per model by default); an error or a timeout is reported and the metric is skipped for that model.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch


class {class_name}:
    name = "{name}"
    direction = "{direction}"          # "higher" or "lower"
    normalisation = "{normalisation}"  # "log_minmax", "minmax" or "identity"
    description = "{description}"

    def measure(self, model: torch.nn.Module, card, images: torch.Tensor,
                correct: Sequence[frozenset[int]]) -> float:
        """Return one finite number for ``model``.

        model   -- the candidate, eval mode, on CPU
        card    -- its ModelCard (name, params, size_mb, macs, class_labels, ...)
        images  -- N x C x H x W tensor: target images preprocessed for this model
        correct -- per image, the class indices counted as a correct prediction
        """
        # Example for a robustness metric: accuracy on blurred images.
        #   with torch.no_grad():
        #       blurred = torch.nn.functional.avg_pool2d(images, 3, stride=1, padding=1)
        #       pred = model(blurred).argmax(1).tolist()
        #   return sum(p in ok for p, ok in zip(pred, correct)) / len(correct)
        raise NotImplementedError("{name}: implement measure() before enabling this metric")


METRIC = {class_name}()
'''


@dataclass(frozen=True)
class StubCheck:
    """What the AST check found in a metric file (nothing is executed)."""

    path: Path
    ok: bool
    problems: tuple[str, ...]
    implemented: bool     # measure() does more than raise NotImplementedError


def render_stub(name: str, description: str, direction: Direction = "higher",
                normalisation: Normalisation = "minmax", timeout: float = DEFAULT_TIMEOUT_S) -> str:
    if direction not in ("higher", "lower"):
        raise GreenRunnerError(f"direction {direction!r} must be 'higher' or 'lower'")
    if normalisation not in ("log_minmax", "minmax", "identity"):
        raise GreenRunnerError(f"normalisation {normalisation!r} must be log_minmax, minmax or identity")
    clean = " ".join(description.replace('"', "'").replace("\\", "/").split()) or name.replace("_", " ")
    class_name = "".join(part.capitalize() for part in name.split("_")) + "Metric"
    return STUB_TEMPLATE.format(name=name, description=clean, direction=direction, normalisation=normalisation,
                                class_name=class_name, timeout=timeout)


def check_stub(path: str | Path) -> StubCheck:
    """Parse ``path`` with ``ast`` and check it defines ``METRIC`` from a class with the protocol's parts."""
    path = Path(path)
    problems: list[str] = []
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as err:
        return StubCheck(path, False, (f"syntax error line {err.lineno}: {err.msg}",), False)
    except OSError as err:
        return StubCheck(path, False, (f"cannot read {path}: {err}",), False)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    metric_class = None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "METRIC" for t in node.targets)
                and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)):
            metric_class = classes.get(node.value.func.id)
    if metric_class is None:
        return StubCheck(path, False, ("no `METRIC = SomeClass()` at module level",), False)
    attrs = {t.id: n.value for n in metric_class.body if isinstance(n, ast.Assign)
             for t in n.targets if isinstance(t, ast.Name)}
    for attr in ("name", "direction", "normalisation", "description"):
        if attr not in attrs:
            problems.append(f"class {metric_class.name} has no `{attr}` attribute")
    direction = attrs.get("direction")
    if isinstance(direction, ast.Constant) and direction.value not in ("higher", "lower"):
        problems.append(f"direction is {direction.value!r}; use 'higher' or 'lower'")
    norm = attrs.get("normalisation")
    if isinstance(norm, ast.Constant) and norm.value not in ("log_minmax", "minmax", "identity"):
        problems.append(f"normalisation is {norm.value!r}; use log_minmax, minmax or identity")
    measure = next((n for n in metric_class.body if isinstance(n, ast.FunctionDef) and n.name == "measure"), None)
    implemented = False
    if measure is None:
        problems.append(f"class {metric_class.name} has no measure(self, model, card, images, correct) method")
    else:
        if len(measure.args.args) != 5:
            problems.append("measure must take (self, model, card, images, correct)")
        body = [n for n in measure.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        implemented = not (len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError"
                           in ast.dump(body[0]))
    return StubCheck(path, not problems, tuple(problems), implemented)


def write_stub(name: str, description: str, *, direction: Direction = "higher",
               normalisation: Normalisation = "minmax", folder: str | Path | None = None,
               overwrite: bool = False) -> StubCheck:
    """Write ``<folder>/<name>.py`` from the template (never over a user's file unless ``overwrite``) and check it."""
    name = metric_name(name)
    folder = Path(folder) if folder is not None else metrics_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    if path.exists() and not overwrite:
        check = check_stub(path)
        return check    # keep the user's work; report what is there
    path.write_text(render_stub(name, description, direction, normalisation))
    check = check_stub(path)
    if not check.ok:   # the template itself is wrong: a bug, not a user error
        raise AssertionError(f"generated stub {path} fails its own check: {check.problems}")
    return check


# ---- enabling (explicit opt-in) ---------------------------------------------------------------------------

def enabled_metrics(folder: str | Path | None = None) -> list[str]:
    folder = Path(folder) if folder is not None else metrics_dir()
    file = folder / ENABLED_FILE
    if not file.exists():
        return []
    try:
        data = json.loads(file.read_text())
    except ValueError as err:
        raise GreenRunnerError(f"{file} is not valid JSON ({err}); fix or delete it") from None
    return [str(n) for n in data.get("enabled", [])] if isinstance(data, dict) else []


def _write_enabled(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ENABLED_FILE).write_text(json.dumps({"enabled": sorted(set(names))}, indent=1))


def enable_metric(name: str, folder: str | Path | None = None) -> StubCheck:
    """Opt in to running ``<folder>/<name>.py``. Refused while the file fails the AST check or is still a stub."""
    folder = Path(folder) if folder is not None else metrics_dir()
    name = metric_name(name)
    path = folder / f"{name}.py"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.py")) if folder.exists() else []
        raise GreenRunnerError(f"no metric file {path}; known user metrics: {', '.join(known) or 'none'}")
    check = check_stub(path)
    if not check.ok:
        raise GreenRunnerError(f"{path} cannot be enabled: {'; '.join(check.problems)}")
    if not check.implemented:
        raise GreenRunnerError(f"{path} still raises NotImplementedError in measure(); implement it, then enable it")
    _write_enabled(folder, enabled_metrics(folder) + [name])
    return check


@dataclass
class MetricRun:
    """Values per model for one user metric, and what went wrong (errors are data, not exceptions).

    Kept here (not in ``user_metric_runs``): conversation checkpoints name this class by its module."""

    name: str
    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)   # model name (or "<load>") -> message
