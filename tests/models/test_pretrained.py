"""Porting torchvision-layout ResNet18 weights: equal to PyTorch, safe to load, clear when wrong."""

import os
import pickle
import subprocess
import sys
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from meint_jax import tasks
from meint_jax.models import pretrained  # noqa: E402
from meint_jax.models.resnet import ResNet18  # noqa: E402
from meint_jax.testing import torch_reference  # noqa: E402
from tests import REPO


@pytest.fixture(scope="module")
def torch_resnet():
    """A torchvision-named ResNet18 with random weights and non-trivial BatchNorm statistics."""
    torch.manual_seed(0)
    net = torch_reference.ResNet18()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.3, 0.3)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


@pytest.fixture(scope="module")
def weights_file(torch_resnet, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(torch_resnet.state_dict(), path)
    return str(path)


def flax_with(path, size=64):
    variables = ResNet18().init(jax.random.PRNGKey(1), jnp.zeros((1, size, size, 3)))
    return pretrained.merge_encoder(variables, pretrained.load_encoder_weights(path), path, prefix=())


def test_converted_network_matches_torch_per_stage(torch_resnet, weights_file):
    x = np.random.default_rng(0).normal(size=(2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = {k: v.numpy() for k, v in torch_resnet.stages(torch.from_numpy(x)).items()}
    _, stages = ResNet18().apply(flax_with(weights_file), x.transpose(0, 2, 3, 1), train=False)
    for name in ("stem", "layer1", "layer2", "layer3", "layer4", "pooled"):
        got = np.asarray(stages[name])
        want = expected[name] if name == "pooled" else expected[name].transpose(0, 2, 3, 1)
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4, err_msg=name)


@pytest.mark.slow
def test_train_mode_step_updates_running_statistics_as_torch(torch_resnet, weights_file):
    """Batch statistics in the forward pass; running variance moved towards the unbiased one."""
    import copy

    x = np.random.default_rng(1).normal(size=(3, 3, 48, 48)).astype(np.float32)
    net = copy.deepcopy(torch_resnet).train()
    with torch.no_grad():
        want_features = net.stages(torch.from_numpy(x))["pooled"].numpy()
    want, _ = pretrained.torchvision_to_flax({k: v.numpy() for k, v in net.state_dict().items()})

    (features, _), updates = ResNet18().apply(flax_with(weights_file), x.transpose(0, 2, 3, 1), train=True,
                                              mutable=["batch_stats"])
    np.testing.assert_allclose(np.asarray(features), want_features, atol=1e-4, rtol=1e-4)
    got = jax.tree_util.tree_leaves_with_path(updates["batch_stats"])
    assert len(got) == sum(1 for k in want if k[0] == "batch_stats") == 40
    before = flax_with(weights_file)["batch_stats"]
    for path, value in got:
        key = ("batch_stats", *(p.key for p in path))
        np.testing.assert_allclose(np.asarray(value), want[key], atol=1e-5, rtol=1e-5, err_msg=str(key))
    # The step moved every statistic (the comparison above is not of unchanged trees).
    moved = jax.tree_util.tree_map(lambda a, b: float(np.max(np.abs(np.asarray(a) - b))), updates["batch_stats"],
                                   before)
    assert min(jax.tree_util.tree_leaves(moved)) > 1e-3


def test_reader_without_torch_equals_torch_load(torch_resnet, weights_file):
    restricted = pretrained._read_torch_zip_without_torch(weights_file)
    for key, value in torch_resnet.state_dict().items():
        np.testing.assert_array_equal(restricted[key], value.numpy(), err_msg=key)


def test_safetensors_give_the_same_tree(torch_resnet, weights_file, tmp_path):
    from safetensors.numpy import save_file

    path = str(tmp_path / "resnet18.safetensors")
    save_file({k: v.numpy() for k, v in torch_resnet.state_dict().items()}, path)
    a, b = flax_with(weights_file), flax_with(path)
    jax.tree_util.tree_map(np.testing.assert_array_equal, a, b)


def test_pickled_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"conv1.weight": Exploit()}, protocol=2))
        archive.writestr("evil/version", "3\n")
    with pytest.raises(pretrained.PretrainedError, match="refusing to load"):
        pretrained.read_state_dict(str(path))
    with pytest.raises(pretrained.PretrainedError, match="refusing to load, its pickle calls"):
        pretrained._read_torch_zip_without_torch(str(path))
    assert not marker.exists()


def test_another_architecture_is_a_clear_error(tmp_path):
    net = torch_reference.ResNet18()
    net.layer1.append(torch_reference.BasicBlock(64, 64))   # a ResNet with 3 blocks in layer1
    path = str(tmp_path / "resnet_wrong.pth")
    torch.save(net.state_dict(), path)
    with pytest.raises(pretrained.PretrainedError, match="not a torchvision ResNet18"):
        flax_with(path)
    other = str(tmp_path / "mlp.pth")
    torch.save(torch.nn.Sequential(torch.nn.Linear(3, 4)).state_dict(), other)
    with pytest.raises(pretrained.PretrainedError, match="none of its tensors matched"):
        flax_with(other)


@pytest.mark.slow
def test_cli_converts_once_and_training_starts_from_it(weights_file, tmp_path, tiny_builder):
    from configs.intensity import synthetic as synthetic_config
    from meint_jax.training import run as fold
    from meint_jax.training import state as steps

    out = tmp_path / "resnet18_orbax"
    subprocess.run([sys.executable, "-m", "meint_jax.convert_weights", f"--input={weights_file}", f"--output={out}"],
                   cwd=REPO, check=True, capture_output=True, timeout=300)
    from_directory = fold.encoder_weights(str(out))
    assert from_directory.keys() == pretrained.load_encoder_weights(weights_file).keys()
    for key, value in pretrained.load_encoder_weights(weights_file).items():
        np.testing.assert_array_equal(from_directory[key], value)

    config = synthetic_config.get_config("size=tiny")
    config.data.data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    config.model.init_from = str(out)
    config.train.update(num_steps=1, warmup_steps=0)
    model = tasks.create_model(config)
    tx = steps.create_optimizer(config.train)
    state = steps.init_state(model, tx, (1, 8, 32, 32, 3), seed=0)
    loaded = fold.load_pretrained_encoder(state, tx, str(out))
    want = flax_with(weights_file, size=32)["params"]["layer4_1"]["conv2"]["kernel"]
    np.testing.assert_array_equal(loaded.params["encoder"]["layer4_1"]["conv2"]["kernel"], want)
    summary = tasks.train_and_evaluate(config, str(tmp_path / "run"))
    assert summary["train_steps"] == 1
