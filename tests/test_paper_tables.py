"""The paper-tables command end to end in CI size, and its table against the runs' own metrics."""

import json
import os
import subprocess
import sys

import pytest

from meint_jax import paper_tables
from tests import REPO


@pytest.mark.slow
def test_tiny_paper_tables_run_the_rows_asked_for_and_report_their_metrics(tiny_builder, tmp_path):
    data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    workdir = tmp_path / "tables"
    # One row of each kind: another model (frame-wise), the full one (with the prior) and another label shape;
    # a loss term left out is a loss weight set to 0 (test_configs holds the rows' configs).
    asked = ("framewise", "full", "gaussian")
    command = [sys.executable, "-m", "meint_jax.paper_tables", "--dataset=synthetic", "--size=tiny",
               f"--workdir={workdir}", f"--data_dir={data_dir}", "--num_steps=3", f"--rows={','.join(asked)}"]
    # The rows share most of their computations: the suite's compilation cache (conftest.py, handed on
    # through the environment) compiles each one once; what the rows compute does not depend on it.
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (workdir / "table.md").read_text()
    assert table.strip() in result.stdout
    lines = table.splitlines()
    assert sorted(p.name for p in workdir.iterdir() if p.is_dir()) == sorted(asked)
    for name, variant, shape, label, _ in (row for row in paper_tables.ROWS if row.name in asked):
        metrics = json.load(open(workdir / name / "metrics.json"))
        assert metrics["variant"] == variant and metrics["pseudo_label"] == shape and metrics["train_steps"] == 3
        row = next(line for line in lines if line.startswith(f"| {label} |"))
        model = metrics["trimmed"]["model"]
        assert f"{model['spearman']:.4f} / {model['kendall']:.4f}" in row
        truth = metrics["untrimmed"]["model"]        # the untrimmed column against the true intensity
        assert f"| {truth['true_spearman']:.4f} / {truth['true_kendall']:.4f} |" in row
        if name in paper_tables.PAPER:
            assert f"{paper_tables.PAPER[name]['casme2'][0]:.4f}" in row
    prior = json.load(open(workdir / "full" / "metrics.json"))["untrimmed"]["position_prior"]
    row = next(line for line in lines if line.startswith("| position prior (no pixels) |"))
    assert f"{prior['spearman']:.4f} / {prior['kendall']:.4f}" in row

    # A second call finds every row done and trains nothing.
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "is done" in again.stderr and "train:" not in again.stderr
    assert (workdir / "table.md").read_text() == table


def test_each_paper_001_row_changes_the_full_configs_one_setting_and_no_other():
    full = paper_tables.row_config("synthetic", "full", "triangular", size="tiny")
    expected = {"framewise": {("model", "temporal"): "none"}, "full": {},
                "no_smooth": {("loss", "smooth_weight"): 0.0}, "no_rank": {("loss", "rank_weight"): 0.0},
                "gaussian": {("data", "pseudo_label"): "gaussian"},
                "raised_cosine": {("data", "pseudo_label"): "raised_cosine"},
                "trapezoid": {("data", "pseudo_label"): "trapezoid"}}
    assert [row.name for row in paper_tables.ROWS] == list(expected)
    for row in paper_tables.ROWS:
        config = paper_tables.row_config("synthetic", row.variant, row.label_shape, size="tiny")
        changed = {(section, key): config[section][key] for section in ("model", "loss", "data")
                   for key in config[section] if config[section][key] != full[section][key]}
        assert changed == expected[row.name], row.name
        assert full.loss.smooth_weight > 0 and full.loss.rank_weight > 0 and full.model.temporal != "none"


def test_one_table_over_two_datasets_runs_each_in_its_folder_and_writes_both_under_their_names(tmp_path,
                                                                                                monkeypatch):
    calls = []

    def run(dataset, workdir, **options):
        calls.append((dataset, workdir, options))
        return f"| table of {dataset} |\n"

    monkeypatch.setattr(paper_tables, "run", run)
    text = paper_tables.run_datasets(["synthetic_spotting", "semireal"], str(tmp_path), table="paper002", seeds=3)
    assert calls == [(d, str(tmp_path / d), {"table": "paper002", "seeds": 3}) for d in ("synthetic_spotting",
                                                                                         "semireal")]
    assert text == (tmp_path / "table.md").read_text()
    assert text.index("## synthetic_spotting\n\n| table of synthetic_spotting |") < text.index(
        "## semireal\n\n| table of semireal |")
    with pytest.raises(ValueError, match="with a table they share .*their defaults are joint, transfer"):
        paper_tables.run_datasets(["synthetic_spotting", "semireal"], str(tmp_path))
    with pytest.raises(ValueError, match="name each dataset once"):
        paper_tables.run_datasets(["semireal", "semireal"], str(tmp_path), table="paper002")


def test_unknown_row_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown rows"):
        paper_tables.run("synthetic", str(tmp_path), rows=["best"])


def _spotting_run(me_f1: float, paper_f1: float) -> dict:
    def kinds(f1):
        return {k: {"f1": f1 if k == "micro" else 0.5} for k in ("micro", "macro", "overall")}
    recognition = {"recognition": {k: {"strs": 0.1} for k in ("micro", "overall")}}
    return {"model": {**kinds(me_f1), **recognition}, "model_decoder_paper": {**kinds(paper_f1), **recognition},
            "motion": kinds(0.2), "chance": kinds(0.0)}


def test_a_table_over_seeds_gives_mean_and_sd_and_pairs_each_line_with_the_first_by_seed():
    ours = [0.40, 0.50, 0.45, 0.55, 0.60]
    theirs = [0.30, 0.35, 0.44, 0.50, 0.41]       # the same networks through paper 002's decoder: lower on each seed
    results = {"ours": [_spotting_run(a, b) for a, b in zip(ours, theirs)]}
    table = paper_tables.make_choices_table("synthetic_spotting", results)
    lines = table.splitlines()
    ours_line = next(line for line in lines if line.startswith("| ours (the defaults) |"))
    assert "| 0.5000 ± 0.0791 |" in ours_line           # mean 0.5, sample sd sqrt(0.025 / 4) = 0.0791
    paper_line = next(line for line in lines if line.startswith("| ours' network, paper 002's interval selection |"))
    assert "| 0.4000 ± 0.0778 |" in paper_line          # mean 0.4, sd sqrt(0.0242 / 4) = 0.0778
    assert not any("without its strategy" in line for line in lines)     # not computed: not shown
    # Five differences all of one sign: the exact two-sided Wilcoxon p is 2 / 2^5 = 0.0625.
    assert "decoder_paper - ours: ME F1 -0.1000 (p = 0.062, 5 seeds)" in table
    one = paper_tables.make_choices_table("synthetic_spotting", {"ours": [_spotting_run(0.4, 0.3)]})
    assert "| ours (the defaults) | 0.4000 |" in one and "Paired" not in one
    assert "majority" not in one                         # not recorded: not shown


def test_the_choices_table_sets_the_class_baselines_strs_beside_ours_without_a_spotting_f1_of_their_own():
    runs = [_spotting_run(0.4, 0.3), _spotting_run(0.6, 0.3)]
    for run, strs in zip(runs, (0.05, 0.15)):
        run["majority"] = {"recognition": {k: {"strs": strs} for k in ("micro", "overall")}}
    table = paper_tables.make_choices_table("synthetic_spotting", {"ours": runs})
    assert "| ours' intervals, training majority class | - | - | - | 0.1000 ± 0.0707 | 0.1000 ± 0.0707 |" in table
    assert "class prior" not in table                   # recorded on no run here


def _intensity_run(model: list[float], prior: list[float], clips=("a", "b", "c", "d", "e", "f"),
                   metric="true_spearman") -> dict:
    def predictor(scores):
        return {"spearman": 0.0, "kendall": 0.0, "true_spearman": 0.0, "true_kendall": 0.0,
                "per_clip": {"clip_id": list(clips), metric: scores}}
    return {protocol: {"model": predictor(model), "position_prior": predictor(prior)}
            for protocol in ("trimmed", "untrimmed")}


def test_intensity_rows_are_paired_clip_by_clip_with_the_full_row_within_each_seed():
    # Eighths, exact in binary, so that every difference of a pair is exactly 1/8 and their ranks tie.
    first, second = [0.5, 0.625, 0.75, 0.875, 0.25, 0.375], [0.125, 0.25, 0.375, 0.5, 0.625, 0.75]
    full = [_intensity_run(first, [v - 0.125 for v in first]), _intensity_run(second, [v - 0.125 for v in second])]
    # The same six clip ids in both seeds: paired with its own seed's clip, gaussian is 1/8 above full on the
    # first seed's clips and 1/8 below on the second's; paired across seeds it would differ.
    gaussian = [_intensity_run([v + 0.125 for v in first], [0] * 6),
                _intensity_run([v - 0.125 for v in second], [0] * 6)]
    note = paper_tables.clip_paired_note({"full": full, "gaussian": gaussian})
    assert "against the true intensity" in note
    # Every one of the 12 clips lower for the prior: the exact two-sided p is 2 / 2^12.
    assert f"position prior -0.1250 (better on 0/12 clips, worse on 12, p = {2 / 2 ** 12:.2g})" in note
    assert "gaussian +0.0000 (better on 6/12 clips, worse on 6, p = 1)" in note

    # Without a true intensity, rows are scored against their own targets: another label shape is left out.
    own = [_intensity_run([0.5, 0.6, 0.7, 0.8, 0.9, 0.4], [0.4] * 6, metric="spearman")]
    shapes = {"full": own, "gaussian": own,
              "no_smooth": [_intensity_run([0.6, 0.7, 0.8, 0.9, 1.0, 0.5], [0] * 6, metric="spearman")]}
    note = paper_tables.clip_paired_note(shapes)
    assert "own pseudo-target" in note and "gaussian" not in note
    assert f"no_smooth +0.1000 (better on 6/6 clips, worse on 0, p = {2 / 2 ** 6:.2g})" in note
    # Two clips of one recording under the same id are two pairs, not one overwritten by the other.
    twice = [_intensity_run([0.5, 0.6, 0.7, 0.8, 0.9, 0.4], [0.4] * 6, clips=("a", "a", "b", "b", "c", "c"))]
    later = [_intensity_run([0.6, 0.7, 0.8, 0.9, 1.0, 0.5], [0] * 6, clips=("a", "a", "b", "b", "c", "c"))]
    assert "no_smooth +0.1000 (better on 6/6 clips" in paper_tables.clip_paired_note({"full": twice,
                                                                                        "no_smooth": later})
    # A LOSO run recorded before results.json kept its clips: no note rather than a wrong one.
    assert paper_tables.clip_paired_note({"full": [{"untrimmed": {"model": {"spearman": 0.8}}}]}) == ""


def test_data_names_the_generated_videos_each_row_trains_on_and_a_set_the_config_lacks_is_refused():
    assert paper_tables.row_config("synthetic_spotting", "full", "", data="hard").data.name == "synthetic_long/hard"
    assert paper_tables.row_config("synthetic_spotting", "separate", "", size="tiny",
                                   data="hard").data.name == "synthetic_long/hard_tiny"
    assert paper_tables.row_config("synthetic_spotting", "full", "").data.name == "synthetic_long/default"
    # Paper 002's choices on the hard videos: its feature rows read its features of those same videos.
    names = {row.name: paper_tables.row_config("synthetic_spotting", row.variant, "", data="hard").data.name
             for row in paper_tables.PAPER_CHOICE_ROWS}
    assert names == {"ours": "synthetic_long/hard", "paper_init": "synthetic_long/hard",
                     "paper_features": "synthetic_long/hard_features_paper",
                     "paper": "synthetic_long/hard_features_paper"}
    with pytest.raises(ValueError, match="unknown data 'harder'"):
        paper_tables.row_config("synthetic_spotting", "full", "", data="harder")


def test_a_table_a_dataset_does_not_have_is_refused():
    with pytest.raises(ValueError, match="--table=paper002: synthetic has the tables paper001"):
        paper_tables.run("synthetic", "/tmp/never", table="paper002")


@pytest.mark.slow
def test_paper_002s_choices_table_scores_each_seeds_network_through_both_decoders(tmp_path):
    workdir = tmp_path / "choices"
    command = [sys.executable, "-m", "meint_jax.paper_tables", "--dataset=synthetic_spotting", "--size=tiny",
               "--table=paper002", "--rows=ours", "--seeds=2", f"--workdir={workdir}", f"--data_dir={tmp_path}"]
    # The first row alone: the decoders score its networks; the other rows' settings have tests of their own.
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (workdir / "table.md").read_text()
    runs = [json.load(open(workdir / "ours" / f"seed_{k}" / "metrics.json")) for k in range(2)]
    assert [r["model"]["decoders"]["micro"]["rule"] for r in runs] == ["ours", "ours"]
    assert [r["model_decoder_paper"]["decoders"]["micro"]["rule"] for r in runs] == ["paper", "paper"]
    assert not runs[0]["model_decoder_paper_peak"]["decoders"]["micro"]["strategy"]
    for predictor, label in (("model", "ours (the defaults)"),
                             ("model_decoder_paper", "ours' network, paper 002's interval selection")):
        line = next(line for line in table.splitlines() if line.startswith(f"| {label} |"))
        assert paper_tables.over_seeds([r[predictor]["micro"]["f1"] for r in runs]) in line
    assert "Paired over seeds" in table and "motion detector" in table
