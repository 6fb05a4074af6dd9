"""End to end on the tiny synthetic dataset, resume, and the errors a user sees."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import synthetic as synthetic_config
from meint_jax import train
from meint_jax.models import create_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(data_dir, **train_overrides):
    config = synthetic_config.get_config("size=tiny")
    config.data.data_dir = data_dir
    config.train.update(train_overrides)
    return config


@pytest.mark.slow
def test_train_and_evaluate_writes_metrics_plot_checkpoints_and_resumes(tiny_builder, tmp_path):
    data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    workdir = str(tmp_path / "run")
    summary = train.train_and_evaluate(tiny_config(data_dir), workdir)

    on_disk = json.load(open(os.path.join(workdir, "metrics.json")))
    assert on_disk == json.loads(json.dumps(summary))
    assert summary["train_steps"] == 6 and len(summary["test_subjects"]) == 1
    assert not set(summary["train_subjects"]) & set(summary["test_subjects"])
    for protocol in ("trimmed", "untrimmed"):
        for predictor in ("model", "position_prior"):
            r = summary[protocol][predictor]
            assert -1.0 <= r["spearman"] <= 1.0 and -1.0 <= r["kendall"] <= 1.0
            assert {"true_spearman", "true_kendall", "true_mae", "apex_error_frames"} <= set(r)
            assert r["num_clips"] == 3
    assert summary["untrimmed"]["model"]["num_windows"] == 6  # 3 clips x 2 windows
    assert os.path.getsize(os.path.join(workdir, "curves.png")) > 10_000
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["3", "6"]

    # A second call with more steps resumes from step 6 instead of starting over.
    summary = train.train_and_evaluate(tiny_config(data_dir, num_steps=8), workdir)
    assert summary["train_steps"] == 8
    logged = [json.loads(line)["step"] for line in open(os.path.join(workdir, "train_log.jsonl"))]
    assert logged == [2, 4, 6, 8]


def test_train_step_fits_a_fixed_batch():
    """The step actually descends the loss: a few steps overfit one batch."""
    config = synthetic_config.get_config("size=tiny")
    config.model.gru_features = 8
    config.train.update(learning_rate=1e-3, warmup_steps=0, schedule="constant")
    model = create_model(config.model)
    tx = train.create_optimizer(config.train)
    rng = np.random.default_rng(0)
    batch = {"frames": rng.integers(0, 255, (2, 4, 32, 32, 3), dtype=np.uint8),
             "targets": np.array([[0, 1, 0.5, 0], [0, 0.3, 1, 0]], np.float32)}
    state = train.init_state(model, tx, batch["frames"].shape, seed=0)
    step = jax.jit(lambda s, b: train.train_step(s, b, model=model, tx=tx, loss_config=config.loss))
    losses = []
    for _ in range(25):
        state, m = step(state, batch)
        losses.append(float(m["mse"]))
    assert int(state.step) == 25
    assert losses[-1] < 0.2 * losses[0]


def run_main(*args):
    return subprocess.run([sys.executable, "-m", "meint_jax.main", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


TINY = "--config=configs/synthetic.py:size=tiny"


@pytest.mark.parametrize("args, message", [
    ([TINY, "--config.data.train_window=sideways"], "config.data.train_window='sideways'"),
    ([TINY, "--config.train.learning_rate=-1.0"], "config.train.learning_rate=-1.0"),
    ([TINY, "--config.train.learning_rate=fast"], "could not convert string to float: 'fast'"),
    ([TINY, "--config.data.data_dir=/nonexistent/tfds"], "config.data.data_dir='/nonexistent/tfds' does not exist"),
    ([TINY, "--config.data.name=casme9"], "config.data.name='casme9'"),
    ([TINY, "--config.train.epochs=3"], "names a field the config does not have"),
    ([TINY, "--config.model.init_from=/nonexistent/resnet18.pth"],
     "config.model.init_from='/nonexistent/resnet18.pth' does not exist"),
    (["--config=configs/synthetic.py:variant=best"], "unknown variant 'best'"),
    (["--config=configs/nothere.py"], "No such file or directory: 'configs/nothere.py'"),
])
def test_bad_settings_give_one_line_errors(tmp_path, args, message):
    result = run_main(f"--workdir={tmp_path / 'w'}", *args)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("meint_jax: error: ") and message in last, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_unwritable_workdir_is_reported(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    result = run_main("--config=configs/synthetic.py:size=tiny", f"--workdir={blocker / 'run'}")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("meint_jax: error: workdir ") and "not writable" in last
    assert "Traceback" not in result.stderr
