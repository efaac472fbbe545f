"""generate_metric_stub and enable_metric: user metrics as files the user completes and explicitly opts in to."""
from __future__ import annotations

from typing import Any

from greenrunner_core import metrics_protocol, user_metric_runs
from greenrunner_core.registry.card import ModelCard
from tools.result import ToolResult
from tools.schemas import EnableMetricArgs, GenerateMetricStubArgs
from tools.settings import ToolSettings, metrics_folder

N_METRIC_IMAGES = 32


def generate_metric_stub(args: GenerateMetricStubArgs, settings: ToolSettings | None = None) -> ToolResult:
    folder = metrics_folder(settings)
    existed = (folder / f"{metrics_protocol.metric_name(args.name)}.py").exists()
    check = metrics_protocol.write_stub(args.name, args.description, direction=args.direction,
                                        normalisation=args.normalisation, folder=folder)
    name = check.path.stem
    enabled = name in metrics_protocol.enabled_metrics(folder)
    lines = [f"{'Kept the existing' if existed else 'Wrote a'} metric file: `{check.path}`",
             (f"Checked by parsing (not run): {'valid' if check.ok else 'problems: ' + '; '.join(check.problems)}; "
             f"measure() {'is implemented' if check.implemented else 'still raises NotImplementedError'}."),
             "",
             "To complete it:",
             (f"1. implement `measure(self, model, card, images, correct)` in `{check.path.name}`: it gets the model "
             "(eval mode, CPU), its card, a batch of your target images preprocessed for that model, and per image "
             "the class indices counted as correct; it returns one number;"),
             f"2. check `direction = \"{args.direction}\"` and `normalisation = \"{args.normalisation}\"`;",
             f"3. say \"enable metric {name}\" — I ask you to confirm, since enabling runs your code.",
             "",
             f"Until it is enabled, GreenRunner never imports the file and a weight for {name} is left out of the "
             "reward (the reply says so each time)."
             + (" It is enabled already." if enabled else "")]
    artifact = {"path": str(check.path), "name": name, "ok": check.ok, "problems": list(check.problems),
                "implemented": check.implemented, "enabled": enabled}
    return ToolResult("\n".join(lines), artifact)


def enable_metric(args: EnableMetricArgs, settings: ToolSettings | None = None) -> ToolResult:
    """Opt in (after the user confirmed), then load it once with the timeout to report problems early."""
    settings = settings or ToolSettings()
    folder = metrics_folder(settings)
    check = metrics_protocol.enable_metric(args.name, folder)
    name = check.path.stem
    try:
        metric = user_metric_runs.load_metric(name, folder, settings.user_metric_timeout)
        status = (f"Enabled user metric {name} ({metric.direction} is better, {metric.normalisation}). It is "
                  "measured on the top 3 of the next runs, with a limit of "
                  f"{settings.user_metric_timeout:g} s per model; errors are reported, not raised.")
        ok, error = True, None
    except Exception as exc:  # noqa: BLE001 - user code: report, never raise
        status = f"Enabled {name}, but loading it failed: {type(exc).__name__}: {exc}. Fix the file; it is skipped until then."
        ok, error = False, f"{type(exc).__name__}: {exc}"
    return ToolResult(status, {"name": name, "path": str(check.path), "loaded": ok, "error": error})


def metric_inputs(card: ModelCard, dataset: Any, n: int = N_METRIC_IMAGES) -> tuple[Any, list[frozenset[int]]]:
    """The first ``n`` target images preprocessed for ``card`` (torchvision transforms) and their correct sets."""
    import torch
    from torchvision.transforms import v2

    p = card.preprocess
    transform = v2.Compose([v2.PILToTensor(), v2.Resize(p.resize or max(p.crop), antialias=True),
                            v2.CenterCrop(list(p.crop)), v2.ToDtype(torch.float32, scale=True),
                            v2.Normalize(list(p.mean), list(p.std))])
    images = list(dataset.images)[:n]
    mode = "L" if p.channels == 1 else "RGB"
    batch = torch.stack([transform(dataset.load_image(img).convert(mode)) for img in images])
    correct = [dataset.allowed_indices(img.class_name, card.class_labels) for img in images]
    return batch, correct
