import re

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from meint_jax.models.factory import create_encoder
from meint_jax.models.factory import create_intensity_model as create_model
from meint_jax.models.resnet import ResNet18, normalize_frames

# torchvision.models.resnet18() has 11,689,512 parameters; its fc layer (512*1000 + 1000) is dropped here.
TORCHVISION_RESNET18_WITHOUT_FC = 11_689_512 - 513_000


def model_config(temporal, gru=8):
    return ml_collections.ConfigDict({"temporal": temporal, "gru_features": gru, "dtype": "float32",
                                      "init_from": None})


@pytest.mark.slow
def test_resnet18_has_torchvision_names_and_parameter_count():
    variables = ResNet18().init(jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))
    params = variables["params"]
    count = sum(x.size for x in jax.tree_util.tree_leaves(params))
    assert count == TORCHVISION_RESNET18_WITHOUT_FC
    assert set(params) == {"conv1", "bn1"} | {f"layer{i}_{j}" for i in range(1, 5) for j in range(2)}
    assert set(params["layer2_0"]) == {"conv1", "bn1", "conv2", "bn2", "downsample_0", "downsample_1"}
    assert "downsample_0" not in params["layer1_0"]
    assert params["conv1"]["kernel"].shape == (7, 7, 3, 64)
    assert set(variables["batch_stats"]["bn1"]) == {"mean", "var"}


def test_resnet18_stage_shapes_follow_torch_padding():
    _, stages = ResNet18().apply(ResNet18().init(jax.random.PRNGKey(0), jnp.zeros((1, 112, 112, 3))),
                                 jnp.zeros((2, 112, 112, 3)))
    # torch: 112 -> conv1 56 -> maxpool 28 -> 28, 14, 7, 4.
    assert stages["stem"].shape == (2, 56, 56, 64)
    assert [stages[f"layer{i}"].shape[1] for i in range(1, 5)] == [28, 14, 7, 4]
    assert stages["pooled"].shape == (2, 512)


def test_normalize_frames_is_imagenet_normalisation():
    frames = np.array([[[[0, 128, 255]]]], np.uint8)
    expected = (np.array([0, 128, 255]) / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(normalize_frames(frames)[0, 0, 0], expected, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("temporal", ["bigru", "none"])
def test_frame_order_matters_only_with_the_temporal_head(temporal):
    model = create_model(model_config(temporal))
    frames = np.random.default_rng(0).integers(0, 255, (2, 5, 32, 32, 3), dtype=np.uint8)
    variables = model.init(jax.random.PRNGKey(0), frames)
    pred, _ = model.apply(variables, frames)
    permutation = np.array([4, 2, 0, 1, 3])
    permuted, _ = model.apply(variables, frames[:, permutation])
    assert pred.shape == (2, 5)
    same = np.allclose(np.asarray(permuted), np.asarray(pred)[:, permutation], atol=1e-5)
    assert same == (temporal == "none")


def test_unknown_temporal_head_is_refused():
    with pytest.raises(ValueError, match="unknown temporal model"):
        create_model(model_config("lstm")).init(jax.random.PRNGKey(0), np.zeros((1, 3, 32, 32, 3), np.uint8))


@pytest.mark.parametrize("frame_input", ["frames", "residual"])
def test_residual_input_ignores_what_every_frame_of_the_window_shares(frame_input):
    config = model_config("bigru")
    config.frame_input = frame_input
    model = create_model(config)
    rng = np.random.default_rng(0)
    moving = rng.integers(60, 190, (2, 5, 32, 32, 3))
    static_face = rng.integers(-50, 50, (2, 1, 32, 32, 3))   # the same in every frame of a window
    variables = model.init(jax.random.PRNGKey(0), moving.astype(np.uint8))
    pred, _ = model.apply(variables, moving.astype(np.uint8))
    shifted, _ = model.apply(variables, (moving + static_face).astype(np.uint8))
    unchanged = np.allclose(np.asarray(shifted), np.asarray(pred), atol=1e-4)
    assert unchanged == (frame_input == "residual")


def test_unknown_frame_input_is_refused():
    config = model_config("bigru")
    config.frame_input = "flow"
    with pytest.raises(ValueError, match="unknown frame_input"):
        create_model(config).init(jax.random.PRNGKey(0), np.zeros((1, 3, 32, 32, 3), np.uint8))


@pytest.mark.parametrize("shape,window,stride,padding", [((2, 9, 9, 3), 3, 2, 1), ((1, 8, 7, 2), 3, 2, 1),
                                                         ((2, 6, 6, 4), 2, 2, 0), ((1, 7, 7, 1), 3, 1, 1)])
def test_max_pool_and_its_gradient_match_reduce_window(shape, window, stride, padding):
    import flax.linen as nn

    from meint_jax.models.xla_cpu import max_pool

    x = jnp.asarray(np.random.default_rng(0).standard_normal(shape, np.float32))   # no ties
    reference = lambda x: nn.max_pool(x, (window, window), (stride, stride), ((padding, padding),) * 2)
    ours = lambda x: max_pool(x, window, stride, padding)
    np.testing.assert_array_equal(np.asarray(ours(x)), np.asarray(reference(x)))
    weights = jnp.asarray(np.random.default_rng(1).standard_normal(reference(x).shape, np.float32))
    grad = lambda f: jax.grad(lambda x: jnp.sum(f(x) * weights))(x)
    np.testing.assert_allclose(np.asarray(grad(ours)), np.asarray(grad(reference)), rtol=1e-6, atol=1e-6)


def test_max_pool_sends_ties_to_the_first_maximum_as_torch():
    torch = pytest.importorskip("torch")
    from meint_jax.models.xla_cpu import max_pool

    # Small integers after a ReLU: most windows hold ties, as after the stem's ReLU.
    x = np.maximum(np.random.default_rng(0).integers(-2, 3, (2, 10, 10, 3)), 0).astype(np.float32)
    x[0, 0, 0, 0] = np.nan
    weights = np.random.default_rng(1).standard_normal((2, 5, 5, 3)).astype(np.float32)
    out, grad = jax.value_and_grad(lambda x: jnp.sum(max_pool(jnp.asarray(x), 3, 2, 1) * weights))(x)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    tout = torch.nn.functional.max_pool2d(tx, 3, 2, 1)
    (tout * torch.tensor(weights.transpose(0, 3, 1, 2))).sum().backward()
    ours = np.asarray(max_pool(jnp.asarray(x), 3, 2, 1)).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(ours, tout.detach().numpy())                 # NaN where torch has NaN
    np.testing.assert_allclose(np.asarray(grad).transpose(0, 3, 1, 2), tx.grad.numpy(), rtol=1e-6, atol=1e-6)
    assert np.isnan(out)


@pytest.mark.parametrize("spatial,padding", [((2, 2), ((1, 1), (1, 1))), ((1, 1), ((1, 1), (1, 1))),
                                             ((2, 1), ((1, 1), (0, 2))), ((5, 5), ((1, 1), (1, 1)))])
def test_small_map_conv_matches_the_convolution_and_its_gradients(spatial, padding):
    import flax.linen as nn
    from jax import lax

    from meint_jax.models.xla_cpu import small_map_conv

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((3,) + spatial + (4,), np.float32))
    conv = nn.Conv(5, (3, 3), padding=padding, use_bias=False, conv_general_dilated=small_map_conv)
    variables = conv.init(jax.random.PRNGKey(0), x)
    kernel = variables["params"]["kernel"]
    reference = lambda x, w: lax.conv_general_dilated(x, w, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))
    ours = lambda x, w: conv.apply({"params": {"kernel": w}}, x)
    np.testing.assert_allclose(np.asarray(ours(x, kernel)), np.asarray(reference(x, kernel)), rtol=1e-5, atol=1e-5)
    weights = jnp.asarray(rng.standard_normal(reference(x, kernel).shape, np.float32))
    grads = lambda f: jax.grad(lambda x, w: jnp.sum(f(x, w) * weights), argnums=(0, 1))(x, kernel)
    for a, b in zip(grads(ours), grads(reference)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU's operand swap")
def test_resnet18_at_64px_has_no_swapped_convolution():
    # At 64 px the last stage's maps are 2x2, smaller than its 3x3 kernels; XLA would swap the operands
    # of those convolutions (batch as features: dim_labels f01b) and run them in a generic loop.
    model = create_encoder(jnp.float32, backend="cpu")     # the factory's CPU encoder
    x = jnp.zeros((2, 64, 64, 3))
    variables = model.init(jax.random.PRNGKey(0), x)
    hlo = jax.jit(lambda v, x: model.apply(v, x)[0]).lower(variables, x).compile().as_text()
    labels = set(re.findall(r"dim_labels=([\w>-]+)", hlo))
    assert labels == {"b01f_01io->b01f"}


@pytest.mark.parametrize("spatial,stride", [((9, 9), 2), ((6, 6), 1), ((2, 2), 1)])
def test_resnet_conv_and_its_gradients_match_the_convolution(spatial, stride):
    from jax import lax

    from meint_jax.models.xla_cpu import materialized, resnet_conv

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2,) + spatial + (3,), np.float32))
    w = jnp.asarray(rng.standard_normal((3, 3, 3, 4), np.float32))
    args = ((stride, stride), [(1, 1), (1, 1)])
    dims = lax.conv_dimension_numbers(x.shape, w.shape, ("NHWC", "HWIO", "NHWC"))
    reference = lambda x, w: lax.conv_general_dilated(x, w, *args, dimension_numbers=dims)
    ours = lambda x, w: resnet_conv(x, w, *args, dimension_numbers=dims)
    out = jax.jit(ours)(x, w)
    np.testing.assert_allclose(np.asarray(out), np.asarray(reference(x, w)), rtol=1e-5, atol=1e-5)
    weights = jnp.asarray(rng.standard_normal(out.shape, np.float32))
    grads = lambda f: jax.jit(jax.grad(lambda x, w: jnp.sum(jnp.tanh(f(jnp.maximum(x, 0), w)) * weights),
                                       argnums=(0, 1)))(x, w)
    for a, b in zip(grads(ours), grads(reference)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    nan_first = x.at[0, 0, 0, 0].set(jnp.nan)            # the conditional's other branch is the identity too
    np.testing.assert_array_equal(np.asarray(jax.jit(materialized)(nan_first)), np.asarray(nan_first))


@pytest.mark.parametrize("size,kernel,stride,padding", [(9, 3, 2, (1, 1)), (10, 3, 2, (1, 1)), (8, 1, 2, (0, 0)),
                                                         (11, 7, 2, (3, 3)), (10, 3, 3, (1, 1)), (7, 5, 3, (2, 0))])
def test_strided_input_gradient_matches_the_convolutions_vjp(size, kernel, stride, padding):
    from jax import lax

    from meint_jax.models.xla_cpu import strided_input_gradient

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2, size, size + 1, 3), np.float32))      # not square: rows vs columns
    w = jnp.asarray(rng.standard_normal((kernel, kernel, 3, 4), np.float32))
    pads = [padding, padding[::-1]]
    out, vjp = jax.vjp(lambda x: lax.conv_general_dilated(x, w, (stride, stride), pads,
                                                          dimension_numbers=("NHWC", "HWIO", "NHWC")), x)
    grad = jnp.asarray(rng.standard_normal(out.shape, np.float32))
    ours = strided_input_gradient(grad, w, x.shape, (stride, stride), pads)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(vjp(grad)[0]), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU's generic loop for dilated inputs")
def test_resnet18_gradient_has_no_input_dilated_convolution():
    # XLA writes a strided convolution's input gradient with the output gradient dilated by the stride,
    # which XLA:CPU runs as a generic loop (1.0 s of thread time per 8x16x224 step).
    model = create_encoder(jnp.float32, backend="cpu").clone(stage_sizes=(1, 1, 1, 1), name=None)
    x = jnp.zeros((2, 32, 32, 3))
    variables = model.init(jax.random.PRNGKey(0), x)
    loss = lambda p, x: jnp.sum(model.apply({**variables, "params": p}, x, train=True,
                                            mutable=["batch_stats"])[0][0] ** 2)
    hlo = jax.jit(jax.grad(loss)).lower(variables["params"], x).compile().as_text()    # frames need no gradient
    assert "lhs_dilate" not in hlo
    plain = jax.jit(jax.grad(lambda x, w: jnp.sum(jax.lax.conv_general_dilated(
        x, w, (2, 2), [(1, 1), (1, 1)], dimension_numbers=("NHWC", "HWIO", "NHWC")) ** 2)))
    assert "lhs_dilate" in plain.lower(jnp.zeros((2, 8, 8, 4)), jnp.zeros((3, 3, 4, 4))).compile().as_text()


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU's fusion of the weight gradient's transpose")
def test_resnet_conv_weight_gradient_transposes_the_stored_input():
    # XLA:CPU transposes a convolution's input for the weight gradient; with plain lax.conv it fuses that
    # transpose with the ReLU (and BatchNorm) that made the input, recomputing them in transposed order.
    from jax import lax

    from meint_jax.common import xla_options
    from meint_jax.models.xla_cpu import resnet_conv

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((16, 28, 28, 64), np.float32))
    w, s = jnp.asarray(rng.standard_normal((3, 3, 64, 64), np.float32)), jnp.ones((64,))
    dims = lax.conv_dimension_numbers(x.shape, w.shape, ("NHWC", "HWIO", "NHWC"))

    def recomputing_transposes(conv):
        loss = lambda w, s: jnp.sum(conv(jnp.maximum(x * s + 1.0, 0), w, (1, 1), [(1, 1), (1, 1)],
                                         dimension_numbers=dims) ** 2)
        hlo = jax.jit(jax.grad(loss, argnums=(0, 1)),
                      compiler_options=xla_options.step_options()).lower(w, s).compile().as_text()
        bodies = re.findall(r"^%\S+ .*?\{\n(.*?)\n\}", hlo, re.M | re.S)
        return [b for b in bodies if " transpose(" in b and " maximum(" in b]

    assert recomputing_transposes(lax.conv_general_dilated)
    assert not recomputing_transposes(resnet_conv)


def test_each_part_runs_on_its_own_and_together_they_are_the_model():
    config = model_config("bigru")
    config.frame_input = "residual"
    model = create_model(config)
    frames = np.random.default_rng(3).integers(0, 256, (2, 5, 32, 32, 3), dtype=np.uint8)
    variables = model.init(jax.random.PRNGKey(0), frames)
    whole, _ = model.apply(variables, frames)
    features = model.apply(variables, frames, method="encode")
    context = model.apply(variables, features, method="contextualize")
    assert features.shape == (2, 5, 512) and context.shape == (2, 5, 16)
    np.testing.assert_allclose(model.apply(variables, context, method="heads"), whole, atol=1e-6)
    np.testing.assert_allclose(model.apply(variables, features, method="from_features"), whole, atol=1e-6)


@pytest.mark.slow
def test_parameters_keep_the_tree_that_saved_checkpoints_have():
    """encoder / GRUCell_0 / GRUCell_1 / head: checkpoints written before the model had parts still load."""
    variables = create_model(model_config("bigru")).init(jax.random.PRNGKey(0), np.zeros((1, 3, 32, 32, 3), np.uint8))
    assert set(variables["params"]) == {"encoder", "GRUCell_0", "GRUCell_1", "head"}
    assert set(variables["params"]["GRUCell_0"]) == {"ir", "iz", "in", "hr", "hz", "hn"}
    framewise = create_model(model_config("none")).init(jax.random.PRNGKey(0), np.zeros((1, 3, 32, 32, 3), np.uint8))
    assert set(framewise["params"]) == {"encoder", "head"}


@pytest.mark.slow
def test_the_cpu_rewrites_compute_what_the_plain_resnet18_computes():
    """The factory's CPU encoder (xla_cpu's convolution and max-pool) against the plain one, values and gradients."""
    cpu, plain = create_encoder(jnp.float32, backend="cpu"), create_encoder(jnp.float32, backend="gpu")
    assert cpu.conv is not plain.conv and cpu.max_pool is not plain.max_pool
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 48, 48, 3))
    variables = plain.init(jax.random.PRNGKey(0), x)

    def loss(params, encoder):
        (features, _), _ = encoder.apply({"params": params, "batch_stats": variables["batch_stats"]}, x, train=True,
                                         mutable=["batch_stats"])
        return jnp.sum(features ** 2), features

    (_, want), grad_want = jax.value_and_grad(loss, has_aux=True)(variables["params"], plain)
    (_, got), grad_got = jax.value_and_grad(loss, has_aux=True)(variables["params"], cpu)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), grad_got, grad_want)
