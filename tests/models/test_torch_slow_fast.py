"""Paper 002's spotting network against its plain-PyTorch reading (mamba-ssm's reference scan), our weights
ported: the same logits, BatchNorm statistics and gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from configs.spotting import base as spotting_config  # noqa: E402
from meint_jax import tasks  # noqa: E402
from meint_jax.tasks.spotting import steps  # noqa: E402
from meint_jax.testing import torch_slow_fast  # noqa: E402

EMOTIONS = 5


def small_config(**model):
    """The spotting config's network, 2 stages of one layer a path, one lateral, with an emotion head."""
    config = spotting_config.get_config()
    config.model.update(stages=2, layers_per_stage=1, lateral_after=(1,), emotion_outputs=EMOTIONS, **model)
    return config


def random_flow(batch, steps_, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps_, 36)).astype(np.float32)


def initialised(config, flow, seed=0):
    """The config's model and random variables of its shapes, drawn here (jitting `model.init` costs more than
    the test): weights around their usual scales, steps softplus(bias) in [0.001, 0.5], non-trivial BatchNorm
    statistics (so eval mode normalises by them)."""
    model = tasks.create_model(config)
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(seed), jnp.asarray(flow))
    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        names = [getattr(p, "key", "") for p in path]
        name, shape = names[-1], leaf.shape
        if name == "kernel":
            value = rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[:-1])), shape)
        elif name == "bias" and "dt_proj" in names:
            value = np.log(np.expm1(rng.uniform(0.001, 0.5, shape)))
        elif name in ("bias", "mean"):
            value = rng.uniform(-0.2, 0.2, shape)
        elif name == "A_log":
            value = np.log(rng.uniform(1.0, shape[-1], shape))
        else:                                                      # scale, D, var
            value = rng.uniform(0.5, 1.5, shape)
        return jnp.asarray(value, jnp.float32)

    return model, jax.tree_util.tree_map_with_path(draw, shapes)


def apply(model, variables, flow, train=False):
    """`model.apply`, jitted (op by op, a scan's body is compiled on every call)."""
    mutable = ["batch_stats"] if train else False
    return jax.jit(lambda v, x: model.apply(v, x, train=train, mutable=mutable))(variables, flow)


def torch_outputs(network, flow):
    logits, emotions = network(torch.from_numpy(flow))
    return logits.detach().numpy(), emotions.detach().numpy()


def test_small_network_in_eval_mode_gives_the_same_logits_in_both_frameworks():
    flow = random_flow(3, 11)                   # odd: the slow path's upsampling is cropped
    config = small_config()
    model, variables = initialised(config, flow)
    logits, aux = apply(model, variables, flow)
    network = torch_slow_fast.ported(config.model, variables).eval()
    with torch.no_grad():
        want_logits, want_emotions = torch_outputs(network, flow)
    assert np.abs(np.asarray(logits)).max() > 0.01            # not a vacuous comparison of zeros
    np.testing.assert_allclose(np.asarray(logits), want_logits, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(aux["emotions"]), want_emotions, atol=1e-4, rtol=1e-4)


def test_train_mode_normalises_by_the_batch_in_both_and_updates_running_statistics_alike():
    flow = random_flow(4, 10, seed=2)
    config = small_config()
    model, variables = initialised(config, flow)
    (logits, _), updates = apply(model, variables, flow, train=True)
    network = torch_slow_fast.ported(config.model, variables).train()
    want_logits, _ = torch_outputs(network, flow)
    np.testing.assert_allclose(np.asarray(logits), want_logits, atol=1e-4, rtol=1e-4)
    # Both move the running mean by 0.1 of the batch's; torch's running variance takes the unbiased batch
    # variance (n / (n - 1) of the biased one that Flax keeps), n = batch x frames at that layer.
    stem = updates["batch_stats"]["encoder"]["ConvBNReLU_0"]["BatchNorm_0"]
    bn = network.encoder[0].bn
    np.testing.assert_allclose(np.asarray(stem["mean"]), bn.running_mean.numpy(), atol=1e-5, rtol=1e-5)
    n = 4 * 10
    old = np.asarray(variables["batch_stats"]["encoder"]["ConvBNReLU_0"]["BatchNorm_0"]["var"])
    flax_batch_var = (np.asarray(stem["var"]) - 0.9 * old) / 0.1
    torch_batch_var = (bn.running_var.numpy() - 0.9 * old) / 0.1
    np.testing.assert_allclose(torch_batch_var, flax_batch_var * n / (n - 1), rtol=1e-4)


def test_gradients_of_the_spotting_loss_agree_parameter_by_parameter():
    flow = random_flow(2, 9, seed=3)
    config = small_config()
    model, variables = initialised(config, flow)
    rng = np.random.default_rng(4)
    targets = (rng.uniform(size=(2, 9, 2)) > 0.5).astype(np.float32)
    mask = np.ones((2, 9), np.float32)

    def loss(params):
        logits, _ = model.apply({"params": params, "batch_stats": variables["batch_stats"]}, flow, train=False)
        return steps.spotting_mse(logits, targets, mask, (1.0, 1.0))

    grads = jax.jit(jax.grad(loss))(variables["params"])
    network = torch_slow_fast.ported(config.model, variables).eval()
    logits, _ = network(torch.from_numpy(flow))
    ((torch.sigmoid(logits) - torch.from_numpy(targets)) ** 2).mean().backward()
    mamba = lambda name: grads["temporal"][name]["MambaBlock_0"]
    pairs = {"fast.1.0.mixer.in_proj.weight": mamba("fast_2_0")["in_proj"]["kernel"].T,
             "slow.0.0.mixer.A_log": mamba("slow_1_0")["A_log"],
             "slow.1.0.mixer.dt_proj.bias": mamba("slow_2_0")["dt_proj"]["bias"],
             "lateral.1.conv.weight": grads["temporal"]["lateral_1"]["Conv_0"]["kernel"].transpose(2, 1, 0),
             "encoder.0.conv.weight": grads["encoder"]["ConvBNReLU_0"]["Conv_0"]["kernel"].transpose(2, 1, 0),
             "head.weight": grads["head"]["kernel"].T}
    named = dict(network.named_parameters())
    for name, want in pairs.items():
        got = named[name].grad.numpy()
        scale = np.abs(np.asarray(want)).max()
        assert scale > 0, name
        np.testing.assert_allclose(got, np.asarray(want), atol=1e-4 * scale, rtol=1e-3, err_msg=name)


@pytest.mark.slow
def test_the_paper_sized_network_gives_the_same_scores_on_a_cas_me3_window():
    flow = random_flow(2, 50, seed=5)
    config = spotting_config.get_config()
    config.model.emotion_outputs = EMOTIONS
    model, variables = initialised(config, flow)
    logits, _ = apply(model, variables, flow)
    network = torch_slow_fast.ported(config.model, variables).eval()
    assert sum(p.numel() for n, p in network.named_parameters() if "head" not in n) == 8_357_376
    with torch.no_grad():
        want, _ = torch_outputs(network, flow)
    np.testing.assert_allclose(np.asarray(logits), want, atol=1e-4, rtol=1e-4)


def test_scan_equals_the_recurrence_written_out_for_one_channel():
    rng = np.random.default_rng(6)
    u, delta = rng.normal(size=(1, 1, 4)), rng.uniform(0.1, 1.0, size=(1, 1, 4))
    A, B, C, D = -rng.uniform(0.5, 2, size=(1, 2)), rng.normal(size=(1, 2, 4)), rng.normal(size=(1, 2, 4)), 0.3
    h, want = np.zeros(2), []
    for t in range(4):
        h = np.exp(delta[0, 0, t] * A[0]) * h + delta[0, 0, t] * B[0, :, t] * u[0, 0, t]
        want.append(h @ C[0, :, t] + D * u[0, 0, t])
    as_t = lambda a: torch.tensor(a, dtype=torch.float32)
    got = torch_slow_fast.selective_scan_ref(as_t(u), as_t(delta), as_t(A), as_t(B), as_t(C), as_t([D]))
    np.testing.assert_allclose(got.numpy()[0, 0], want, rtol=1e-5)


def test_a_config_that_is_not_the_slow_fast_network_is_refused():
    config = spotting_config.get_config("variant=bigru")
    with pytest.raises(ValueError, match="temporal='bigru'"):
        torch_slow_fast.from_model_config(config.model)
