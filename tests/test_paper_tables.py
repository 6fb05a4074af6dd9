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
    for name, variant, shape, label in paper_tables.ROWS:
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
