"""What a demanding user of `greenrunner select` ran into: flags named in their errors, a bad --out refused before
any evaluation, a checkpoint that cannot be read named with the reason."""
import pytest

from ui.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["select", "--weights", "acc=1", "--no-torchvision", "--no-timm", "--sample", "20", *argv])
    except SystemExit as stop:            # refused by argparse's type check
        code = stop.code
    out = capsys.readouterr()
    return int(code), out.out, out.err


@pytest.mark.parametrize("argv, message", [
    (["--max-macs", "-5"], "argument --max-macs: '-5' is not a count"),
    (["--max-macs", "0"], "argument --max-macs: 0 is not a finite count > 0"),
    (["--max-params", "lots"], "argument --max-params: 'lots' is not a count"),
    (["--max-latency", "nan"], "argument --max-latency: nan is not a finite number"),
])
def test_a_bad_limit_names_its_flag(capsys, argv, message):
    code, _, err = _run(capsys, *argv)
    assert code == 2 and message in err and "e.g." in err


def test_a_reports_folder_that_cannot_be_made_is_refused_before_the_run(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, out, err = _run(capsys, "--out", str(blocker / "reports"))
    assert code == 2 and "reports folder" in err and "pass --out" in err and "Traceback" not in err
    assert "Top 3" not in out                 # nothing was evaluated: the run is not lost after the fact


def test_an_unreadable_checkpoint_is_named_with_the_reason(capsys, tmp_path):
    (tmp_path / "broken.pt").write_bytes(b"\x10\x56" * 500)
    code, out, _ = _run(capsys, "--checkpoints", str(tmp_path), "--models", "demo_linear,demo_mlp_tiny",
                        "--out", str(tmp_path / "reports"))
    assert code == 0 and "note: skipped broken.pt: broken.pt is not a PyTorch checkpoint" in out


def test_data_that_cannot_be_read_gets_its_own_fix_not_a_hint_about_models(capsys, tmp_path):
    code, _, err = _run(capsys, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "reports"))
    assert code == 2 and "nowhere does not exist" in err and "sub-folder per class" in err
    assert "--models" not in err and "Traceback" not in err


def test_the_report_says_why_the_run_stopped(capsys, tmp_path):
    # with --budget 13 every model was seen once and three tied at 1.000 ± 0.462, with no word that the budget ran out
    code, out, _ = _run(capsys, "--budget", "13", "--out", str(tmp_path))
    assert code == 0 and "Stopped: budget spent (a larger --budget narrows the ± intervals" in out
    code, out, _ = _run(capsys, "--strategy", "brute_force", "--out", str(tmp_path))
    assert code == 0 and "Stopped: every model evaluated on every image" in out and "larger --budget" not in out


def test_the_weights_justification_is_not_wrapped_in_one_parenthesis(capsys, tmp_path):
    # "Weights: ... (proposed ... (cues: drone)" ran on over five lines and closed with "latency, energy)"
    code = main(["select", "--use-case", "detect digits from a drone", "--no-torchvision", "--no-timm", "--sample", "20",
                 "--out", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    weights = next(i for i, line in enumerate(lines) if line.startswith("Weights: "))
    assert code == 0 and lines[weights].endswith("(cues: drone))")
    assert all(line.count("(") == line.count(")") for line in lines[weights:weights + 6])


def test_a_latency_limit_from_the_use_case_is_justified_in_one_sentence_ending_once():
    # "... your device may be faster or slower.." — the knowledge's sentence ends with a period, one was added
    from agent.proposal import propose_weights
    why = propose_weights("classify digits on a drone within 20 ms").constraint_justification["max_latency_ms"]
    assert why.endswith("faster or slower.") and ".." not in why


def _outcomes(tmp_path):
    """A models table and an outcomes .npz (the ../shared/data/imagenetv2 layout): 3 models x 1,200 images."""
    import numpy as np
    table = tmp_path / "models.csv"
    table.write_text("name,family,params,macs,file_mb,imagenet_val_top1\n"
                     "big,cnn,90000000,40000000000,360,0.8\nmid,cnn,20000000,9000000000,80,0.75\n"
                     "small,cnn,2000000,300000000,8,0.6\n")
    rng = np.random.default_rng(0)
    correct = rng.random((3, 1200)) < np.array([[0.8], [0.7], [0.5]])
    np.savez(tmp_path / "outcomes.npz", models=np.array(["big", "mid", "small"]), correct=correct)
    return table


def test_replay_reads_an_outcomes_npz_with_its_model_table(capsys, tmp_path):
    # `replay ../shared/data/imagenetv2/matched_frequency.npz` could not be read (only `record`'s format was); once read,
    # the report said "MACs: 5.01e+03 G", "compute time: 0 s of 0 s" and "answered from the cache" for a replay
    table = _outcomes(tmp_path)
    code = main(["replay", str(tmp_path / "outcomes.npz"), "--table", str(table), "--strategy", "pe,brute_force_free"])
    out = capsys.readouterr()
    assert code == 2 and "unknown strategy 'brute_force_free'" in out.err and "== " not in out.out   # checked first
    code = main(["replay", str(tmp_path / "outcomes.npz")])
    assert code == 2 and "--table CSV" in capsys.readouterr().err
    code = main(["replay", str(tmp_path / "outcomes.npz"), "--table", str(table), "--weights", "acc=1"])
    out = capsys.readouterr().out
    assert code == 0 and "outcomes: 3 models x 1,200 images; brute-force best: big" in out
    assert "Top 3 (paired_elimination, 3 models, 1,200 target images):" in out     # counts with thousands, as elsewhere
    assert "MACs: " in out and "e+" not in out and " T (" in out
    assert "compute time: not recorded" in out and "no model was run" in out and "from the cache" not in out


def test_a_negative_models_limit_speaks_of_rows_not_ray_workers(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["models", "--limit", "-1"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "argument --limit: -1 is below 0; give the number of rows to show" in err
    assert "Ray" not in err


def test_an_interrupted_run_says_so_under_the_top_3_not_only_in_the_last_note(tmp_path):
    from greenrunner_core.replay import ReplayEnvironment, matrix_from_table
    from greenrunner_core.reward import Weights
    from greenrunner_core.strategies import make_strategy
    from ui.present.terminal import terminal_report
    matrix = matrix_from_table(_outcomes(tmp_path), tmp_path / "outcomes.npz")

    def ctrl_c(event) -> None:
        if event.spent >= 48:
            raise KeyboardInterrupt

    from greenrunner_core.experiment import run_experiment
    result = run_experiment(ReplayEnvironment(matrix), Weights({"accuracy": 1.0}),
                            make_strategy("paired_elimination", seed=0, batch_size=8), 600, progress=ctrl_c)
    lines = terminal_report(result).splitlines()
    assert result.interrupted
    at = next(i for i, line in enumerate(lines) if line.startswith("Interrupted (Ctrl-C)"))
    assert "the ranking above uses only the evaluations made before it" in lines[at]
    assert at < lines.index("Against brute force:") and sum("interrupted" in line.lower() for line in lines) == 1


def test_models_that_match_no_filter_say_which_flags_to_loosen(capsys):
    assert main(["models", "--no-torchvision", "--no-timm", "--family", "nosuch"]) == 0
    assert "0 models; no model passes these filters: loosen one (--source, --family" in capsys.readouterr().out


def test_the_shortlist_command_to_paste_names_every_model_and_no_ellipsis(capsys):
    # "greenrunner select --models a,b,c,... --data DIR" pasted as is asked for a model named '...'
    assert main(["shortlist", "--weights", "acc=1", "-k", "4", "--no-torchvision", "--source", "timm"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "evaluate them with" in x)
    models = line.split("--models ")[1].split(" ")[0].split(",")
    assert len(models) == 4 and "..." not in line


def test_a_bad_shortlist_size_speaks_of_candidates_not_of_the_budget(capsys):
    # `shortlist -k 0` said "give the evaluation calls to spend, or leave --budget out"
    with pytest.raises(SystemExit) as stop:
        main(["shortlist", "--weights", "acc=1", "-k", "0"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "argument -k: 0 is below 1; give how many candidates to propose" in err
    assert "budget" not in err.split("error:", 1)[1]
