"""The benchmark's tiny mode runs (so it cannot rot) and its FLOP count agrees with the convolutions'."""

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from meint_jax import tasks
from meint_jax.testing import torch_reference  # noqa: E402
from tests import REPO


def conv_flops_per_frame(size: int) -> float:
    """2 x multiply-adds of every convolution of ResNet18 on one frame, counted with torch hooks."""
    total = []

    def hook(module, inputs, output):
        kh, kw = module.kernel_size
        total.append(2.0 * output.numel() * module.in_channels * kh * kw / module.groups)

    run_with_conv_hook(size, hook)
    return sum(total)


def run_with_conv_hook(size: int, hook) -> None:
    """One frame of `size` px through torch's ResNet18 with `hook` on every convolution."""
    net = torch_reference.ResNet18().eval()
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(hook)
    with torch.no_grad():
        net(torch.zeros(1, 3, size, size))


@pytest.mark.slow
def test_tiny_benchmark_reports_every_measurement(tiny_builder, tmp_path):
    data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.run", "--tiny", f"--data_dir={data_dir}",
                             f"--json={out}"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.load(open(out))
    assert report["table"] in result.stdout
    (entry,) = report["results"]
    jax_row, torch_row, pipe = entry["jax"], entry["torch"], entry["pipeline"]
    for row in (jax_row, torch_row):
        assert row["train_s"] > 0 and row["infer_frames_per_s"] > 0
        assert row["train_clips_per_s"] == pytest.approx(2 / row["train_s"])
    assert pipe["pipeline_clips_per_s"] > 0
    assert jax_row["recompiled"] is False
    # A train step is about 3 forward passes; XLA's count must be of that order of the convolutions alone.
    forward = 2 * 4 * conv_flops_per_frame(32)
    assert 2.0 < jax_row["train_gflops_per_step"] * 1e9 / forward < 5.0
    ratio = jax_row["train_clips_per_s"] / torch_row["train_clips_per_s"]
    assert f"| {ratio:.2f} |" in report["table"]


@pytest.mark.parametrize("size", [64, 112, 224])
def test_conv_layer_profile_lists_resnet18s_convolutions(size):
    from benchmarks import conv_layers

    seen = {}

    def hook(module, inputs, output):
        key = (inputs[0].shape[-1], module.in_channels, module.out_channels, module.kernel_size[0], module.stride[0])
        seen[key] = seen.get(key, 0) + 1

    run_with_conv_hook(size, hook)
    listed = {(r["side"], r["cin"], r["cout"], r["kernel"], r["stride"]): r["count"]
              for r in conv_layers.resnet18_convolutions(size)}
    assert listed == seen


def test_conv_layer_profile_measures_both_frameworks():
    from benchmarks import conv_layers

    layer = dict(side=8, cin=4, cout=6, kernel=3, stride=2, count=1, name="small")
    got = {**conv_layers.measure_jax(layer, 2, 1), **conv_layers.measure_torch(layer, 2, 1),
           **conv_layers.measure_torch(layer, 2, 1, channels_last=True)}
    assert set(got) == {f"{f}_{p}_ms" for f in ("jax", "torch", "torch_cl") for p in ("fwd", "dx", "dw")}
    assert all(v > 0 for v in got.values())


@pytest.mark.slow
def test_step_profile_attributes_time_to_the_compiled_operations():
    from benchmarks import profile_step

    times, shapes = profile_step.profile((1, 2, 32), "train", "xla", calls=1)
    assert times and all(ms >= 0 for ms in times.values())
    # The runtime's operation names are the optimised HLO's: most of the time maps onto a known output shape.
    known = sum(ms for name, ms in times.items() if name in shapes)
    assert known > 0.5 * sum(times.values())
    assert sum(profile_step.by_kind(times).values()) == pytest.approx(sum(times.values()))


def test_step_profile_names_a_folder_without_a_trace(tmp_path):
    from benchmarks import profile_step

    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        profile_step.operation_times(str(tmp_path), calls=1)


@pytest.mark.slow
def test_predict_speed_times_shared_and_per_window_encoding():
    from benchmarks import predict_speed

    result = predict_speed.measure(frames=19, size=32, window=4, frame_step=1, batch_size=2, repeats=1)
    # Starts 0, 2, ..., 14 and the last window at 15: 9 windows of 4 over 19 frames.
    assert result["windows"] == 9 and result["distinct_frames"] == 19 < result["frames_seen"] == 36
    assert result["shared s"] > 0 and result["per window s"] > 0
    assert result["speed-up"] == pytest.approx(result["per window s"] / result["shared s"])


@pytest.mark.slow
def test_model_steps_are_train_pys_steps_and_donate_as_it_does():
    import functools

    import jax
    import numpy as np

    from benchmarks import model_steps
    from configs.intensity import base as default_config
    from meint_jax.common import xla_options
    from meint_jax.tasks.intensity import steps as intensity_steps
    from meint_jax.training import state as steps

    built = model_steps.build((2, 3, 32), donate=False)
    state, metrics = built.train_step(built.state, built.batch)
    # The same step written out from the task's parts, as jit_steps compiles it.
    config = default_config.get_config()
    model, tx = tasks.create_model(config), steps.create_optimizer(config.train)
    reference = jax.jit(functools.partial(intensity_steps.train_step, model=model, tx=tx, loss_config=config.loss),
                        compiler_options=xla_options.step_options(config.train.cpu_convolutions))
    ref_state, ref_metrics = reference(steps.init_state(model, tx, built.frames.shape, seed=0), built.batch)
    np.testing.assert_allclose(metrics["loss"], ref_metrics["loss"], rtol=1e-6)
    for got, want in zip(jax.tree_util.tree_leaves(state.params), jax.tree_util.tree_leaves(ref_state.params)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert built.predict_step(state, built.frames).shape == (2, 3)
    assert not any(leaf.is_deleted() for leaf in jax.tree_util.tree_leaves(built.state.params))

    # Donation shows in the lowered program as input buffers aliased to outputs (no compile needed).
    def aliased_inputs(built):
        signature = next(line for line in built.train_step.lower(built.state, built.batch).as_text().splitlines()
                         if "func.func public @main" in line)
        return signature.count("tf.aliasing_output")

    assert aliased_inputs(built) == 0
    assert aliased_inputs(model_steps.build((2, 3, 32))) >= len(jax.tree_util.tree_leaves(built.state.params))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_torch_contender_computes_in_the_requested_precision(dtype):
    from benchmarks import run

    contender = run.torch_contender((1, 2, 32), dtype)
    train_once, _ = contender.calls["train"]
    assert torch.isfinite(train_once()) and train_once().dtype == torch.float32   # the loss stays float32
    infer, _ = contender.calls["infer"]
    assert infer().dtype == getattr(torch, dtype)
    assert contender.row({"train": 1.0, "infer": 1.0, "infer_one": 1.0})["dtype"] == dtype


@pytest.mark.slow
def test_spot_speed_reports_speed_stages_and_memory_of_both_lengths(tmp_path):
    from meint_jax.common import stages

    out = tmp_path / "spot_speed.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.spot_speed", "--tiny", "--workers=2",
                             f"--work_dir={tmp_path}", f"--out={out}"], cwd=REPO, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.load(open(out))
    assert list(report["results"]) == ["3 s", "6 s"] and report["table"] in result.stdout
    for row in report["results"].values():
        assert list(row["stages_s"]) == list(stages.SPOT_STAGES)
        # The tiny network's forward passes take milliseconds (it compiles beside the flow): not asserted.
        assert row["stages_s"]["flow"] > 0 and row["stages_s"]["decode"] > 0 and row["stages_s"]["face"] > 0
        assert 0 < row["x_real_time"] < row["x_real_time_in_command"] and row["peak_process_rss_mb"] > 0
    peaks = [row["peak_tree_rss_mb"] or row["peak_process_rss_mb"] for row in report["results"].values()]
    assert report["peak_memory_ratio_longest_to_shortest"] == pytest.approx(peaks[1] / peaks[0])


@pytest.mark.slow
def test_spotting_benchmark_times_jax_and_pytorch_on_the_same_network_and_loss(tmp_path):
    out = tmp_path / "spotting.json"
    # torch.compile is left out: compiling even the tiny network's layers takes minutes on 2 cores.
    result = subprocess.run([sys.executable, "-m", "benchmarks.spotting_vs_torch", "--tiny", "--cases=samm_lv",
                             "--torch_compile=none", f"--json={out}"], cwd=REPO, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.load(open(out))
    assert report["table"] in result.stdout
    (case,) = report["results"]
    rows = case["rows"]
    assert set(rows) == {"jax", "torch"}
    # The tiny network has no drop-path: both first steps see the same weights, batch and loss.
    assert rows["torch"]["first_loss"] == pytest.approx(rows["jax"]["first_loss"], rel=1e-4)
    for row in rows.values():
        assert row["train_windows_per_s"] == pytest.approx(2 / row["train_s"])
        assert row["infer_frames_per_s"] == pytest.approx(2 * 8 / row["infer_s"])
    fastest = case["train_fastest_torch"]
    assert case["train_jax_speedup"] == pytest.approx(rows[fastest]["train_s"] / rows["jax"]["train_s"])
    assert f"| {rows[fastest]['train_s'] / rows['jax']['train_s']:.2f} |" in report["table"]
