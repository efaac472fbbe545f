"""The words of each kind of note (tools/note_words.toml) are the sentences the run reports always had."""
from __future__ import annotations

from typing import get_args

import pytest

from greenrunner_core import notes as n
from greenrunner_core.energy import HardwarePart, MeterInfo
from greenrunner_core.registry import source_notes as sn
from tools.formatting import fmt_joules
from tools.notes_text import word

SENTENCES = [
    (n.BruteForceExtrapolated("seconds", 2, 5),
     "brute-force seconds extrapolated from measured per-call time (2 of 5 models measured; the rest scaled by MACs)"),
    (n.BruteForceExtrapolated("energy", 2, 5),
     "brute-force energy extrapolated from measured per-call energy (2 of 5 models measured; the rest scaled by MACs)"),
    (n.CachedEnergyExtrapolated(12345), ("energy of 12,345 cached calls recorded before energy was kept is extrapolated "
                                        "from the measured per-call energy")),
    (n.EnergyEstimated("", ""), "energy is estimated: nothing could be measured"),
    (n.EnergyEstimated("estimated (time x W)", "CPU s x 10 W"), "energy is estimated (time x W): CPU s x 10 W"),
    (n.EnergyEstimated("estimated (time x W)", MeterInfo("estimate", watts_per_core=10.0, default_watts=True,
                                                         no_rapl_under="/sys/class/powercap")),
     ("energy is estimated (time x W): CPU seconds x 10 W per busy core (default; set GREENRUNNER_CPU_WATTS_PER_CORE to "
      "your CPU's TDP / cores); no readable RAPL counters under /sys/class/powercap")),
    (n.EnergyEstimated("estimated (time x W)", MeterInfo("codecarbon", hardware=(HardwarePart("CPU", "constant", 85.0),
                                                                                HardwarePart("RAM")))),
     "energy is estimated (time x W): CodeCarbon: CPU estimated (constant model, TDP 85 W), RAM estimated"),
    (n.RunInterrupted("interrupted (Ctrl-C)"), "interrupted (Ctrl-C)"),
    (n.NoPublishedAccuracy(3), "3 models have no published accuracy and were not considered"),
    (n.Stopped("budget_spent"), "budget spent"),
    (n.Stopped("nothing_left"), "no model needs more evaluations"),
    (n.Interrupted(), "interrupted (Ctrl-C): results so far are kept; re-running resumes from the cache"),
    (n.Interrupted("stopped by the user"),
     "interrupted, stopped by the user: results so far are kept; re-running resumes from the cache"),
    (n.Interrupted(baseline=True), "interrupted (Ctrl-C)"),
    (n.Interrupted("stopped by the user", baseline=True), "interrupted, stopped by the user"),
    (n.Stopped("every_model_failed"), "every model failed"),
    (n.AllImagesEvaluated("m07"), "every model still in the race has been evaluated on all images (leader m07)"),
    (n.LeaderProven("m07", 0.01, 0.95, 3, 408, 800), ("stopped early: m07 is within epsilon=0.01 (reward) of the best "
     "with 95% confidence (3 remaining model(s) shown not more than epsilon better); spent 408 of 800 calls")),
    (n.LeaderProven("m07", 0.01, 0.9, 0, 1408, 2400), ("stopped early: m07 is within epsilon=0.01 (reward) of the best "
     "with 90% confidence (every other model was ruled out); spent 1,408 of 2,400 calls")),
    (n.LastInRace("m07", 0.01, 2.5, 170, 2400), ("stopped early: m07 is within epsilon=0.01 (reward) of every other "
     "model at z=2.5 (calibrated, not a guarantee); spent 170 of 2,400 calls")),
    (n.Stopped("leader_settled"), "the leader is settled: the rest of the budget was not needed"),
    (n.Stopped("every_image_evaluated"), "every model evaluated on every image"),
    (n.Stopped("picked_by_published_accuracy"), "picked by published accuracy"),
    (n.NeverEvaluated(tuple("abcdefghij"), True), ("10 model(s) dropped before any evaluation: their best possible "
     "reward (accuracy 1.0) cannot beat the leader's proven lower bound (a, b, c, d, e, f, g, h, ...)")),
    (n.NeverEvaluated(("a", "b")), ("2 model(s) dropped before any evaluation: their best possible reward (accuracy "
                                   "1.0) cannot beat the leader's lower bound (a, b)")),
    (n.ModelsDropped(3, "paired_race", 0.95), ("3 model(s) dropped after paired comparisons showed them worse than "
                                              "another model with 95% confidence")),
    (n.ModelsDropped(3, "elimination", 0.01), ("3 model(s) dropped after paired comparisons on shared images showed "
                                              "them unlikely to beat the leader by more than epsilon=0.01")),
    (n.RankedByElimination(("m02", "m05")), ("2 model(s) rank below a model with a lower estimate (m02, m05): the "
     "ranking follows how long each model stayed in the race, as an estimate on fewer images is less sure")),
    (n.EnergyHalvingSummary(0.3, "J per call", 16, (), None), ("energy_halving: objective = reward − 0.3 × normalised "
     "log(J per call); exploratory rung: up to 16 images per model; pruned as dominated: none")),
    (n.EnergyHalvingSummary(0.3, "J per call", 16, ("x", "y"), 1234), ("energy_halving: objective = reward − 0.3 × "
     "normalised log(J per call); exploratory rung: up to 16 images per model; pruned as dominated: x, y; stopped "
     "early: the leader's interval cleared every other survivor, 1,234 calls of the budget not spent")),
    (n.ModelLeftOut("m", "failed", "r"), "m excluded: r"),
    (n.ModelLeftOut("m", "hub", "r"), "m skipped: r"),
    (n.ModelLeftOut("m", "labels", "r"), "m refused for this dataset: r"),
    (n.LabelsDoNotFit("m", "", 10, 0, 2, ("cat", "dog"), 2),
     ("m refused for this dataset: its labels (10 classes) map 0 of the dataset's 2 classes (no label for cat, dog), "
     "other candidates map 2; give a label map that lists its labels for those classes")),
    (n.LabelsDoNotFit("m", "imagenet-22k", 21841, 1, 7, tuple("abcdef"), 7),
     ("m refused for this dataset: its labels (imagenet-22k) map 1 of the dataset's 7 classes (no label for a, b, c, d, "
     "e ...), other candidates map 7; give a label map that lists its labels for those classes")),
    (n.ModelLeftOut("m", "latency_needed", "r"), "m left out: its latency could not be measured (r)"),
    (n.ModelLeftOut("m", "latency", "r"), "latency of m not measured: r"),
    (n.TacticSkipped("compile", "no cc"), "compile skipped: no cc"),
    (n.TacticSkipped("quantize", "no lin", "conv+int8"), "conv+int8 skipped: no lin"),
    (n.TacticSkipped("compile", "no_cxx"), ("compile skipped: torch.compile needs a C++ compiler for CPU code "
                                           "(TorchInductor); none found (install g++ or set CXX)")),
    (n.TacticSkipped("fp16", "no_cuda"), ("fp16 skipped: no CUDA GPU on this machine (half-precision variants are "
                                         "offered on GPUs only: on CPUs they are usually slower)")),
    (n.TacticSkipped("quantize", "nothing_to_quantize", "conv+int8"), ("conv+int8 skipped: no Linear/LSTM/GRU layer "
                                                                      "to quantize (dynamic quantization leaves "
                                                                      "convolutions as they are)")),
    (n.TacticSkipped("quantize", "no_quantized_engine"), ("quantize skipped: torch has no quantized CPU engine on this "
                                                         "machine")),
    (n.TacticSkipped("compile", "dynamo_unsupported"), ("compile skipped: torch.compile is not supported on this "
                                                       "Python/platform (torch._dynamo.is_dynamo_supported())")),
    (n.LatencyMeasured("Xeon", 20, 1.5, "estimated"), ("latency measured on Xeon (median of 20+ timed runs after "
     f"warm-up, cached per model and machine, measuring took {fmt_joules(1.5)} (estimated) once)")),
    (n.LatencyMeasured("Xeon", 20), ("latency measured on Xeon (median of 20+ timed runs after warm-up, cached per "
                                    "model and machine)")),
    (n.BusyWhileTiming(3.14, ("a", "b", "c", "d")), ("the machine was busy (load average up to 3.1) while timing 4 "
     "model(s), e.g. a, b, c: their latency is inflated; clear the latency cache (latency.json) and time them on an "
     "idle machine")),
    (n.DatasetIssues("d", 90, 3, 95, (("corrupt", 3), ("empty", 2))),
     "dataset: Dataset d: 90 usable images in 3 classes (95 files checked); skipped 5 (damaged images: 3, empty: 2)"),
    (n.SampleCoversAll(5000, 449), ("sampled all 449 usable images: a sample of 5,000 asked for more images than "
                                    "the dataset has")),
    (sn.ItemSkipped("local", "f.pt", "bad"), "skipped f.pt: bad"),
    (sn.NameTaken("b.pt", "same", "a.pt"), ("skipped b.pt: model name 'same' is already used by a.pt; give it "
                                           'another "name"')),
    (sn.ManifestIgnored("/x/greenrunner.json", "bad json"), "ignored /x/greenrunner.json: bad json"),
    (sn.ManifestFileMissing("missing.pt", "/x"), "greenrunner.json names 'missing.pt', which is not a file in /x"),
    (sn.ArchOnlyForDefaults("s.pt", "torchscript", "resnet"),
     "s.pt: is torchscript, so its \"arch\" 'resnet' is only used for defaults"),
    (sn.UnknownManifestKeys("g.pt", ("colour",), ("arch", "name")),
     "g.pt: ignored unknown manifest keys ['colour'] (known: ['arch', 'name'])"),
    (sn.AssumedPreprocess("s.pt", (3, 224, 224), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
     ("s.pt: no input_size/mean/std in greenrunner.json; assuming ImageNet-style (3, 224, 224), mean (0.485, 0.456, "
     "0.406), std (0.229, 0.224, 0.225)")),
    (sn.AssumedLabels("s.pt", "class_0", "class_3"), ("s.pt: no class_labels in greenrunner.json; using "
                                                     "class_0..class_3")),
    (sn.ArchRecognised("m.pt", "cifar_resnet20"), ("m.pt: recognised as architecture 'cifar_resnet20' (its parameter "
     "names and shapes match exactly); name another \"arch\" in greenrunner.json if that is wrong")),
]


@pytest.mark.parametrize(("note", "sentence"), SENTENCES, ids=[type(note).__name__ for note, _ in SENTENCES])
def test_each_kind_reads_as_before(note, sentence):
    assert word(note) == sentence


def test_every_kind_has_a_sentence_here():
    assert {type(note) for note, _ in SENTENCES} == set(n.NOTE_KINDS.values()) - {n.TextNote}


def test_every_way_of_stopping_has_its_sentence_here():
    worded = {note.how for note, _ in SENTENCES if isinstance(note, n.Stopped)}
    assert worded == set(get_args(n.StoppedHow))
