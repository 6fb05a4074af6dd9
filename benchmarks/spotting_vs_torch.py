"""Paper 002's spotting network, JAX against PyTorch: a train step and inference at paper 002's shapes.

    python -m benchmarks.spotting_vs_torch --json=benchmarks/results/cpu_spotting_vs_torch.json
    python -m benchmarks.spotting_vs_torch --tiny          # CI: a one-stage network, 2 windows of 8 frames
    python -m benchmarks.spotting_vs_torch --nonetwork --parts --cases=samm_lv     # one layer: where time goes

Cases: paper 002's batches (`configs/spotting/<case>.py:variant=paper`): SAMM-LV, 32 windows of 30 frames;
CAS(ME)^3, 256 windows of 50. The network is the paper's (flow stem, 3 stages of 4 Mamba layers a path,
d_state 64, drop-path 0.2, spotting and five-way emotion heads); a train step is the forward pass, paper
002's loss (0.9 x spotting MSE + 0.1 x class-weighted cross-entropy), the backward pass and an Adam update
under its one-cycle schedule. Contenders, all from the same initial weights:
- `jax`: the project's jitted train and predict steps (`tasks.jit_steps`, as training compiles them);
- `torch`: `meint_jax/testing/torch_slow_fast.py` (mamba-ssm's reference scan: a Python loop over time),
  the same loss, `torch.optim.Adam` under `OneCycleLR`, eager;
- `torch.compile`: the same, each Mamba layer compiled (`--torch_compile=layers`, torch's regional
  compilation: one graph serves a path's 12 layers) or the whole network (`model`: every layer's loop
  unrolled into one graph, far longer to compile); a failure to compile is reported, not raised;
- `mamba_ssm` (CUDA, where `mamba_ssm` imports): mamba-ssm's own `Mamba` mixers, weights copied, in place of
  the reference ones (its fused CUDA scan).
On a machine with a GPU both frameworks run there (JAX's default backend; PyTorch's `cuda`, with TF32
matrix products as JAX's default precision has them). Times are medians of --repeats calls after --warmup,
the contenders alternating call by call (`timing.py`); the first call (tracing, compilation) is timed apart.
`--parts` also times one Mamba layer of each path at the case's shape, forward and backward, against its
selective scan alone. `--json=PATH` writes every figure.
"""

from __future__ import annotations

import os

from meint_jax.common import cli, files

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")   # on a GPU, leave memory to PyTorch too

import copy
import dataclasses
import json
import platform
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from benchmarks.timing import alternating_medians
from configs.spotting import casme3, samm_lv
from meint_jax import tasks
from meint_jax.common import allocator
from meint_jax.data import emotion_classes
from meint_jax.models import ssm
from meint_jax.models.slow_fast import MambaLayer
from meint_jax.training import state as training_state

FLAGS = flags.FLAGS
CASES = {"samm_lv": samm_lv, "casme3": casme3}     # the smaller first: its rows print while the other runs
KINDS = ("train", "infer")
TORCH_COMPILE = ("layers", "model")


def define_flags():
    """Defined only when run as a script, so importing the module (tests) adds no absl flags."""
    flags.DEFINE_list("cases", list(CASES), f"Paper 002's datasets whose shapes to time: {', '.join(CASES)}.")
    flags.DEFINE_integer("batch", 0, "Windows per batch for every case; 0: paper 002's.")
    flags.DEFINE_bool("tiny", False, "CI size: a one-stage network, 2 windows of 8 frames, no drop-path.")
    flags.DEFINE_integer("warmup", 1, "Untimed calls after the first.")
    flags.DEFINE_integer("repeats", 3, "Timed calls; the median is reported.")
    flags.DEFINE_enum("scan", "sequential", list(ssm.SCANS), "The JAX model's selective scan (model.scan).")
    flags.DEFINE_enum("torch_compile", "layers", [*TORCH_COMPILE, "none"],
                      "Also time torch.compile: of each Mamba layer (layers), of the whole network (model), or not.")
    flags.DEFINE_integer("torch_threads", 0, "PyTorch's CPU threads (torch.set_num_threads); 0: its default, one "
                         "a core. On a loaded machine 1 can be far faster: its threads wait on each other at every "
                         "operation.")
    flags.DEFINE_bool("mamba_ssm", True, "On CUDA, also time mamba-ssm's kernels when it is installed.")
    flags.DEFINE_bool("parts", False, "Also time one Mamba layer against its selective scan alone.")
    flags.DEFINE_bool("network", True, "Time the whole network (--nonetwork --parts: the layers alone).")
    flags.DEFINE_string("json", None, "Write the results here.")


def case_config(name: str, *, tiny: bool = False, scan: str = "sequential", batch: int = 0):
    """Paper 002's config for the case (`variant=paper`), with its emotion classes recorded as a run would."""
    config = CASES[name].get_config("variant=paper")
    d = config.data
    classes = emotion_classes.classes(d.emotion_labels, d.others)
    config.model.emotion_outputs = len(classes) + 1
    config.loss.emotion_weights = (1.0,) * len(classes) + (float(config.loss.neutral_weight),)
    config.model.scan = scan
    if tiny:
        config.model.update(stages=1, layers_per_stage=1, lateral_after=(1,), drop_path=0.0)
        d.window, config.train.batch_size = 8, 2
    if batch:
        config.train.batch_size = batch
    return config


def random_batch(config, seed: int = 0) -> dict:
    """A batch of windows as the pipeline gives one: flow features, targets, a mask and emotion labels."""
    b, t = config.train.batch_size, config.data.window
    rng = np.random.default_rng(seed)
    return {"inputs": rng.normal(size=(b, t, 36)).astype(np.float32),
            "targets": (rng.uniform(size=(b, t, 2)) < 0.2).astype(np.float32),
            "mask": np.ones((b, t), np.float32),
            "emotions": rng.integers(0, config.model.emotion_outputs, (b, t)).astype(np.int32)}


@dataclasses.dataclass
class Contender:
    """One framework's train step and forward pass, ready to time."""

    calls: dict            # "train" / "infer" -> (fn, sync)
    facts: dict            # figures that need no timing (the first call's loss, the device, ...)


def jax_contender(config, batch: dict) -> tuple[Contender, dict]:
    """(the project's jitted steps on `batch`, the initial variables as numpy, for the PyTorch contenders)."""
    model, tx = tasks.create_model(config), training_state.create_optimizer(config.train)
    state = training_state.init_state(model, tx, (1, config.data.window, 36), seed=0, dtype=jnp.float32)
    initial = jax.device_get({"params": state.params, "batch_stats": state.batch_stats})
    train_step, predict_step = tasks.jit_steps(model, tx, config)
    device_batch = jax.device_put(batch)
    holder = {"state": state}

    def train_once():
        holder["state"], metrics = train_step(holder["state"], device_batch)
        return metrics["loss"]

    def sync(x):
        return jax.block_until_ready(x)

    facts = {"device": str(jax.devices()[0].device_kind), "scan": config.model.scan}
    return Contender({"train": (train_once, sync), "infer": (lambda: predict_step(holder["state"],
                                                                                  device_batch["inputs"]), sync)},
                     facts), initial


def paper_loss(logits, emotions, batch: dict, loss_config):
    """`tasks/spotting/steps.py`'s loss in PyTorch: weighted spotting MSE on sigmoid scores plus the emotion
    head's class-weighted cross-entropy over the frames the mask keeps (averaged by `loss.emotion_reduction`)."""
    import torch
    import torch.nn.functional as F

    weights = torch.tensor([loss_config.micro_weight, loss_config.macro_weight], device=logits.device)
    mask = batch["mask"]
    error = (torch.sigmoid(logits) - batch["targets"]) ** 2 * weights
    mse = (error * mask[..., None]).sum() / torch.clamp(mask.sum() * weights.sum(), min=1.0)
    labels = batch["emotions"]
    nll = F.cross_entropy(emotions.flatten(0, 1).float(), labels.flatten(), reduction="none").view_as(mask)
    example = torch.tensor(loss_config.emotion_weights, device=logits.device)[labels] * mask
    if loss_config.get("emotion_reduction", "weighted_mean") == "mean":
        ce = (nll * example).sum() / torch.clamp(mask.sum(), min=1.0)
    else:
        ce = (nll * example).sum() / torch.clamp(example.sum(), min=1e-6)
    return loss_config.spotting_weight * mse + loss_config.emotion_weight * ce


def with_mamba_ssm(network):
    """`network` with each reference mixer replaced by mamba-ssm's `Mamba` holding the same weights."""
    from mamba_ssm.modules.mamba_simple import Mamba

    from meint_jax.testing import torch_slow_fast

    for layer in network.modules():
        if isinstance(layer, torch_slow_fast.MambaLayer):
            ref = layer.mixer
            d_model = ref.in_proj.in_features
            fused = Mamba(d_model, ref.d_state, ref.conv1d.kernel_size[0], ref.d_inner // d_model)
            fused.load_state_dict(ref.state_dict())
            layer.mixer = fused.to(ref.in_proj.weight.device)
    return network


def compiled(network, how: str):
    """`network` under torch.compile: each Mamba layer apart ('layers': torch's regional compilation, one
    graph for the 12 layers of a path, the loop over time unrolled once), or the whole network ('model': one
    graph with every layer's loop unrolled)."""
    import torch

    from meint_jax.testing import torch_slow_fast

    if how == "model":
        return torch.compile(network, dynamic=False)
    if how != "layers":
        raise ValueError(f"unknown torch.compile mode {how!r}; use one of {TORCH_COMPILE}")
    # One graph per path (its length), drop-path rate (a constant of the graph) and train/eval: 12, over
    # dynamo's default limit of 8 (past which it runs the layer eagerly). Static shapes: the loop over time
    # is unrolled for each length.
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
    for layer in network.modules():
        if isinstance(layer, torch_slow_fast.MambaLayer):
            layer.compile(dynamic=False)
    return network


def torch_contender(config, variables: dict, batch: dict, kind: str, device: str) -> Contender:
    """PyTorch's train step and forward pass: `kind` is 'eager', 'mamba_ssm' or one of TORCH_COMPILE
    (torch.compile so). Adam under paper 002's OneCycleLR when the config trains with it, as JAX's step does."""
    import torch

    from meint_jax.testing import torch_slow_fast

    torch.manual_seed(0)
    network = torch_slow_fast.ported(config.model, variables).to(device)
    if kind == "mamba_ssm":
        network = with_mamba_ssm(network)
    forward = compiled(network, kind) if kind in TORCH_COMPILE else network
    optimizer = torch.optim.Adam(network.parameters(), lr=config.train.learning_rate)
    scheduler = None
    if config.train.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, config.train.learning_rate, total_steps=config.train.num_steps,
            pct_start=config.train.warmup_steps / config.train.num_steps)
    tensors = {k: torch.from_numpy(v).to(device) for k, v in batch.items()}
    tensors["emotions"] = tensors["emotions"].long()

    def train_once():
        network.train()
        optimizer.zero_grad(set_to_none=True)
        logits, emotions = forward(tensors["inputs"])
        loss = paper_loss(logits, emotions, tensors, config.loss)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return loss

    def infer():
        network.eval()
        with torch.no_grad():
            logits, emotions = forward(tensors["inputs"])
            return torch.cat([torch.sigmoid(logits), torch.softmax(emotions, dim=-1)], dim=-1)

    if device == "cuda":
        sync = lambda _: torch.cuda.synchronize()
    else:
        sync = lambda out: out.sum().item()
    return Contender({"train": (train_once, sync), "infer": (infer, sync)},
                     {"device": device, "torch_threads": torch.get_num_threads()})


def first_calls(contenders: dict) -> tuple[dict, dict]:
    """({name: {kind: seconds}}, {name: loss}) of each contender's first train and infer call (compilation);
    a contender whose first call fails is dropped and its error returned as its 'error' figure."""
    seconds, losses = {}, {}
    for name in list(contenders):
        seconds[name] = {}
        for kind in KINDS:
            fn, sync = contenders[name].calls[kind]
            start = time.perf_counter()
            try:
                out = fn()
                sync(out)
            except Exception as error:  # torch.compile needs a C++ compiler, Triton, ...: report, go on
                contenders[name].facts["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
                break
            seconds[name][kind] = time.perf_counter() - start
            if kind == "train":
                losses[name] = float(np.asarray(out.detach().cpu() if hasattr(out, "detach") else out))
    return seconds, losses


def measure_case(name: str, config, *, warmup: int, repeats: int, torch_compile: str, with_mamba_ssm: bool) -> dict:
    """Every contender's rows for one case: medians, first calls, and throughput."""
    batch = random_batch(config)
    jax_case, variables = jax_contender(config, batch)
    contenders = {"jax": jax_case}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda":
            torch.set_float32_matmul_precision("high")    # TF32, as JAX's default precision on a GPU
        kinds = {"torch": "eager"}
        if torch_compile in TORCH_COMPILE:
            kinds["torch.compile"] = torch_compile
        if with_mamba_ssm and device == "cuda" and _has_mamba_ssm():
            kinds["mamba_ssm"] = "mamba_ssm"
        for contender, kind in kinds.items():
            contenders[contender] = torch_contender(config, variables, batch, kind, device)
            contenders[contender].facts["kind"] = kind
    first, losses = first_calls(contenders)
    timed = {n: c for n, c in contenders.items() if "error" not in c.facts}
    medians = {kind: alternating_medians({n: c.calls[kind] for n, c in timed.items()}, warmup, repeats)
               for kind in KINDS}
    b, t = config.train.batch_size, config.data.window
    rows = {}
    for n, c in contenders.items():
        row = {**c.facts, "first_train_s": first[n].get("train"), "first_infer_s": first[n].get("infer"),
               "first_loss": losses.get(n)}
        if n in timed:
            row.update(train_s=medians["train"][n], infer_s=medians["infer"][n],
                       train_windows_per_s=b / medians["train"][n], infer_frames_per_s=b * t / medians["infer"][n])
        rows[n] = row
    return {"case": name, "batch": b, "window": t, "rows": rows, **ratios(rows)}


def _has_mamba_ssm() -> bool:
    try:
        import mamba_ssm  # noqa: F401
    except Exception:  # ImportError, or a build that does not match this torch/CUDA
        return False
    return True


def ratios(rows: dict) -> dict:
    """JAX's speed over the fastest PyTorch contender's, per kind (>1: JAX faster)."""
    out = {}
    for kind in KINDS:
        others = {n: r[f"{kind}_s"] for n, r in rows.items() if n != "jax" and r.get(f"{kind}_s")}
        if "jax" in rows and rows["jax"].get(f"{kind}_s") and others:
            fastest = min(others, key=others.get)
            out[f"{kind}_fastest_torch"] = fastest
            out[f"{kind}_jax_speedup"] = others[fastest] / rows["jax"][f"{kind}_s"]
    return out


PART_KINDS = ("layer_forward", "scan_forward", "layer_train", "scan_train")


def layer_parts(config, device: str | None, repeats: int, torch_compile: bool = False) -> list[dict]:
    """One Mamba layer of each path at the case's batch and length against its selective scan alone (same
    shapes): the forward pass (inference) and forward + backward of the output's sum (training), in JAX and,
    when installed, PyTorch (and with `torch_compile` the PyTorch layer compiled as `--torch_compile=layers`
    compiles it). Rows of milliseconds per (path, framework), with the scan's share of the layer's time."""
    b, t = config.train.batch_size, config.data.window
    rows = []
    for path, width, steps in (("fast", config.model.stem_features, t),
                               ("slow", config.model.slow_features, -(-t // 2))):
        d, n = 2 * width, config.model.d_state
        rng = np.random.default_rng(0)
        x = rng.normal(size=(b, steps, width)).astype(np.float32)
        scan_inputs = [rng.normal(size=(b, steps, d)), rng.uniform(0.001, 0.1, (b, steps, d)),
                       -np.broadcast_to(np.arange(1, n + 1), (d, n)), rng.normal(size=(b, steps, n)),
                       rng.normal(size=(b, steps, n)), np.ones(d)]
        scan_inputs = [np.asarray(a, np.float32) for a in scan_inputs]
        calls = {"jax": _jax_parts(config, x, scan_inputs)}
        if device is not None:
            calls.update(_torch_parts(width, n, x, scan_inputs, device, torch_compile))
        ms = {}
        for kind in PART_KINDS:
            timed = {name: parts[kind] for name, parts in calls.items() if kind in parts}
            for name, seconds in alternating_medians(timed, 1, repeats).items():
                ms.setdefault(name, {})[f"{kind}_ms"] = 1e3 * seconds
        for name, row in ms.items():
            for kind in ("forward", "train"):
                if f"scan_{kind}_ms" in row:
                    row[f"scan_{kind}_share"] = row[f"scan_{kind}_ms"] / row[f"layer_{kind}_ms"]
            rows.append({"path": path, "shape": f"{b}x{steps}x{width}", "framework": name, **row})
    return rows


def _jax_parts(config, x, scan_inputs) -> dict:
    layer = MambaLayer(config.model.d_state, scan=config.model.scan)
    params = layer.init(jax.random.PRNGKey(0), x)
    scan = lambda *a: ssm.selective_scan(*a, config.model.scan)
    fns = {"layer_forward": (jax.jit(layer.apply), (params, x)),
           "scan_forward": (jax.jit(scan), scan_inputs),
           "layer_train": (jax.jit(jax.grad(lambda p, x: layer.apply(p, x).sum(), argnums=(0, 1))), (params, x)),
           "scan_train": (jax.jit(jax.grad(lambda *a: scan(*a).sum(), argnums=(0, 1, 3, 4))), scan_inputs)}
    return {kind: (lambda fn=fn, args=args: fn(*args), jax.block_until_ready) for kind, (fn, args) in fns.items()}


def _torch_parts(width: int, d_state: int, x, scan_inputs, device: str, torch_compile: bool) -> dict:
    """PyTorch's counterparts of `_jax_parts`: the reference layer and `selective_scan_ref` (its layout)."""
    import torch

    from meint_jax.testing import torch_slow_fast

    layer = torch_slow_fast.MambaLayer(width, d_state).to(device)
    x_t = torch.from_numpy(x).to(device).requires_grad_()
    u, delta, A, B, C, D = (torch.from_numpy(a).to(device) for a in scan_inputs)
    u, delta, B, C = (a.transpose(1, 2).contiguous().requires_grad_() for a in (u, delta, B, C))
    scan_args = (u, delta, A, B, C, D)

    def forward(fn, *args):
        with torch.no_grad():
            return fn(*args)

    def train(fn, *args):
        if isinstance(fn, torch.nn.Module):
            fn.zero_grad(set_to_none=True)
        for a in args:
            a.grad = None
        out = fn(*args)
        out.sum().backward()
        return args[0].grad

    sync = (lambda _: torch.cuda.synchronize()) if device == "cuda" else (lambda out: out.sum().item())
    scan = torch_slow_fast.selective_scan_ref
    parts = {"torch": {"layer_forward": (lambda: forward(layer, x_t), sync),
                       "scan_forward": (lambda: forward(scan, *scan_args), sync),
                       "layer_train": (lambda: train(layer, x_t), sync),
                       "scan_train": (lambda: train(scan, *scan_args), sync)}}
    if torch_compile:
        compiled_layer = copy.deepcopy(layer)
        compiled_layer.compile(dynamic=False)
        parts["torch.compile"] = {"layer_forward": (lambda: forward(compiled_layer, x_t), sync),
                                  "layer_train": (lambda: train(compiled_layer, x_t), sync)}
    return parts


def _fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def table(results: list[dict]) -> str:
    lines = ["| case (windows x frames) | contender | train s/step | train windows/s | first train call s "
             "| infer s/batch | infer frames/s | first infer call s | JAX speed-up train | JAX speed-up infer |",
             "|" + "---|" * 10]
    for r in results:
        jax_row = r["rows"]["jax"]
        for name, row in r["rows"].items():
            if "error" in row:
                lines.append(f"| {r['case']} ({r['batch']}x{r['window']}) | {name} | failed: {row['error'][:80]} "
                             "| | | | | | | |")
                continue
            speed = {kind: (row[f"{kind}_s"] / jax_row[f"{kind}_s"] if name != "jax" and jax_row.get(f"{kind}_s")
                            else None) for kind in KINDS}
            lines.append(
                f"| {r['case']} ({r['batch']}x{r['window']}) | {name} | {_fmt(row['train_s'], 3)} "
                f"| {_fmt(row['train_windows_per_s'], 1)} | {_fmt(row['first_train_s'], 1)} "
                f"| {_fmt(row['infer_s'], 3)} | {_fmt(row['infer_frames_per_s'], 0)} "
                f"| {_fmt(row['first_infer_s'], 1)} | {_fmt(speed['train'])} | {_fmt(speed['infer'])} |")
    return "\n".join(lines)


def parts_table(parts: list[dict]) -> str:
    lines = ["| case | path (windows x frames x width) | framework | layer forward ms | scan forward ms | scan share "
             "| layer train ms | scan train ms | scan share |", "|" + "---|" * 9]
    for p in parts:
        lines.append(f"| {p['case']} | {p['path']} ({p['shape']}) | {p['framework']} "
                     f"| {_fmt(p['layer_forward_ms'], 1)} | {_fmt(p.get('scan_forward_ms'), 1)} "
                     f"| {_fmt(p.get('scan_forward_share'))} | {_fmt(p['layer_train_ms'], 1)} "
                     f"| {_fmt(p.get('scan_train_ms'), 1)} | {_fmt(p.get('scan_train_share'))} |")
    return "\n".join(lines)


def environment() -> dict:
    env = {"device": jax.devices()[0].device_kind, "platform": jax.devices()[0].platform,
           "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
           "jax": jax.__version__, "python": platform.python_version(), "allocator": allocator.current()}
    try:
        import torch

        env.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                   torch_cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    except ImportError:
        pass
    return env


def run(cases, *, tiny: bool, batch: int, scan: str, warmup: int, repeats: int, torch_compile: str = "layers",
        with_mamba_ssm: bool = True, with_parts: bool = False, with_network: bool = True,
        on_case: Callable[[dict], None] | None = None) -> dict:
    """The report of every case; `on_case` gets the report so far after each (a run cut short keeps them)."""
    results, parts = [], []
    for name in cases:
        if name not in CASES:
            raise ValueError(f"unknown case {name!r}; use one of {', '.join(CASES)}")
        config = case_config(name, tiny=tiny, scan=scan, batch=batch)
        if with_network:
            results.append(measure_case(name, config, warmup=warmup, repeats=repeats,
                                        torch_compile=torch_compile, with_mamba_ssm=with_mamba_ssm))
        if with_parts:
            parts += [{"case": name, **row} for row in layer_parts(config, _torch_device(), repeats,
                                                                   torch_compile in TORCH_COMPILE)]
        report = {"environment": environment(), "warmup": warmup, "repeats": repeats, "results": results,
                  "table": table(results)}
        if parts:
            report.update(parts=parts, parts_table=parts_table(parts))
        if on_case:
            on_case(report)
    return report


def _torch_device() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return "cuda" if torch.cuda.is_available() else "cpu"


def main(argv):
    del argv
    if FLAGS.torch_threads:
        import torch

        torch.set_num_threads(FLAGS.torch_threads)
    warmup, repeats = (1, 2) if FLAGS.tiny else (FLAGS.warmup, FLAGS.repeats)
    def write(report):
        if report["results"]:
            print(table(report["results"][-1:]), flush=True)
        if FLAGS.json:
            os.makedirs(os.path.dirname(os.path.abspath(FLAGS.json)), exist_ok=True)
            files.write_text(FLAGS.json, json.dumps(report, indent=2))

    report = run(FLAGS.cases, tiny=FLAGS.tiny, batch=FLAGS.batch, scan=FLAGS.scan, warmup=warmup, repeats=repeats,
                 torch_compile=FLAGS.torch_compile, with_mamba_ssm=FLAGS.mamba_ssm, with_parts=FLAGS.parts,
                 with_network=FLAGS.network, on_case=write)
    print(json.dumps(report["environment"]))
    if report["results"]:
        print(report["table"])
    for r in report["results"]:
        speed = ", ".join(f"{kind} {r[f'{kind}_jax_speedup']:.2f}x {r[f'{kind}_fastest_torch']}"
                          for kind in KINDS if f"{kind}_jax_speedup" in r)
        print(f"{r['case']}: JAX's speed over the faster PyTorch: {speed or '-'}")
    if "parts_table" in report:
        print(report["parts_table"])


if __name__ == "__main__":
    define_flags()
    jnp.zeros(())  # Initialise the backend before timing anything.
    app.run(main)
