"""ImageNet (or face-pretrained) ResNet18 weights in torchvision's layout -> Flax params.

Reads torchvision's `resnet18-f37072fd.pth` (zip format) without running
pickled code: `torch.load(weights_only=True)` when torch is installed, else a
restricted unpickler that accepts only tensors and ordered dicts. Also reads
timm's `.safetensors`. `python -m meint_jax.convert_weights` saves the result
as an orbax directory, which the training loop reads back (`training/checkpoint.py`).

Names and layouts are mapped (OIHW -> HWIO; BatchNorm weight/bias/running
stats -> scale/bias/mean/var; `fc` dropped) and merged into a freshly
initialised tree; every missing, unexpected or mis-shaped key is logged, and
a file of another architecture is refused.
"""

from __future__ import annotations

import collections
import functools
import os
import pickle
import re
import zipfile

import numpy as np
from absl import logging
from flax import traverse_util

from meint_jax.common.errors import UserError, first_line


class PretrainedError(UserError):
    """The weights file cannot be used; the message names it and says why."""


_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None, *, path=""):
    """The tensor a pickle describes, viewed in its storage only after checking that it lies inside it."""
    del requires_grad, hooks, metadata
    size, stride = tuple(int(n) for n in size), tuple(int(n) for n in stride)
    if len(size) != len(stride) or offset < 0 or min(size + stride, default=0) < 0:
        raise PretrainedError(f"{path}: a tensor with shape {size}, strides {stride}, offset {offset}: not a tensor")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    if last >= len(storage):
        raise PretrainedError(f"{path}: a tensor of shape {size} reaches element {last} of a storage of "
                              f"{len(storage)}: the file is damaged or crafted")
    item = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=tuple(s * item for s in stride))
    return view.copy()


class _TensorsOnlyUnpickler(pickle.Unpickler):
    """Unpickles a torch zip checkpoint, refusing any global but tensor rebuilds and dicts."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, path: str):
        super().__init__(file)
        self._archive, self._prefix, self._path = archive, prefix, path

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return functools.partial(_rebuild_tensor, path=self._path)
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise PretrainedError(f"{self._path}: refusing to load, its pickle calls {module}.{name} "
                              "(a weights file holds only tensors)")

    def persistent_load(self, pid):
        kind, dtype, key, _location, _numel = pid
        if kind != "storage":
            raise PretrainedError(f"{self._path}: unexpected persistent object {kind!r}")
        return np.frombuffer(self._archive.read(f"{self._prefix}/data/{key}"), dtype=dtype)


def _read_torch_zip_without_torch(path: str) -> dict:
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if not pickles:
            raise PretrainedError(f"{path}: a zip file without data.pkl is not a torch checkpoint")
        prefix = pickles[0][: -len("/data.pkl")]
        with archive.open(pickles[0]) as f:
            return _TensorsOnlyUnpickler(f, archive, prefix, path).load()


def _read_torch(path: str) -> dict:
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(4)
        if head.startswith(b"PK"):
            raise PretrainedError(f"{path}: a truncated or damaged zip file: copy or download it again")
        if head[:1] == b"\x80":   # a pickle: torch's format before 1.6
            raise PretrainedError(f"{path}: a torch checkpoint in the format before torch 1.6: re-save it with "
                                  "torch.save(torch.load(path), new_path) on a machine you trust")
        raise PretrainedError(f"{path}: not a torch checkpoint (.pth/.pt) nor .safetensors")
    try:
        import torch
    except ImportError:
        return _read_torch_zip_without_torch(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's message goes on to advise weights_only=False, i.e. running the code: keep only what it found.
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(e))
        raise PretrainedError(f"{path}: refusing to load, its pickle calls "
                              f"{found.group(1) if found else 'code'} (a weights file holds only tensors)") from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise PretrainedError(f"{path}: a damaged torch checkpoint ({first_line(e)})") from e
    return {k: v.numpy() if hasattr(v, "numpy") else v for k, v in state.items()}


def read_state_dict(path: str) -> dict[str, np.ndarray]:
    """A torchvision-layout state dict as numpy arrays, from .pth/.pt or .safetensors."""
    if not os.path.isfile(path):
        raise PretrainedError(f"{path}: weights file not found")
    if path.endswith(".safetensors"):
        from safetensors.numpy import load_file

        try:
            state = load_file(path)
        except Exception as e:  # safetensors raises its own error types and OSError for a bad file.
            raise PretrainedError(f"{path}: not a readable .safetensors file ({first_line(e)})") from e
    else:
        try:
            state = _read_torch(path)
        except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as e:
            if isinstance(e, PretrainedError):
                raise
            raise PretrainedError(f"{path}: a damaged torch checkpoint ({first_line(e)})") from e
    for wrapper in ("state_dict", "model"):  # training checkpoints nest the weights
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise PretrainedError(f"{path}: holds a {type(state).__name__}, not a state dict")
    return {k.removeprefix("module."): np.asarray(v) for k, v in state.items()}


_BATCHNORM_NAMES = {"weight": ("params", "scale"), "bias": ("params", "bias"),
                    "running_mean": ("batch_stats", "mean"), "running_var": ("batch_stats", "var")}


def torchvision_to_flax(state: dict[str, np.ndarray]) -> tuple[dict, list[str]]:
    """{(collection, *flax path): array} for a ResNet18 state dict, and the keys not mapped."""
    converted, unmapped = {}, []
    batchnorms = {k.rsplit(".", 1)[0] for k in state if k.endswith("running_mean")}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        if module.split(".")[0] == "fc" or leaf == "num_batches_tracked":
            continue
        parts = module.split(".")
        if parts[0].startswith("layer") and len(parts) >= 2:
            parts = [f"{parts[0]}_{parts[1]}"] + parts[2:]
        if len(parts) >= 2 and parts[-2] == "downsample":
            parts = parts[:-2] + [f"downsample_{parts[-1]}"]
        if module in batchnorms and leaf in _BATCHNORM_NAMES:
            collection, name = _BATCHNORM_NAMES[leaf]
            converted[(collection, *parts, name)] = value.astype(np.float32)
        elif leaf == "weight" and value.ndim == 4:
            converted[("params", *parts, "kernel")] = np.transpose(value, (2, 3, 1, 0)).astype(np.float32)
        else:
            unmapped.append(key)
    return converted, unmapped


def merge_encoder(variables: dict, converted: dict, source: str, prefix: tuple[str, ...] = ("encoder",)) -> dict:
    """`variables` with the encoder's params and batch stats replaced by `converted`.

    Logs every missing, unexpected and mis-shaped key; raises when nothing
    matched or when the file is another architecture.
    """
    flat = traverse_util.flatten_dict(variables)
    targets = {k for k in flat if k[1:1 + len(prefix)] == prefix}
    loaded, mismatched, unexpected = set(), [], []
    for key, value in converted.items():
        target = (key[0], *prefix, *key[1:])
        if target not in flat:
            unexpected.append("/".join(key[1:]))
        elif flat[target].shape != value.shape:
            mismatched.append(f"{'/'.join(key[1:])} {value.shape} != {flat[target].shape}")
        else:
            flat[target] = value.astype(flat[target].dtype)
            loaded.add(target)
    missing = sorted("/".join(k[1:]) for k in targets - loaded)
    for name in missing:
        logging.warning("pretrained %s: missing %s (keeps its random initialisation)", source, name)
    for name in unexpected:
        logging.warning("pretrained %s: unexpected %s", source, name)
    for name in mismatched:
        logging.warning("pretrained %s: wrong shape %s", source, name)
    if not loaded:
        raise PretrainedError(f"{source}: none of its tensors matched ResNet18's parameters")
    if mismatched or unexpected:
        raise PretrainedError(f"{source}: not a torchvision ResNet18 ({len(mismatched)} tensors of the wrong shape, "
                              f"{len(unexpected)} unexpected, e.g. {(mismatched + unexpected)[0]})")
    logging.info("pretrained %s: loaded %d of %d encoder tensors", source, len(loaded), len(targets))
    return traverse_util.unflatten_dict(flat)


def load_encoder_weights(path: str) -> dict:
    """{(collection, *path): array} from a torchvision-layout .pth/.pt/.safetensors file."""
    converted, unmapped = torchvision_to_flax(read_state_dict(path))
    for key in unmapped:
        logging.warning("pretrained %s: cannot map %s", path, key)
    return converted


def check_is_resnet18(converted: dict, source: str) -> None:
    """Refuses converted weights that are not a whole torchvision ResNet18 (another depth, another network,
    other input channels): every encoder tensor present with its shape, nothing else."""
    import jax
    import jax.numpy as jnp

    from meint_jax.models.resnet import ResNet18

    shapes = jax.eval_shape(ResNet18().init, jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))
    variables = {collection: {"encoder": tree} for collection, tree in shapes.items()}
    merged = traverse_util.flatten_dict(merge_encoder(variables, converted, source))
    missing = [k for k, v in merged.items() if isinstance(v, jax.ShapeDtypeStruct)]
    if missing:
        raise PretrainedError(f"{source}: not a whole ResNet18: {len(missing)} of its tensors are missing, "
                              f"e.g. {'/'.join(missing[0][2:])}")
