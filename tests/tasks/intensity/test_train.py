"""End to end on the tiny synthetic dataset, resume, and the errors a user sees."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs.intensity import synthetic as synthetic_config
from meint_jax import tasks
from meint_jax.tasks.intensity import steps as intensity_steps
from meint_jax.training import fit
from meint_jax.training import state as steps
from tests import REPO


def tiny_config(data_dir, **train_overrides):
    config = synthetic_config.get_config("size=tiny")
    config.data.data_dir = data_dir
    config.train.update(train_overrides)
    return config


@pytest.mark.slow
def test_train_and_evaluate_writes_metrics_plot_checkpoints_and_resumes(tiny_builder, tmp_path):
    data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    workdir = str(tmp_path / "run")
    summary = tasks.train_and_evaluate(tiny_config(data_dir), workdir)

    on_disk = json.load(open(os.path.join(workdir, "metrics.json")))
    assert on_disk == json.loads(json.dumps(summary))
    assert summary["train_steps"] == 6 and len(summary["test_subjects"]) == 1
    assert summary["compilations"] == {"train_step": 1, "predict_step": 1}   # no recompiles, none at eval
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
    assert "Spearman/Kendall" in open(os.path.join(workdir, "train.log")).read()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(os.path.join(workdir, "tensorboard"))
    events.Reload()
    tags = events.Tags()["tensors"]
    assert {"train/loss", "train/grad_norm", "test/untrimmed/model/spearman"} <= set(tags)
    assert [e.step for e in events.Tensors("train/loss")] == [2, 4, 6]

    # A second call with more steps resumes from step 6 instead of starting over.
    summary = tasks.train_and_evaluate(tiny_config(data_dir, num_steps=8), workdir)
    assert summary["train_steps"] == 8
    logged = [json.loads(line)["step"] for line in open(os.path.join(workdir, "train_log.jsonl"))]
    assert logged == [2, 4, 6, 8]


def _final_state(workdir):
    import ml_collections

    from meint_jax.training import checkpoint

    config = ml_collections.ConfigDict(json.load(open(os.path.join(workdir, "config.json"))))
    model, tx = tasks.create_model(config), steps.create_optimizer(config.train)
    shape = (1, config.data.num_steps, config.data.image_size, config.data.image_size, 3)
    ckpt = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"))
    state, _ = ckpt.restore(steps.init_state(model, tx, shape, 0))
    ckpt.close()
    return state


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_to_the_same_parameters(tiny_builder, tmp_path):
    import signal
    import time

    data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    args = [TINY, f"--config.data.data_dir={data_dir}", "--config.train.num_steps=8",
            "--config.train.checkpoint_every=2", "--config.eval.untrimmed_windows=1"]
    command = [sys.executable, "-m", "meint_jax.main", *args]
    whole, killed = str(tmp_path / "whole"), str(tmp_path / "killed")

    process = subprocess.Popen([*command, f"--workdir={killed}"], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    first = os.path.join(killed, "checkpoints", "2")
    deadline = time.time() + 240
    while not os.path.isdir(first) and process.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = sorted(int(n) for n in os.listdir(os.path.join(killed, "checkpoints")) if n.isdigit())
    assert saved and saved[-1] < 8, f"the run was not interrupted mid-way: {saved}"
    assert not os.path.exists(os.path.join(killed, "metrics.json"))

    for workdir in (killed, whole):
        subprocess.run([*command, f"--workdir={workdir}"], cwd=REPO, check=True, capture_output=True, timeout=300)
    resumed, uninterrupted = _final_state(killed), _final_state(whole)
    assert int(resumed.step) == int(uninterrupted.step) == 8
    jax.tree_util.tree_map(np.testing.assert_array_equal, resumed.params, uninterrupted.params)
    jax.tree_util.tree_map(np.testing.assert_array_equal, resumed.batch_stats, uninterrupted.batch_stats)
    # Same config and seed, same machine: the same metrics.
    a, b = (json.load(open(os.path.join(w, "metrics.json"))) for w in (killed, whole))
    for protocol in ("trimmed", "untrimmed"):
        assert a[protocol] == b[protocol]


@pytest.mark.slow
def test_non_finite_loss_stops_naming_step_clips_and_last_checkpoint(tiny_builder, tmp_path, monkeypatch):
    from meint_jax.data.clips import pipeline as input_pipeline

    real = input_pipeline.train_batches
    seen = []

    def poisoned(*args, **kwargs):
        for i, batch in enumerate(real(*args, **kwargs)):
            if i == 3:   # the 4th batch: step 4
                batch["targets"] = np.full_like(batch["targets"], np.nan)
                seen.extend(c.decode() for c in batch["clip_id"])
            yield batch

    monkeypatch.setattr(input_pipeline, "train_batches", poisoned)
    data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    workdir = str(tmp_path / "run")
    with pytest.raises(fit.TrainingDiverged) as error:
        tasks.train_and_evaluate(tiny_config(data_dir, num_steps=6, checkpoint_every=3), workdir)
    message = str(error.value)
    assert "at step 4" in message and ", ".join(seen) in message
    assert os.path.join(workdir, "checkpoints", "3") in message
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["3"]
    assert not os.path.exists(os.path.join(workdir, "metrics.json"))
    assert message in open(os.path.join(workdir, "train.log")).read()


@pytest.mark.slow
def test_sharded_step_equals_unsharded_on_eight_devices():
    script = """
import jax, jax.numpy as jnp, numpy as np, optax
from configs.intensity import synthetic
from meint_jax.common import xla_options
from meint_jax.training import sharding, state as steps
from meint_jax import tasks
from meint_jax.tasks.intensity import steps as intensity_steps
assert jax.device_count() == 8
config = synthetic.get_config("size=tiny")
config.model.gru_features = 8
# Plain SGD: Adam's first step is g/|g|, which turns float noise in near-zero gradients into +-lr.
model, tx = tasks.create_model(config), optax.sgd(0.1)
rng = np.random.default_rng(0)
batch = {"frames": rng.integers(0, 255, (8, 4, 32, 32, 3), dtype=np.uint8),
         "targets": rng.uniform(0, 1, (8, 4)).astype(np.float32)}
state = steps.init_state(model, tx, batch["frames"].shape, seed=0)
step = lambda s, b: intensity_steps.train_step(s, b, model=model, tx=tx, loss_config=config.loss)
# Compiled as training compiles it (XLA's convolutions on CPU): jaxlib's default YNNPACK kernels give the
# single-device weight gradients 1-16% of the update away from XLA's and from the sharded step's.
options = xla_options.step_options(config.train.cpu_convolutions, step="train")
one = jax.devices()[0]
single, m1 = jax.jit(step, compiler_options=options)(jax.device_put(state, one), jax.device_put(batch, one))
mesh = sharding.data_mesh()
sharded_batch = sharding.shard_batch(batch, mesh)
assert len(sharded_batch["frames"].addressable_shards) == 8
assert sharded_batch["frames"].addressable_shards[0].data.shape[0] == 1
repl = sharding.replicated(mesh)
many, m8 = jax.jit(step, out_shardings=(repl, repl), compiler_options=options)(
    sharding.replicate(state, mesh), sharded_batch)
for a, b in zip(jax.tree_util.tree_leaves((single, m1)), jax.tree_util.tree_leaves((many, m8))):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)
changed = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
              for a, b in zip(jax.tree_util.tree_leaves(single.params), jax.tree_util.tree_leaves(state.params)))
assert changed > 1e-4, changed
print("ok")
"""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


@pytest.mark.slow
def test_train_step_fits_a_fixed_batch():
    """The step actually descends the loss: a few steps overfit one batch."""
    config = synthetic_config.get_config("size=tiny")
    config.model.gru_features = 8
    config.train.update(learning_rate=1e-3, warmup_steps=0, schedule="constant")
    model = tasks.create_model(config)
    tx = steps.create_optimizer(config.train)
    rng = np.random.default_rng(0)
    batch = {"frames": rng.integers(0, 255, (2, 4, 32, 32, 3), dtype=np.uint8),
             "targets": np.array([[0, 1, 0.5, 0], [0, 0.3, 1, 0]], np.float32)}
    state = steps.init_state(model, tx, batch["frames"].shape, seed=0)
    step = jax.jit(lambda s, b: intensity_steps.train_step(s, b, model=model, tx=tx, loss_config=config.loss))
    losses = []
    for _ in range(25):
        state, m = step(state, batch)
        losses.append(float(m["mse"]))
    assert int(state.step) == 25
    assert losses[-1] < 0.2 * losses[0]


def run_main(*args):
    return subprocess.run([sys.executable, "-m", "meint_jax.main", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


TINY = "--config=configs/intensity/synthetic.py:size=tiny"


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    ([TINY, "--config.data.train_window=sideways"], "config.data.train_window='sideways'"),
    ([TINY, "--config.train.learning_rate=-1.0"], "config.train.learning_rate=-1.0"),
    ([TINY, "--config.train.learning_rate=fast"], "could not convert string to float: 'fast'"),
    ([TINY, "--config.data.data_dir=/nonexistent/tfds"], "config.data.data_dir='/nonexistent/tfds' does not exist"),
    ([TINY, "--config.data.name=casme9"], "config.data.name='casme9'"),
    ([TINY, "--config.train.epochs=3"], "names a field the config does not have"),
    ([TINY, "--config.model.init_from=/nonexistent/resnet18.pth"],
     "config.model.init_from='/nonexistent/resnet18.pth' does not exist"),
    (["--config=configs/intensity/synthetic.py:variant=best"], "unknown variant 'best'"),
    (["--config=configs/nothere.py"], "No such file or directory: 'configs/nothere.py'"),
    ([TINY, "--config.eval.protocol=kfold"], "config.eval.protocol='kfold'"),
    ([TINY, "--config.eval.select=best"], "needs config.eval.validation_subjects > 0"),
    ([TINY, "--config.train.batch_size=0"], "config.train.batch_size=0"),
])
def test_bad_settings_give_one_line_errors(tmp_path, args, message):
    result = run_main(f"--workdir={tmp_path / 'w'}", *args)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("meint_jax.main: error: ") and message in last, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_unwritable_workdir_is_reported(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    result = run_main("--config=configs/intensity/synthetic.py:size=tiny", f"--workdir={blocker / 'run'}")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("meint_jax.main: error: --workdir ") and "not writable" in last
    assert "Traceback" not in result.stderr
