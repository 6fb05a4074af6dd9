"""Paper 002's spotting network as meint-jax builds it, in plain PyTorch, and our Flax weights ported into it.

The reference `models/slow_fast.py` and `models/ssm.py` are checked against (tests) and timed against
(benchmarks/spotting_vs_torch.py): flow stem -> slow-fast Mamba stages -> spotting and emotion heads, the
composition `factory.create_spotting_model` makes for `model.inputs='flow'`, `model.temporal='slow_fast'`.
It follows our network where it departs from BoostingVRME's `METST_SF`: the features are [fast, slow]
(theirs [slow, fast]), and the spotting head has two channels (micro, macro) and gives logits (theirs: one,
through a sigmoid). Each Mamba layer is x + DropPath(LayerNorm(Mamba(LayerNorm(x)))), as in both.

The selective scan is written as mamba-ssm's `selective_scan_ref` computes it (every step's discretised
decay and input made first, then a Python loop over time), and each `Mamba` keeps mamba-ssm's parameter
names, so `mamba_ssm.modules.mamba_simple.Mamba(d_model, d_state, d_conv, expand)` loads its state_dict
as it is (the benchmark swaps it in on CUDA). Layout: [batch, time, channels] between layers, as in Flax.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from meint_jax.models.slow_fast import drop_path_rates


def selective_scan_ref(u, delta, A, B, C, D, z=None, delta_bias=None, delta_softplus=False):
    """y [b, d, l] of the selective scan in mamba-ssm's layout: u, delta, z [b, d, l]; A [d, n]; B, C
    [b, n, l]; D [d]; delta_bias [d]. Softplus(delta + bias) is the step; y is gated by SiLU(z)."""
    dtype = u.dtype
    u, delta = u.float(), delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias[:, None].float()
    if delta_softplus:
        delta = F.softplus(delta)
    decay = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    drive = torch.einsum("bdl,bnl,bdl->bdln", delta, B.float(), u)
    state = u.new_zeros((u.shape[0], A.shape[0], A.shape[1]))
    ys = []
    for t in range(u.shape[2]):
        state = decay[:, :, t] * state + drive[:, :, t]
        ys.append(torch.einsum("bdn,bn->bd", state, C[:, :, t].float()))
    y = torch.stack(ys, dim=2) + u * D[:, None]
    if z is not None:
        y = y * F.silu(z.float())
    return y.to(dtype)


class Mamba(nn.Module):
    """mamba-ssm's `Mamba` mixer on its reference path (no fused kernels): [b, l, d_model] -> [b, l, d_model]."""

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2):
        super().__init__()
        self.d_inner, self.d_state = expand * d_model, d_state
        self.dt_rank = math.ceil(d_model / 16)
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, d_conv, groups=self.d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(self.d_inner, 1))
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def forward(self, hidden):
        steps = hidden.shape[1]
        x, z = self.in_proj(hidden).transpose(1, 2).chunk(2, dim=1)             # [b, d_inner, l] each
        x = F.silu(self.conv1d(x)[..., :steps])                                  # causal: the left pad only
        dt, B, C = self.x_proj(x.transpose(1, 2)).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = (dt @ self.dt_proj.weight.T).transpose(1, 2)                    # the bias goes in with softplus
        y = selective_scan_ref(x, delta, -torch.exp(self.A_log.float()), B.transpose(1, 2), C.transpose(1, 2),
                               self.D.float(), z=z, delta_bias=self.dt_proj.bias.float(), delta_softplus=True)
        return self.out_proj(y.transpose(1, 2))


class DropPath(nn.Module):
    """Each example's branch zeroed with probability `rate` in training, the kept ones scaled by 1 / (1 - rate)."""

    def __init__(self, rate: float = 0.0):
        super().__init__()
        self.rate = rate

    def forward(self, branch):
        if not self.training or self.rate == 0.0:
            return branch
        keep = 1.0 - self.rate
        mask = branch.new_empty((branch.shape[0],) + (1,) * (branch.dim() - 1)).bernoulli_(keep)
        return branch * mask / keep


class MambaLayer(nn.Module):
    """x + DropPath(LayerNorm(Mamba(LayerNorm(x))))."""

    def __init__(self, dim: int, d_state: int, d_conv: int = 4, expand: int = 2, drop_path: float = 0.0):
        super().__init__()
        self.norm_in = nn.LayerNorm(dim, eps=1e-5)
        self.mixer = Mamba(dim, d_state, d_conv, expand)
        self.norm_out = nn.LayerNorm(dim, eps=1e-5)
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        return x + self.drop_path(self.norm_out(self.mixer(self.norm_in(x))))


class ConvBNReLU(nn.Module):
    """Conv1d (k=3, padding 1) -> BatchNorm1d -> ReLU over [b, t, c]."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 3, stride, 1)
        self.bn = nn.BatchNorm1d(c_out, eps=1e-5, momentum=0.1)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x.transpose(1, 2)))).transpose(1, 2)


class SpottingNetwork(nn.Module):
    """flow [b, t, 36] -> (spotting logits [b, t, 2], emotion logits [b, t, emotion_outputs] or None)."""

    def __init__(self, in_features: int = 36, stem_features: int = 128, slow_features: int = 256, stages: int = 3,
                 layers_per_stage: int = 4, lateral_after: Sequence[int] = (1, 2), d_state: int = 64,
                 d_conv: int = 4, expand: int = 2, drop_path: float = 0.0, emotion_outputs: int | None = None):
        super().__init__()
        self.encoder = nn.Sequential(ConvBNReLU(in_features, stem_features), ConvBNReLU(stem_features, stem_features))
        self.slow_stem = ConvBNReLU(stem_features, slow_features, stride=2)
        rates = drop_path_rates(drop_path, layers_per_stage)
        self.fast = nn.ModuleList(nn.ModuleList(MambaLayer(stem_features, d_state, d_conv, expand, r) for r in rates)
                                  for _ in range(stages))
        self.slow = nn.ModuleList(nn.ModuleList(MambaLayer(slow_features, d_state, d_conv, expand, r) for r in rates)
                                  for _ in range(stages))
        self.lateral = nn.ModuleDict({str(s): ConvBNReLU(stem_features, slow_features, stride=2)
                                      for s in lateral_after})
        self.head = nn.Linear(stem_features + slow_features, 2)
        self.emotion_head = nn.Linear(stem_features + slow_features, emotion_outputs) if emotion_outputs else None

    def forward(self, flow):
        fast = self.encoder(flow)
        slow = self.slow_stem(fast)
        for stage, (fast_layers, slow_layers) in enumerate(zip(self.fast, self.slow), start=1):
            for fast_layer, slow_layer in zip(fast_layers, slow_layers):
                fast, slow = fast_layer(fast), slow_layer(slow)
            if str(stage) in self.lateral:
                slow = slow + self.lateral[str(stage)](fast)
        upsampled = slow.repeat_interleave(2, dim=1)[:, :fast.shape[1]]          # nearest, cropped for an odd t
        features = torch.cat([fast, upsampled], dim=-1)
        emotions = None if self.emotion_head is None else self.emotion_head(features)
        return self.head(features), emotions


def from_model_config(model_config: Mapping) -> SpottingNetwork:
    """The network a spotting config's `model` section describes (flow inputs, slow-fast temporal model)."""
    m = model_config
    if m["inputs"] != "flow" or m["temporal"] != "slow_fast":
        raise ValueError(f"the PyTorch reference is the flow stem + slow-fast network; got inputs={m['inputs']!r}, "
                         f"temporal={m['temporal']!r}")
    emotion_outputs = m.get("emotion_outputs") if m.get("emotion_head", True) else None
    return SpottingNetwork(stem_features=m["stem_features"], slow_features=m["slow_features"], stages=m["stages"],
                           layers_per_stage=m["layers_per_stage"], lateral_after=tuple(m["lateral_after"]),
                           d_state=m["d_state"], drop_path=m.get("drop_path", 0.0), emotion_outputs=emotion_outputs)


def _tensor(array, transpose: Sequence[int] | None = None) -> torch.Tensor:
    array = np.array(array, np.float32)                   # a writable copy (JAX's arrays are read-only)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(transpose) if transpose else array))


def _conv_bn(prefix: str, params: Mapping, stats: Mapping) -> dict[str, torch.Tensor]:
    """A Flax ConvBNReLU's weights under torch's names (Conv kernel [k, in, out] -> weight [out, in, k])."""
    conv, bn = params["Conv_0"], params["BatchNorm_0"]
    return {f"{prefix}.conv.weight": _tensor(conv["kernel"], (2, 1, 0)), f"{prefix}.conv.bias": _tensor(conv["bias"]),
            f"{prefix}.bn.weight": _tensor(bn["scale"]), f"{prefix}.bn.bias": _tensor(bn["bias"]),
            f"{prefix}.bn.running_mean": _tensor(stats["BatchNorm_0"]["mean"]),
            f"{prefix}.bn.running_var": _tensor(stats["BatchNorm_0"]["var"]),
            f"{prefix}.bn.num_batches_tracked": torch.tensor(0, dtype=torch.long)}


def _mamba_layer(prefix: str, params: Mapping) -> dict[str, torch.Tensor]:
    block = params["MambaBlock_0"]
    out = {f"{prefix}.norm_in.weight": _tensor(params["LayerNorm_0"]["scale"]),
           f"{prefix}.norm_in.bias": _tensor(params["LayerNorm_0"]["bias"]),
           f"{prefix}.norm_out.weight": _tensor(params["LayerNorm_1"]["scale"]),
           f"{prefix}.norm_out.bias": _tensor(params["LayerNorm_1"]["bias"]),
           f"{prefix}.mixer.conv1d.weight": _tensor(block["conv1d"]["kernel"], (2, 1, 0)),    # [k, 1, d] -> [d, 1, k]
           f"{prefix}.mixer.conv1d.bias": _tensor(block["conv1d"]["bias"]),
           f"{prefix}.mixer.dt_proj.bias": _tensor(block["dt_proj"]["bias"]),
           f"{prefix}.mixer.A_log": _tensor(block["A_log"]), f"{prefix}.mixer.D": _tensor(block["D"])}
    for name in ("in_proj", "x_proj", "dt_proj", "out_proj"):
        out[f"{prefix}.mixer.{name}.weight"] = _tensor(block[name]["kernel"], (1, 0))      # Dense [in, out]
    return out


def state_dict_from_flax(variables: Mapping) -> dict[str, torch.Tensor]:
    """Our spotting model's Flax variables ({'params', 'batch_stats'}) as `SpottingNetwork`'s state_dict."""
    params, stats = variables["params"], variables.get("batch_stats", {})
    state = {}
    for k in range(2):
        name = f"ConvBNReLU_{k}"
        state.update(_conv_bn(f"encoder.{k}", params["encoder"][name], stats["encoder"][name]))
    temporal, temporal_stats = params["temporal"], stats["temporal"]
    for name, layer in temporal.items():
        if name == "slow_stem" or name.startswith("lateral_"):
            prefix = "slow_stem" if name == "slow_stem" else f"lateral.{name.split('_')[1]}"
            state.update(_conv_bn(prefix, layer, temporal_stats[name]))
        else:                                           # fast_<stage>_<layer>, slow_<stage>_<layer>
            path, stage, index = name.split("_")
            state.update(_mamba_layer(f"{path}.{int(stage) - 1}.{index}", layer))
    for head in ("head", "emotion_head"):
        if head in params:
            state[f"{head}.weight"] = _tensor(params[head]["kernel"], (1, 0))
            state[f"{head}.bias"] = _tensor(params[head]["bias"])
    return state


def ported(model_config: Mapping, variables: Mapping) -> SpottingNetwork:
    """`from_model_config(model_config)` holding `variables`' weights (every tensor matched: strict)."""
    network = from_model_config(model_config)
    network.load_state_dict(state_dict_from_flax(variables), strict=True)
    return network
