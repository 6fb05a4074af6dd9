"""Paper 002's training choices as options: Mamba's and paper 002's initialisations against their closed forms,
drop-path's scaling, and `variant=paper` on every long-video spotting config down to one finite training step."""

import importlib
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from meint_jax.models import factory, slow_fast, ssm

LONG_VIDEO_CONFIGS = ("casme3", "samm_lv", "casme_sq", "smic_e")


def block_params(init, d_model=40, d_state=4):
    block = ssm.MambaBlock(d_model=d_model, d_state=d_state, weight_init=init)
    return jax.tree.map(np.asarray, jax.jit(block.init)(jax.random.PRNGKey(0), jnp.zeros((1, 8, d_model)))["params"])


def test_the_step_bias_is_the_inverse_softplus_of_a_log_uniform_draw_over_dt_min_to_dt_max():
    key, shape, dt_min, dt_max = jax.random.PRNGKey(7), (100_000,), 1e-3, 1e-1
    bias = ssm.dt_bias_init(dt_min, dt_max, floor=1e-4)(key, shape)
    step = np.asarray(jax.nn.softplus(bias), np.float64)
    u = np.asarray(jax.random.uniform(key, shape), np.float64)           # the same draw, in closed form
    np.testing.assert_allclose(step, np.exp(np.log(dt_min) + u * (np.log(dt_max) - np.log(dt_min))), rtol=2e-4)
    assert step.min() >= dt_min * (1 - 1e-4) and step.max() <= dt_max * (1 + 1e-4)
    for t in (2e-3, 1e-2, 5e-2):        # log-uniform: P(step <= t) = log(t / dt_min) / log(dt_max / dt_min)
        assert abs(np.mean(step <= t) - math.log(t / dt_min) / math.log(dt_max / dt_min)) < 0.01


def test_mamba_ssms_floor_lifts_steps_below_it():
    step = np.asarray(jax.nn.softplus(ssm.dt_bias_init(1e-6, 1e-1, floor=1e-4)(jax.random.PRNGKey(1), (10_000,))))
    assert step.min() == pytest.approx(1e-4, rel=1e-3)
    assert np.mean(np.isclose(step, 1e-4, rtol=1e-3)) == pytest.approx(0.4, abs=0.02)   # log(1e2) / log(1e5)


def test_the_mamba_init_draws_the_step_projection_within_its_rank_bound_and_the_bias_within_dt_range():
    params = block_params("mamba", d_model=40)             # dt_rank = ceil(40 / 16) = 3
    kernel, bias = params["dt_proj"]["kernel"], params["dt_proj"]["bias"]
    assert kernel.shape == (3, 80) and np.abs(kernel).max() <= 3 ** -0.5 and np.abs(kernel).max() > 0.9 * 3 ** -0.5
    step = np.asarray(jax.nn.softplus(bias))
    assert 1e-3 * 0.999 <= step.min() and step.max() <= 0.1 * 1.001
    for name, fan_in in (("in_proj", 40), ("x_proj", 80), ("out_proj", 80)):    # torch's default: 1/sqrt(fan_in)
        w = params[name]["kernel"]
        assert np.abs(w).max() <= fan_in ** -0.5 and np.abs(w).max() > 0.95 * fan_in ** -0.5
    assert np.abs(params["conv1d"]["kernel"]).max() <= 0.5 and np.abs(params["conv1d"]["bias"]).max() <= 0.5


def test_the_paper_init_starts_every_step_at_softplus_zero_and_the_projections_small():
    params = block_params("paper", d_model=64)
    np.testing.assert_array_equal(params["dt_proj"]["bias"], 0.0)          # softplus(0) = ln 2 for every channel
    for name in ("in_proj", "x_proj", "dt_proj"):
        assert np.std(params[name]["kernel"]) == pytest.approx(0.02, rel=0.15)
    out = params["out_proj"]["kernel"]                     # torch's default / sqrt(4): 1 / (2 sqrt(128))
    assert np.abs(out).max() <= 1 / (2 * math.sqrt(128)) and np.abs(out).max() > 0.95 / (2 * math.sqrt(128))
    np.testing.assert_array_equal(params["D"], 1.0)
    np.testing.assert_allclose(np.exp(params["A_log"][0]), np.arange(1, 5))


def test_every_init_has_the_same_parameter_tree():
    def shapes(init):
        block = ssm.MambaBlock(d_model=40, d_state=4, weight_init=init)
        return jax.tree.map(np.shape, jax.eval_shape(block.init, jax.random.PRNGKey(0), jnp.zeros((1, 8, 40))))

    assert shapes("ours") == shapes("mamba") == shapes("paper")
    with pytest.raises(ValueError, match="weight_init"):
        shapes("xavier")


def test_drop_path_rates_are_paper_002s_linspace_shifted_one_layer_later():
    assert slow_fast.drop_path_rates(0.2, 4) == pytest.approx((0.0, 0.0, 0.2 / 3, 0.4 / 3))
    assert slow_fast.drop_path_rates(0.2, 1) == (0.0,)
    assert slow_fast.drop_path_rates(0.0, 3) == (0.0, 0.0, 0.0)


def test_drop_path_scales_kept_branches_by_one_over_keep_in_training_and_is_the_identity_at_eval():
    branch = jnp.ones((2000, 3, 2))
    layer = slow_fast.StochasticDepth(rate=0.25)
    out = np.asarray(layer.apply({}, branch, deterministic=False, rngs={"dropout": jax.random.PRNGKey(0)}))
    per_example = out.reshape(2000, -1)
    assert np.all(per_example == per_example[:, :1])                      # one draw per example
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.75], rtol=1e-6)
    assert np.mean(per_example[:, 0] > 0) == pytest.approx(0.75, abs=0.03)
    np.testing.assert_array_equal(layer.apply({}, branch, deterministic=True), branch)


def test_a_mamba_layer_with_drop_path_adds_its_branch_scaled_or_nothing_in_training_and_all_of_it_at_eval():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(64, 6, 8)).astype(np.float32))
    plain, dropping = slow_fast.MambaLayer(d_state=4), slow_fast.MambaLayer(d_state=4, drop_path=0.5)
    variables = plain.init(jax.random.PRNGKey(0), x)
    branch = np.asarray(plain.apply(variables, x) - x)
    np.testing.assert_array_equal(dropping.apply(variables, x), plain.apply(variables, x))     # eval
    trained = np.asarray(dropping.apply(variables, x, train=True, rngs={"dropout": jax.random.PRNGKey(3)}) - x)
    kept = np.abs(trained).reshape(64, -1).max(axis=1) > 0
    assert 0 < kept.sum() < 64
    np.testing.assert_allclose(trained[kept], branch[kept] / 0.5, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(trained[~kept], 0.0)
    np.testing.assert_array_equal(plain.apply(variables, x, train=True), plain.apply(variables, x))   # no rng needed


def paper_config(module):
    return importlib.import_module(f"configs.spotting.{module}").get_config("variant=paper")


@pytest.mark.parametrize("module", LONG_VIDEO_CONFIGS)
def test_variant_paper_sets_every_training_choice_of_paper_002_on_each_long_video_config(module):
    from meint_jax.training import config_checks

    config, paper = paper_config(module), importlib.import_module(f"configs.spotting.{module}").PAPER
    config_checks.check_spotting_config(config)
    d, m, lo, t, e = config.data, config.model, config.loss, config.train, config.eval
    assert d.name == f"{module}/features_paper" and config.variant == "paper"
    assert (d.window, d.frame_step, d.me_fraction, t.batch_size) == (paper.window, paper.frame_step,
                                                                     paper.me_fraction, paper.batch_size)
    assert (d.target_shape, d.feature_scale, d.emotion_labels, d.others) == ("hard", 0.1, "three", "class")
    assert (m.weight_init, m.drop_path, m.temporal, m.inputs) == ("paper", 0.2, "slow_fast", "flow")
    assert m.emotion_head
    assert (lo.micro_weight, lo.macro_weight, lo.spotting_weight, lo.emotion_weight) == (1.0, 0.0, 0.9, 0.1)
    assert (t.learning_rate, t.schedule, t.num_steps) == (3e-4, "onecycle", paper.steps)
    assert t.warmup_steps == round(0.3 * paper.steps)
    assert (e.decoder, e.paper_samm, e.validation_subjects, e.protocol) == ("paper", False, 0, "loso")
    ours = importlib.import_module(f"configs.spotting.{module}").get_config()
    assert (ours.model.weight_init, ours.model.drop_path, ours.eval.decoder) == ("ours", 0.0, "ours")
    assert ours.data.name == f"{module}/features" and ours.eval.validation_subjects >= 1


def test_their_epochs_become_steps_by_hand():
    # CAS(ME)^3: 2,250 ME windows + 4x as many without = 11,250 -> 44 batches of 256, x 50 epochs.
    assert paper_config("casme3").train.num_steps == 2200 and paper_config("casme3").train.warmup_steps == 660
    # SAMM-LV: 410 + half as many = 615 -> 20 batches of 32, x 50; every 7th frame, windows of 30.
    samm = paper_config("samm_lv")
    assert (samm.train.num_steps, samm.data.frame_step, samm.data.window, samm.train.batch_size) == (1000, 7, 30, 32)
    # CAS(ME)^2 by analogy: CAS(ME)^3's window and step, SAMM-LV's sampling and batch.
    sq = paper_config("casme_sq")
    assert (sq.data.window, sq.data.frame_step, sq.data.me_fraction, sq.train.batch_size) == (50, 1, 2 / 3, 32)


def test_our_decoder_still_needs_validation_subjects_under_variant_paper():
    from meint_jax.common.errors import ConfigError
    from meint_jax.training import config_checks

    config = paper_config("casme3")
    config.eval.compare_decoders = ("ours",)
    with pytest.raises(ConfigError, match="validation_subjects"):
        config_checks.check_spotting_config(config)


def test_the_paper_init_reaches_the_heads_and_the_flow_stem():
    from configs.spotting import synthetic

    config = synthetic.get_config("variant=paper")
    config.model.update(emotion_outputs=5, stages=1, lateral_after=())
    model = factory.create_spotting_model(config.model)
    params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, 16, 36)))["params"]
    for head in ("head", "emotion_head"):          # 96 x 2 and 96 x 5 weights
        assert np.std(params[head]["kernel"]) == pytest.approx(0.02, rel=0.25)
        np.testing.assert_array_equal(params[head]["bias"], 0.0)
    stem = params["encoder"]["ConvBNReLU_0"]["Conv_0"]          # torch's default over 3 x 36 inputs
    bound = 1 / math.sqrt(3 * 36)
    assert np.abs(stem["kernel"]).max() <= bound and np.abs(stem["bias"]).max() <= bound


@pytest.mark.slow
def test_one_training_step_of_the_tiny_synthetic_paper_variant_is_finite_with_drop_path_active():
    from configs.spotting import synthetic
    from meint_jax import tasks
    from meint_jax.tasks.spotting import steps
    from meint_jax.training import state as state_lib

    config = synthetic.get_config("variant=paper,size=tiny")
    m, e = config.model, config.eval
    assert (m.weight_init, e.decoder, config.data.name) == ("paper", "paper", "synthetic_long/tiny_features_paper")
    config.model.update(stages=1, lateral_after=(), layers_per_stage=3)     # rates 0, 0, 0.1: a layer that drops
    config.model.emotion_outputs = 5                        # negative, positive, surprise, others, neutral
    config.loss.emotion_weights = (1.0, 1.0, 1.0, 1.0, config.loss.neutral_weight)
    model = tasks.create_model(config)
    tx = state_lib.create_optimizer(config.train)
    state = state_lib.init_state(model, tx, (1, config.data.window, 36), seed=0, dtype=jnp.float32)
    rng = np.random.default_rng(0)
    batch_size, window = config.train.batch_size, config.data.window
    targets = np.zeros((batch_size, window, 2), np.float32)
    targets[:, 5:9, 0] = 1.0
    emotions = np.full((batch_size, window), 4, np.int32)
    emotions[:, 5:9] = np.arange(batch_size)[:, None] % 4
    batch = {"inputs": rng.normal(size=(batch_size, window, 36)).astype(np.float32), "targets": targets,
             "mask": np.ones((batch_size, window), np.float32), "emotions": emotions}
    step = jax.jit(lambda s, b: steps.train_step(s, b, model=model, tx=tx, loss_config=config.loss))
    first, metrics = step(state, batch)
    _, metrics_again = step(state, batch)           # the draws follow the step: a resumed run's are the same
    second, metrics_second = step(first, batch)     # the first step's learning rate is 0 (warm-up from 0)
    for m in (metrics, metrics_second):
        assert bool(m["finite"]) and all(np.isfinite(float(m[k])) for k in ("loss", "mse", "emotion_ce"))
        assert float(m["grad_norm"]) > 0.0
    assert float(metrics["loss"]) == float(metrics_again["loss"]) and int(second.step) == 2
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), second.params, first.params)
    assert max(jax.tree.leaves(moved)) > 0.0
