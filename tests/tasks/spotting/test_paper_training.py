"""Paper 002's training choices under `variant=paper`, each against an independent reference: torch's
OneCycleLR and Adam, scikit-learn's balanced class weights, torch's cross-entropy on one-hot targets, their
window grid and ratio, their test-time window merge (a transcription of their loop), and a tiny run."""

import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from configs.spotting import base as spotting_configs
from configs.spotting import synthetic as synthetic_spotting
from meint_jax.common.errors import ConfigError
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.data.long.pipeline import LongWindowSpec, StoredVideo
from meint_jax.data.long.videos import Interval, LongVideo
from meint_jax.tasks.spotting import train as spotting_run
from meint_jax.tasks.spotting import window_merge
from meint_jax.training import config_checks, losses
from meint_jax.training import state as state_lib


def stored(num_frames, intervals=(), name="a"):
    video = LongVideo(video_id=f"s01/{name}", subject="s01", frame_numbers=np.arange(1, num_frames + 1), fps=30.0,
                      intervals=tuple(intervals))
    return StoredVideo(video, np.random.default_rng(0).normal(size=(num_frames, 36)).astype(np.float32))


def micro(onset, offset, emotion="negative"):
    return Interval(onset, onset, offset, "micro", emotion)


def onecycle_config(num_steps, warmup_steps, learning_rate=3e-4):
    return ml_collections.ConfigDict(dict(schedule="onecycle", num_steps=num_steps, warmup_steps=warmup_steps,
                                          learning_rate=learning_rate))


# ------------------------------------------------------------------------------------------------- schedule

@pytest.mark.parametrize("num_steps, warmup_steps", [(10, 3), (20, 6), (7, 2)])
def test_the_onecycle_schedule_gives_torchs_onecycle_learning_rates_and_adam_betas(num_steps, warmup_steps):
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([parameter], lr=3e-4)
    # As paper 002 builds it (max_lr, epochs x steps_per_epoch), with pct_start = our rising steps / all steps.
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-4, epochs=1, steps_per_epoch=num_steps,
                                                    pct_start=warmup_steps / num_steps)
    rates, betas = [], []
    for _ in range(num_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        betas.append(optimizer.param_groups[0]["betas"][0])
        optimizer.step()
        scheduler.step()
    lr = 3e-4
    ours = state_lib.onecycle(num_steps, warmup_steps, lr / 25, lr, lr / 25 / 1e4)(jnp.arange(num_steps))
    momentum = state_lib.onecycle(num_steps, warmup_steps, 0.95, 0.85, 0.95)(jnp.arange(num_steps))
    np.testing.assert_allclose(np.asarray(ours), rates, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(momentum), betas, atol=1e-6)
    assert rates[0] == pytest.approx(lr / 25) and max(rates) == pytest.approx(lr)


def test_the_onecycle_optimizer_moves_parameters_as_torchs_adam_under_onecycle():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    start = rng.normal(size=3).astype(np.float32)
    num_steps, warmup_steps, lr = 12, 4, 0.05
    weights = torch.nn.Parameter(torch.from_numpy(start.copy()))
    optimizer = torch.optim.Adam([weights], lr=lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=num_steps,
                                                    pct_start=warmup_steps / num_steps)
    tx = state_lib.create_optimizer(onecycle_config(num_steps, warmup_steps, lr))
    params = jnp.asarray(start)
    opt_state = tx.init(params)
    loss_fn = lambda w: jnp.sum((jnp.asarray(a) @ w - jnp.asarray(b)) ** 2)
    for _ in range(num_steps):
        optimizer.zero_grad()
        torch.sum((torch.from_numpy(a) @ weights - torch.from_numpy(b)) ** 2).backward()
        optimizer.step()
        scheduler.step()
        updates, opt_state = tx.update(jax.grad(loss_fn)(params), opt_state, params)
        params = optax.apply_updates(params, updates)
    moved = weights.detach().numpy() - start
    assert np.abs(moved).max() > 1e-2
    np.testing.assert_allclose(np.asarray(params) - start, moved, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------------------------------- loss

def test_paper_class_weights_are_scikit_learns_balanced_weights_with_neutral_six_times_by_hand():
    class_weight = pytest.importorskip("sklearn.utils.class_weight")
    # 20 frames: 3 negative, 2 positive, 2 surprise, 1 others, 12 neutral (class 4); -1 is no class.
    labels = np.array([4] * 12 + [0] * 3 + [1] * 2 + [2] * 2 + [3] + [-1, -1])
    ours = losses.paper_class_weights(labels, 5)
    # n / (classes x count): 20 / 15, 20 / 10, 20 / 10, 20 / 5, and neutral's 20 / 60 x 6.
    np.testing.assert_allclose(ours, [4 / 3, 2.0, 2.0, 4.0, 2.0])
    theirs = class_weight.compute_class_weight("balanced", classes=np.arange(5), y=labels[labels >= 0])
    theirs[-1] *= 6
    np.testing.assert_allclose(ours, theirs)
    # A class without a frame (where scikit-learn refuses) weighs 1: no frame carries it.
    np.testing.assert_allclose(losses.paper_class_weights([0, 0, 2, 2], 3), [4 / 6, 1.0, 4 / 6 * 6])


def test_a_folds_paper_weights_count_the_frames_of_its_grid_windows_by_hand():
    # 40 frames, windows of 10 every 5: starts 0-30; a negative micro on frames 13-15 (indices 12-14) is in the
    # windows at 5 and 10, 3 frames each. me_fraction 0.5: as many windows without, 4 windows, 40 frames.
    config = spotting_configs.get_config()
    config.data.update(window=10, me_fraction=0.5, emotion_classes=("negative", "positive", "surprise", "others"))
    weights = spotting_run.paper_class_weights([stored(40, [micro(13, 15)])], config)
    np.testing.assert_allclose(weights, [40 / (5 * 6), 1.0, 1.0, 1.0, 40 / (5 * 34) * 6], rtol=1e-5)


def test_the_mean_reduction_is_torchs_cross_entropy_on_one_hot_targets_as_paper_002_calls_it():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 9, 5)).astype(np.float32)
    labels = rng.integers(0, 5, size=(2, 9)).astype(np.int32)
    weights = (1.3, 2.0, 0.7, 4.0, 2.5)
    ours = losses.emotion_cross_entropy(jnp.asarray(logits), jnp.asarray(labels), jnp.ones((2, 9)), weights, "mean")
    one_hot = torch.nn.functional.one_hot(torch.from_numpy(labels.reshape(-1)).long(), 5).float()
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights))(torch.from_numpy(logits.reshape(-1, 5)),
                                                                     one_hot)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
    weighted = losses.emotion_cross_entropy(jnp.asarray(logits), jnp.asarray(labels), jnp.ones((2, 9)), weights)
    assert float(weighted) != pytest.approx(float(theirs), rel=1e-3)        # the two averages differ
    with pytest.raises(ValueError, match="reduction"):
        losses.emotion_cross_entropy(jnp.asarray(logits), jnp.asarray(labels), jnp.ones((2, 9)), weights, "sum")


def test_macro_expression_frames_are_neutral_under_paper_labels_and_keep_their_class_otherwise():
    intervals = [micro(3, 4, "surprise"), Interval(8, 9, 10, "macro", "positive")]
    positions = np.array([2, 3, 4, 8, 10, 11])
    classes = ("negative", "positive", "surprise")
    own = long_pipeline.frame_emotions(positions, intervals, classes)
    neutral = long_pipeline.frame_emotions(positions, intervals, classes, macro_frames="neutral")
    np.testing.assert_array_equal(own, [3, 2, 2, 1, 1, 3])
    np.testing.assert_array_equal(neutral, [3, 2, 2, 3, 3, 3])


# ------------------------------------------------------------------------------------------------- windows

def grid_video():
    # 100 frames, windows of 10 every 5: 100 // 5 - 1 = 19 windows at 0-90. Micros on indices 40-44 and 70-71:
    # the windows at 35, 40, 65 and 70 hold one.
    return stored(100, [micro(41, 45), micro(71, 72)])


def test_the_grid_sampler_takes_every_me_window_of_their_grid_and_their_ratio_without():
    spec = LongWindowSpec(length=10, me_fraction=1 / 3, grid="paper")        # their ratio 2
    sampler = long_pipeline.GridSampler([grid_video()], spec, seed=4)
    starts = sampler.windows[:, 1].tolist()
    assert sampler.me_windows == 4 and {35, 40, 65, 70} <= set(starts)
    assert len(starts) == 4 + 8 and set(starts) <= set(range(0, 91, 5))
    assert set(long_pipeline.paper_grid_starts(100, spec).tolist()) == set(range(0, 91, 5))
    # Every 2nd frame: 50 rows, windows at 0-40.
    stepped = LongWindowSpec(length=10, frame_step=2)
    assert long_pipeline.paper_grid_starts(100, stepped).tolist() == list(range(0, 41, 5))
    # An epoch of batches holds each window once, in a fresh order each epoch; batch `step` is a pure function.
    epoch = [w for step in range(3) for w in sampler.batch(step, 4)]
    again = [w for step in range(3, 6) for w in sampler.batch(step, 4)]
    assert sorted(epoch) == sorted(again) == sorted(map(tuple, sampler.windows.tolist())) and epoch != again
    assert long_pipeline.GridSampler([grid_video()], spec, seed=4).batch(4, 4) == sampler.batch(4, 4)
    # Too few windows without an ME for ratio 4 (16 of 15): all but two, as their downSampling does.
    four = long_pipeline.GridSampler([grid_video()], LongWindowSpec(length=10, me_fraction=0.2, grid="paper"))
    assert len(four.windows) == 4 + 13
    everything = long_pipeline.GridSampler([grid_video()], LongWindowSpec(length=10, me_fraction=-1, grid="paper"))
    assert len(everything.windows) == 19


def test_training_batches_on_the_paper_grid_come_from_its_windows_only():
    spec = LongWindowSpec(length=10, me_fraction=0.5, grid="paper")
    chosen = set(map(tuple, long_pipeline.GridSampler([grid_video()], spec, seed=2).windows.tolist()))
    batches = long_pipeline.train_batches([grid_video()], spec, batch_size=4, seed=2)
    starts = [(0, int(s)) for _ in range(4) for s in next(batches)["start"]]
    assert set(starts) <= chosen and len(chosen) == 8


def their_merge(scores, k):
    """Paper 002's test loop for one video whose windows all fit one batch: window 0 whole, then each later
    window's second half (train.py's `result_video`)."""
    result = np.zeros((len(scores) + 1) * k // 2)
    for i, window in enumerate(scores):
        if i == 0:
            result[i * k // 2:(i + 2) * k // 2] = window
        else:
            result[(i + 1) * k // 2:(i + 2) * k // 2] = window[k // 2:]
    return result


def test_the_first_window_merge_is_their_loop_and_the_mean_averages_by_hand():
    scores = np.array([[1, 2, 3, 4], [10, 20, 30, 40], [100, 200, 300, 400]], float)[..., None]
    masks = np.ones((3, 4))
    first = window_merge.merge([0, 2, 4], scores, masks, 8, "first")[:, 0]
    np.testing.assert_array_equal(first, [1, 2, 3, 4, 30, 40, 300, 400])
    np.testing.assert_array_equal(first, their_merge(scores[..., 0], 4))
    mean = window_merge.merge([0, 2, 4], scores, masks, 8, "mean")[:, 0]
    np.testing.assert_array_equal(mean, [1, 2, 6.5, 12, 65, 120, 300, 400])
    # Windows in any order, a padded frame, and a last window shifted to end at the video's end (ours).
    masks[2, 3] = 0
    shuffled = window_merge.merge([4, 0, 2], scores[[2, 0, 1]], masks[[2, 0, 1]], 8, "first")[:, 0]
    np.testing.assert_array_equal(shuffled, [1, 2, 3, 4, 30, 40, 300, 0])
    random = np.random.default_rng(0).normal(size=(7, 6))
    np.testing.assert_array_equal(window_merge.merge(np.arange(7) * 3, random[..., None], np.ones((7, 6)), 24,
                                                     "first")[:, 0], their_merge(random, 6))
    with pytest.raises(ValueError, match="window merge"):
        window_merge.merge([0], scores[:1], masks[:1], 4, "median")


# ------------------------------------------------------------------------------------------------- configs

def test_each_choice_is_ours_by_default_and_theirs_under_variant_paper():
    ours, theirs = synthetic_spotting.get_config(), synthetic_spotting.get_config("variant=paper")
    fields = ("train.schedule", "loss.class_weights", "loss.emotion_reduction", "data.macro_frames",
              "data.window_grid", "eval.window_merge")
    get = lambda config, key: config[key.split(".")[0]][key.split(".")[1]]
    assert [get(ours, k) for k in fields] == ["cosine", "ours", "weighted_mean", "own", "any", "mean"]
    assert [get(theirs, k) for k in fields] == ["onecycle", "paper", "mean", "neutral", "paper", "first"]
    assert theirs.train.warmup_steps == round(0.3 * theirs.train.num_steps)
    config_checks.check_spotting_config(theirs)
    assert config_checks.WINDOW_MERGES == tuple(window_merge.MERGES)


@pytest.mark.parametrize("key, value", [("train.schedule", "one_cycle"), ("loss.class_weights", "sklearn"),
                                        ("loss.emotion_reduction", "sum"), ("data.macro_frames", "ignored"),
                                        ("data.window_grid", "half"), ("eval.window_merge", "max")])
def test_an_unknown_choice_is_refused_in_one_line_naming_its_field(key, value):
    config = synthetic_spotting.get_config()
    section, name = key.split(".")
    config[section][name] = value
    with pytest.raises(ConfigError, match=f"config.{key}=") as error:
        config_checks.check_spotting_config(config)
    assert "\n" not in str(error.value)


def test_onecycle_without_a_rising_phase_is_refused():
    config = synthetic_spotting.get_config()
    config.train.update(schedule="onecycle", warmup_steps=0)
    with pytest.raises(ConfigError, match="onecycle"):
        config_checks.check_spotting_config(config)


@pytest.mark.slow
def test_a_tiny_paper_variant_run_trains_on_their_grid_with_their_weights(long_data_dir, tmp_path):
    from meint_jax import tasks

    config = synthetic_spotting.get_config("variant=paper,size=tiny")
    config.data.data_dir = long_data_dir
    config.model.update(stages=1, lateral_after=())       # the smallest slow-fast network: a run of seconds
    config.eval.update(chance_runs=1, timelines=0)
    workdir = str(tmp_path / "run")
    saved = tasks.train_and_evaluate(config, workdir)
    metrics = json.load(open(os.path.join(workdir, "metrics.json")))
    assert metrics["variant"] == "paper" and metrics["train_steps"] == 6 and metrics["validation_subjects"] == []
    assert 0.0 <= saved["model"]["micro"]["f1"] <= 1.0
    # The weights it trained with are their balanced weights over the frames of its grid windows.
    import tensorflow_datasets as tfds

    videos = long_pipeline.load_videos(tfds.builder("synthetic_long/tiny", data_dir=long_data_dir))
    config.data.emotion_classes = tuple(metrics["classes"])
    expected = spotting_run.paper_class_weights(long_pipeline.of_subjects(videos, metrics["train_subjects"]), config)
    assert metrics["emotion_weights"] == pytest.approx(list(expected)) and len(expected) == len(metrics["classes"]) + 1
