"""JAX vs PyTorch on whatever device is present: train step, inference, input pipeline.

    python -m benchmarks.run --json=benchmarks/results/cpu.json     # the paper's shapes and a small one
    python -m benchmarks.run --tiny                                  # CI: tiny shapes, two steps

For each shape (clips x frames x pixels) it measures the jit-compiled train step
(compile time, median step time, clips/s, frames/s, model FLOPs from XLA's cost
analysis, achieved FLOP/s, MFU on GPU/TPU, XLA's buffer sizes) and forward pass
(one clip and a whole batch), the same model and step in plain PyTorch
(`meint_jax.testing.torch_reference`: ResNet18 + nn.GRU(bidirectional) + Linear,
Adam, the same loss) in this process, and the clips/s `input_pipeline` delivers
from built tfrecords. Times are medians of --repeats calls after --warmup calls,
JAX and PyTorch taking turns call by call, so that both see the same machine.
"""

from __future__ import annotations

from meint_jax.common import cli, files

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

import contextlib
import dataclasses
import json
import os
import platform
import time
from typing import Callable

import jax
import jax.numpy as jnp
from absl import app, flags

from benchmarks import model_steps
from benchmarks.timing import alternating_medians
from meint_jax.common import allocator

FLAGS = flags.FLAGS


def define_flags():
    """Defined only when run as a script, so importing the module (tests) adds no absl flags."""
    flags.DEFINE_list("shapes", ["8x16x224", "8x16x112", "2x8x64"], "Clips x frames x pixels.")
    flags.DEFINE_bool("tiny", False, "CI size: one tiny shape, two timed steps, the tiny dataset.")
    flags.DEFINE_integer("warmup", 2, "Untimed calls after compilation.")
    flags.DEFINE_integer("repeats", 5, "Timed calls; the median is reported.")
    flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16"],
                      "Compute dtype: JAX's (parameters stay float32); PyTorch runs under bfloat16 autocast then.")
    flags.DEFINE_enum("cpu_convolutions", "xla", ["xla", "ynnpack"],
                      "On CPU, whose convolution kernels XLA uses (meint_jax/common/xla_options.py; jaxlib's default: "
                      "ynnpack).")
    flags.DEFINE_bool("torch", True, "Also measure PyTorch (skipped when it is not installed).")
    flags.DEFINE_bool("pipeline", True, "Also measure the input pipeline (needs TensorFlow and a built dataset).")
    flags.DEFINE_string("data_dir", None, "TFDS data_dir for the pipeline measurement (built on first use).")
    flags.DEFINE_string("json", None, "Write the results here.")


# Dense peak FLOP/s per chip for MFU (bf16 tensor cores; float32 uses the same peak, as MFU is usually quoted).
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "TPU v4": 275e12,
              "TPU v5 lite": 197e12, "TPU v5e": 197e12, "TPU v5p": 459e12, "TPU v6 lite": 918e12}
LOSS = dict(smooth_weight=0.1, rank_weight=0.1, rank_margin=0.05)


def parse_shape(text: str) -> tuple[int, int, int]:
    batch, steps, size = (int(x) for x in text.lower().split("x"))
    return batch, steps, size


def _peak_flops(device) -> float | None:
    if device.platform == "cpu":
        return None
    kind = device.device_kind
    return next((v for k, v in PEAK_FLOPS.items() if k.lower() in kind.lower()), None)


def _cost(compiled) -> float | None:
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else {}
    return float(analysis.get("flops", 0.0)) or None


def _buffers_mib(compiled) -> float | None:
    try:
        m = compiled.memory_analysis()
        total = m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes
        return round(total / 2 ** 20, 1)
    except Exception:  # Not every backend reports it.
        return None


@dataclasses.dataclass
class Contender:
    """One framework's train step and forward passes, ready to time, and how to report them."""

    calls: dict            # "train" / "infer" / "infer_one" -> (fn, sync)
    row: Callable          # {"train": s, "infer": s, "infer_one": s} -> the table row


def jax_contender(shape, dtype: str, cpu_convolutions: str = "xla") -> Contender:
    batch, steps, size = shape
    built = model_steps.build(shape, dtype=dtype, cpu_convolutions=cpu_convolutions)
    device = jax.devices()[0]
    frames_d, targets_d = jax.device_put(built.frames, device), jax.device_put(built.targets, device)
    start = time.perf_counter()
    compiled = built.train_step.lower(built.state, {"frames": frames_d, "targets": targets_d}).compile()
    compile_s = time.perf_counter() - start
    holder = {"state": built.state}

    def train_once():
        holder["state"], metrics = compiled(holder["state"], {"frames": frames_d, "targets": targets_d})
        return metrics["loss"]

    predict = built.predict_step
    flops, peak = _cost(compiled), _peak_flops(device)

    def row(seconds):
        step_s = seconds["train"]
        out = {"framework": "jax", "dtype": dtype, "train_s": step_s, "train_compile_s": compile_s,
               "train_clips_per_s": batch / step_s, "train_frames_per_s": batch * steps / step_s,
               "train_gflops_per_step": flops / 1e9 if flops else None,
               "train_achieved_tflops": flops / step_s / 1e12 if flops else None,
               "train_mfu": flops / step_s / peak if flops and peak else None,
               "train_xla_buffers_mib": _buffers_mib(compiled),
               "infer_frames_per_s": batch * steps / seconds["infer"],
               "infer_one_clip_frames_per_s": steps / seconds["infer_one"],
               "recompiled": predict._cache_size() != 2}   # one entry per input shape (batch, one clip)
        if device.platform == "gpu":
            out["peak_memory_mib"] = device.memory_stats().get("peak_bytes_in_use", 0) / 2 ** 20
        return out

    sync = jax.block_until_ready
    return Contender({"train": (train_once, sync),
                      "infer": (lambda: predict(holder["state"], frames_d), sync),
                      "infer_one": (lambda: predict(holder["state"], frames_d[:1]), sync)}, row)


def torch_contender(shape, dtype: str = "float32") -> Contender | None:
    """The paper's model in plain PyTorch eager; with `dtype="bfloat16"` under `torch.autocast`, PyTorch's
    mixed precision (convolutions, GRU and matrix products in bfloat16, parameters and optimiser in float32),
    the counterpart of the JAX model's bfloat16 compute with float32 parameters."""
    try:
        import torch
    except ImportError:
        return None
    from meint_jax.testing import torch_reference

    batch, steps, size = shape
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model = torch_reference.IntensityModel().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    frames, targets = model_steps.random_clips(batch, steps, size)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 1, 3, 1, 1)
    frames_t = torch.from_numpy(frames).to(device)
    targets_t = torch.from_numpy(targets).to(device)

    def precision():
        if dtype == "bfloat16":
            return torch.autocast(device_type=device, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare(x):
        return (x.permute(0, 1, 4, 2, 3).float() / 255.0 - mean) / std

    def loss_fn(pred, y):
        mse = ((pred - y) ** 2).mean()
        smooth = ((pred[:, 1:] - pred[:, :-1]) ** 2).mean()
        apex = y.argmax(dim=1)
        at_apex = pred.gather(1, apex[:, None])
        others = torch.ones_like(pred).scatter_(1, apex[:, None], 0.0)
        rank = (torch.relu(LOSS["rank_margin"] - (at_apex - pred)) * others).sum() / others.sum()
        return mse + LOSS["smooth_weight"] * smooth + LOSS["rank_weight"] * rank

    def train_once():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with precision():
            pred = model(prepare(frames_t))
        loss = loss_fn(pred.float(), targets_t)
        loss.backward()
        optimizer.step()
        return loss

    def infer(x):
        model.eval()
        with torch.no_grad(), precision():
            return model(prepare(x))

    sync = (lambda _: torch.cuda.synchronize()) if device == "cuda" else (lambda loss: loss.item())
    start = time.perf_counter()
    sync(train_once())
    first_s = time.perf_counter() - start

    def row(seconds):
        out = {"framework": "torch", "dtype": dtype, "train_s": seconds["train"], "train_first_step_s": first_s,
               "train_clips_per_s": batch / seconds["train"], "train_frames_per_s": batch * steps / seconds["train"],
               "infer_frames_per_s": batch * steps / seconds["infer"],
               "infer_one_clip_frames_per_s": steps / seconds["infer_one"], "torch_threads": torch.get_num_threads()}
        if device == "cuda":
            out["peak_memory_mib"] = torch.cuda.max_memory_allocated() / 2 ** 20
        return out

    infer_sync = (lambda _: torch.cuda.synchronize()) if device == "cuda" else (lambda y: y.sum().item())
    return Contender({"train": (train_once, sync), "infer": (lambda: infer(frames_t), infer_sync),
                      "infer_one": (lambda: infer(frames_t[:1]), infer_sync)}, row)


def measure(contenders: dict, warmup: int, repeats: int) -> dict:
    """{name: row}: each measurement (train, infer, infer_one) timed alternating between the contenders."""
    seconds = {name: {} for name in contenders}
    for kind in ("train", "infer", "infer_one"):
        medians = alternating_medians({name: c.calls[kind] for name, c in contenders.items()}, warmup, repeats)
        for name, median in medians.items():
            seconds[name][kind] = median
    return {name: c.row(seconds[name]) for name, c in contenders.items()}


def measure_pipeline(shape, dataset: str, data_dir: str | None, batches: int) -> dict | None:
    """Clips/s that `input_pipeline.train_batches` delivers from built tfrecords (decode, sample, augment)."""
    try:
        import tensorflow_datasets as tfds

        import data_builders  # noqa: F401  Registers synthetic_me.
        from meint_jax.data.clips import pipeline as input_pipeline
    except ImportError:
        return None
    batch, steps, size = shape
    builder = tfds.builder(dataset, data_dir=data_dir)
    builder.download_and_prepare()
    subjects = input_pipeline.list_subjects(builder)
    stream = input_pipeline.train_batches(
        builder, subjects, input_pipeline.WindowSpec("mixed", steps, jitter=True), batch_size=batch,
        image_size=size, label_shape="triangular", seed=0,
        augment=input_pipeline.Augmentation(flip=True, min_crop=0.85, brightness=0.1, contrast=0.2))
    for _ in range(3):   # fills caches and prefetch buffers
        next(stream)
    start = time.perf_counter()
    for _ in range(batches):
        next(stream)
    seconds = time.perf_counter() - start
    return {"framework": "input_pipeline", "dataset": dataset, "pipeline_clips_per_s": batches * batch / seconds}


def _fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def table(results: list[dict]) -> str:
    lines = ["| shape | framework | train s/step | train clips/s | train frames/s | compile s | GFLOP/step "
             "| TFLOP/s | MFU | infer frames/s (batch) | infer frames/s (1 clip) | JAX/PyTorch train | "
             "JAX/PyTorch infer |", "|" + "---|" * 13]
    for r in results:
        jax_row, torch_row, pipe = r["jax"], r.get("torch"), r.get("pipeline")
        for row in filter(None, (jax_row, torch_row)):
            ratio_train = ratio_infer = None
            if row is jax_row and torch_row:
                ratio_train = jax_row["train_clips_per_s"] / torch_row["train_clips_per_s"]
                ratio_infer = jax_row["infer_frames_per_s"] / torch_row["infer_frames_per_s"]
            lines.append(
                f"| {r['shape']} | {row['framework']} ({row['dtype']}) | {_fmt(row['train_s'], 3)} "
                f"| {_fmt(row['train_clips_per_s'])} | {_fmt(row['train_frames_per_s'], 1)} "
                f"| {_fmt(row.get('train_compile_s'), 1)} | {_fmt(row.get('train_gflops_per_step'), 0)} "
                f"| {_fmt(row.get('train_achieved_tflops'), 3)} | {_fmt(row.get('train_mfu'), 3)} "
                f"| {_fmt(row['infer_frames_per_s'], 1)} | {_fmt(row['infer_one_clip_frames_per_s'], 1)} "
                f"| {_fmt(ratio_train)} | {_fmt(ratio_infer)} |")
        if pipe:
            lines.append(f"| {r['shape']} | input pipeline ({pipe['dataset']}) | "
                         f"| {_fmt(pipe['pipeline_clips_per_s'])} "
                         f"| | | | | | | | {_fmt(pipe['pipeline_clips_per_s'] / jax_row['train_clips_per_s'])}x "
                         "the JAX train step's clips/s | |")
    return "\n".join(lines)


def run(shapes, *, tiny: bool, dtype: str, warmup: int, repeats: int, with_torch: bool, with_pipeline: bool,
        data_dir: str | None, cpu_convolutions: str = "xla") -> dict:
    results = []
    for text in shapes:
        shape = parse_shape(text)
        contenders = {"jax": jax_contender(shape, dtype, cpu_convolutions)}
        if with_torch and (torch_case := torch_contender(shape, dtype)):
            contenders["torch"] = torch_case
        entry = {"shape": text, **measure(contenders, warmup, repeats)}
        if with_pipeline:
            entry["pipeline"] = measure_pipeline(shape, "synthetic_me/tiny" if tiny else "synthetic_me/default",
                                                 data_dir, 2 if tiny else 10)
        results.append(entry)
    environment = {"device": jax.devices()[0].device_kind, "platform": jax.devices()[0].platform,
                   "device_count": jax.device_count(), "cpu_count": os.cpu_count(), "machine": platform.processor()
                   or platform.machine(), "jax": jax.__version__, "python": platform.python_version(),
                   "xla_flags": os.environ.get("XLA_FLAGS", ""), "cpu_convolutions": cpu_convolutions,
                   "allocator": allocator.current()}
    try:
        import flax

        environment["flax"] = flax.__version__
        import torch

        environment["torch"] = torch.__version__
    except ImportError:
        pass
    return {"environment": environment, "warmup": warmup, "repeats": repeats, "results": results,
            "table": table(results)}


def main(argv):
    del argv
    shapes = ["2x4x32"] if FLAGS.tiny else FLAGS.shapes
    warmup, repeats = (1, 2) if FLAGS.tiny else (FLAGS.warmup, FLAGS.repeats)
    report = run(shapes, tiny=FLAGS.tiny, dtype=FLAGS.dtype, warmup=warmup, repeats=repeats,
                 with_torch=FLAGS.torch, with_pipeline=FLAGS.pipeline, data_dir=FLAGS.data_dir,
                 cpu_convolutions=FLAGS.cpu_convolutions)
    print(json.dumps(report["environment"]))
    print(report["table"])
    if FLAGS.json:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.json)), exist_ok=True)
        files.write_text(FLAGS.json, json.dumps(report, indent=2))


if __name__ == "__main__":
    define_flags()
    jnp.zeros(())  # Initialise the backend before timing anything.
    app.run(main)
