"""The paper-tables command end to end in CI size, and its table against the runs' own metrics."""

import json
import os
import subprocess
import sys

import pytest

from meint_jax import paper_tables
from tests import REPO


@pytest.mark.slow
def test_tiny_paper_tables_run_every_row_and_report_their_metrics(tiny_builder, tmp_path):
    data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    workdir = tmp_path / "tables"
    command = [sys.executable, "-m", "meint_jax.paper_tables", "--dataset=synthetic", "--size=tiny",
               f"--workdir={workdir}", f"--data_dir={data_dir}", "--num_steps=3"]
    # The eight rows share most of their computations: the suite's compilation cache (conftest.py, handed on
    # through the environment) compiles each one once; what the rows compute does not depend on it.
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (workdir / "table.md").read_text()
    assert table.strip() in result.stdout
    lines = table.splitlines()
    for name, variant, shape, label, _ in paper_tables.ROWS:
        metrics = json.load(open(workdir / name / "metrics.json"))
        assert metrics["variant"] == variant and metrics["pseudo_label"] == shape and metrics["train_steps"] == 3
        row = next(line for line in lines if line.startswith(f"| {label} |"))
        model = metrics["trimmed"]["model"]
        assert f"{model['spearman']:.4f} / {model['kendall']:.4f}" in row
        if name in paper_tables.PAPER:
            assert f"{paper_tables.PAPER[name]['casme2'][0]:.4f}" in row
    prior = json.load(open(workdir / "full" / "metrics.json"))["untrimmed"]["position_prior"]
    row = next(line for line in lines if line.startswith("| position prior (no pixels) |"))
    assert f"{prior['spearman']:.4f} / {prior['kendall']:.4f}" in row

    # A second call finds every row done and trains nothing.
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "is done" in again.stderr and "train:" not in again.stderr
    assert (workdir / "table.md").read_text() == table


def test_unknown_row_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown rows"):
        paper_tables.run("synthetic", str(tmp_path), rows=["best"])


def _spotting_run(me_f1: float) -> dict:
    kinds = {k: {"f1": me_f1 if k == "micro" else 0.5} for k in ("micro", "macro", "overall")}
    recognition = {"recognition": {k: {"strs": 0.1} for k in ("micro", "overall")}}
    return {"model": {**kinds, **recognition}, "motion": kinds, "chance": kinds}


def test_a_table_over_seeds_gives_mean_and_sd_and_pairs_each_row_with_the_first_by_seed():
    ours = [0.40, 0.50, 0.45, 0.55, 0.60]
    theirs = [0.30, 0.35, 0.44, 0.50, 0.41]       # lower on every seed
    results = {"ours": [_spotting_run(v) for v in ours], "decoder_paper": [_spotting_run(v) for v in theirs]}
    table = paper_tables.make_choices_table("synthetic_spotting", results)
    ours_line = next(line for line in table.splitlines() if line.startswith("| ours (the defaults) |"))
    # mean 0.5, sample sd sqrt(0.025 / 4) = 0.0791
    assert "| 0.5000 ± 0.0791 |" in ours_line
    # Five differences all of one sign: the exact two-sided Wilcoxon p is 2 / 2^5 = 0.0625.
    assert "decoder_paper - ours: ME F1 -0.1000 (p = 0.062, 5 seeds)" in table
    one = paper_tables.make_choices_table("synthetic_spotting", {"ours": [_spotting_run(0.4)]})
    assert "| ours (the defaults) | 0.4000 |" in one and "Paired" not in one


def test_a_table_a_dataset_does_not_have_is_refused():
    with pytest.raises(ValueError, match="--table=paper002: synthetic has the tables paper001"):
        paper_tables.run("synthetic", "/tmp/never", table="paper002")


@pytest.mark.slow
def test_paper_002s_choices_table_runs_each_row_over_seeds_and_reports_them(tmp_path):
    workdir = tmp_path / "choices"
    command = [sys.executable, "-m", "meint_jax.paper_tables", "--dataset=synthetic_spotting", "--size=tiny",
               "--table=paper002", "--rows=ours,decoder_paper", "--seeds=2", f"--workdir={workdir}",
               f"--data_dir={tmp_path}"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (workdir / "table.md").read_text()
    f1 = {row: [json.load(open(workdir / row / f"seed_{k}" / "metrics.json"))["model"]["micro"]["f1"]
                for k in range(2)] for row in ("ours", "decoder_paper")}
    for row, label in (("ours", "ours (the defaults)"), ("decoder_paper", "paper 002's interval selection")):
        line = next(line for line in table.splitlines() if line.startswith(f"| {label} |"))
        assert paper_tables.over_seeds(f1[row]) in line
    seeds = {json.load(open(workdir / "ours" / f"seed_{k}" / "metrics.json"))["decoders"]["micro"]["rule"]
             for k in range(2)}
    assert seeds == {"ours"}
    paper = json.load(open(workdir / "decoder_paper" / "seed_1" / "metrics.json"))
    assert paper["decoders"]["micro"]["rule"] == "paper" and "Paired over seeds" in table
