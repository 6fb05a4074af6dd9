"""Per-frame intensity curves for new recordings, from a trained checkpoint.

API:  `IntensityEstimator.from_checkpoint(workdir).predict(frames)` -> intensity per frame.
CLI:  `python -m meint_jax.predict --checkpoint=WORKDIR --input=PATH --output=DIR`, where PATH
      is a folder of frames, a video file, or `tfds:NAME/CONFIG[:SPLIT]` (e.g.
      `tfds:synthetic_me/default:train`); writes NAME.csv, NAME.json and NAME.png per input.

The checkpoint carries its training config, so the model, the input size and
the time scale of its windows come from it. A long input is covered by windows
of the model's T positions, `frame_step` frames apart, overlapping by half;
their predictions are blended (windows weigh their edges less, where the
BiGRU has seen least context) and interpolated to every frame.
"""

from __future__ import annotations

if __name__ == "__main__":
    from meint_jax import allocator

    allocator.preload_tcmalloc()  # First of all, before the heavy imports: it restarts this command on tcmalloc.

import dataclasses
import functools
import json
import math
import os
import time
from typing import Iterable, Iterator, Sequence

import numpy as np
from absl import app, flags, logging
from tqdm import tqdm

from meint_jax import frames as frames_lib
from meint_jax import xla_options

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v")


class PredictError(ValueError):
    """An input or checkpoint cannot be used; the message names the file and the problem."""


# --- Windows over a long sequence ------------------------------------------------------------


def window_positions(num_frames: int, window: int, frame_step: int) -> np.ndarray:
    """Frame indices [W, window] the model looks at to cover `num_frames` frames.

    An input no longer than one window's span gets a single window whose positions
    spread evenly over it (nearest frame), as the evaluation pipeline samples a clip.
    A longer one gets windows on a lattice `frame_step` frames apart that spans
    first to last frame, each starting half a window after the previous one.
    """
    if num_frames < 1:
        raise ValueError("no frames to predict")
    if num_frames <= (window - 1) * frame_step + 1:
        grid = np.linspace(0.0, num_frames - 1, window, dtype=np.float32)
        return np.argmin(np.abs(np.arange(num_frames)[None, :] - grid[:, None]), axis=1)[None, :]
    lattice_size = math.ceil((num_frames - 1) / frame_step) + 1
    lattice = np.round(np.linspace(0, num_frames - 1, lattice_size)).astype(np.int64)
    hop = max(window // 2, 1)
    starts = list(range(0, lattice_size - window + 1, hop))
    if starts[-1] != lattice_size - window:
        starts.append(lattice_size - window)
    return np.stack([lattice[s:s + window] for s in starts])


def merge_windows(positions: np.ndarray, predictions: np.ndarray, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(curve [num_frames], sampled [num_frames] bool): blended window predictions, interpolated."""
    window = positions.shape[1]
    weights = np.broadcast_to(np.sin(np.pi * (np.arange(window) + 0.5) / window), positions.shape)
    total = np.zeros(num_frames)
    weight = np.zeros(num_frames)
    np.add.at(total, positions, predictions * weights)
    np.add.at(weight, positions, weights)
    sampled = weight > 0
    index = np.flatnonzero(sampled)
    curve = np.interp(np.arange(num_frames), index, total[index] / weight[index])
    return curve.astype(np.float32), sampled


# --- The estimator ----------------------------------------------------------------------------


def _checkpoint_dir(path: str) -> str:
    """The orbax CheckpointManager directory for a workdir, its checkpoints/ folder, or a step folder."""
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(path):
        raise PredictError(f"{path}: no such checkpoint directory")
    if os.path.isdir(os.path.join(path, "checkpoints")):
        return os.path.join(path, "checkpoints")
    return path


def restore_for_inference(path: str, step: int | None = None) -> tuple[dict, dict, int]:
    """(variables {'params', 'batch_stats'}, training config dict, step) on this host's first device.

    Reads only what inference needs (never the optimiser state), into the local
    device layout whatever layout the checkpoint was saved from.
    """
    import jax
    import orbax.checkpoint as ocp

    from meint_jax.models import create_model
    import ml_collections

    directory = _checkpoint_dir(path)
    step_dir = directory
    if not os.path.isdir(os.path.join(directory, "state")):
        steps = sorted(int(n) for n in os.listdir(directory) if n.isdigit()
                       and os.path.isdir(os.path.join(directory, n, "state")))
        if not steps:
            raise PredictError(f"{directory}: no meint-jax checkpoint here (expected a training workdir, its "
                               "checkpoints/ folder, or one step folder of it)")
        if step is not None and step not in steps:
            raise PredictError(f"{directory}: no checkpoint at step {step}; steps saved: {steps}")
        step_dir = os.path.join(directory, str(step if step is not None else steps[-1]))
    config_path = os.path.join(step_dir, "config", "metadata")
    if not os.path.isfile(config_path):
        raise PredictError(f"{step_dir}: the checkpoint has no training config, so it is not a meint-jax "
                           "training checkpoint (an encoder converted by meint_jax.pretrained is used through "
                           "config.model.init_from, not for prediction)")
    with open(config_path) as f:
        config = json.load(f)

    model = create_model(ml_collections.ConfigDict(config["model"]))
    d = config["data"]
    shape = (1, d["num_steps"], d["image_size"], d["image_size"], 3)
    abstract = jax.eval_shape(functools.partial(model.init, train=False), jax.random.PRNGKey(0),
                              jax.ShapeDtypeStruct(shape, np.uint8))
    device = jax.local_devices()[0]
    sharding = jax.sharding.SingleDeviceSharding(device)
    target = {k: abstract[k] for k in ("params", "batch_stats")}
    restore_args = jax.tree_util.tree_map(lambda x: ocp.ArrayRestoreArgs(sharding=sharding, global_shape=x.shape,
                                                                         dtype=x.dtype), target)
    try:
        restored = ocp.PyTreeCheckpointer().restore(
            os.path.join(step_dir, "state"),
            args=ocp.args.PyTreeRestore(item=target, restore_args=restore_args, partial_restore=True))
    except (ValueError, KeyError, TypeError) as e:
        raise PredictError(f"{step_dir}: the saved weights do not fit the model its config describes "
                           f"({config['model']}): {str(e).splitlines()[0][:300]}") from e
    _check_shapes(restored, target, step_dir)
    return restored, config, int(os.path.basename(step_dir)) if os.path.basename(step_dir).isdigit() else -1


def _check_shapes(restored, target, where: str) -> None:
    import jax

    got = dict(jax.tree_util.tree_leaves_with_path(restored))
    for path, leaf in jax.tree_util.tree_leaves_with_path(target):
        if path not in got:
            raise PredictError(f"{where}: the checkpoint lacks {jax.tree_util.keystr(path)}")
        if tuple(got[path].shape) != tuple(leaf.shape):
            raise PredictError(f"{where}: {jax.tree_util.keystr(path)} has shape {tuple(got[path].shape)}, "
                               f"the model expects {tuple(leaf.shape)}: a checkpoint of another architecture")


class IntensityEstimator:
    """A trained model that turns face frames into a per-frame intensity curve."""

    def __init__(self, variables: dict, config: dict, frame_step: int | None = None, batch_size: int = 8):
        import jax

        from meint_jax.models import create_model
        import ml_collections

        self.config = config
        data = config["data"]
        self.window = int(data["num_steps"])
        self.image_size = int(data["image_size"])
        self.frame_size = int(data.get("frame_size") or self.image_size)
        if frame_step is None:
            frame_step = default_frame_step(data.get("expression_frames"), self.window)
        if frame_step < 1:
            raise PredictError(f"frame_step={frame_step}: use a positive number of frames")
        self.frame_step = int(frame_step)
        self.batch_size = int(batch_size)
        self._variables = variables
        model = create_model(ml_collections.ConfigDict(config["model"]))
        options = xla_options.step_options(step="predict")
        self._forward = jax.jit(lambda v, x: model.apply(v, x, train=False)[0], compiler_options=options)
        # Overlapping windows share frames; with frame_input="frames" they can share the encoder's work.
        self.shares_frames = model.frame_input == "frames"
        self._encode = jax.jit(lambda v, x: model.apply(v, x, method=type(model).encode), compiler_options=options)
        self._from_features = jax.jit(lambda v, f: model.apply(v, None, features=f)[0], compiler_options=options)

    @classmethod
    def from_checkpoint(cls, path: str, step: int | None = None, **kwargs) -> "IntensityEstimator":
        """From a training workdir, its checkpoints/ folder or one step folder (default: latest step)."""
        variables, config, _ = restore_for_inference(path, step)
        return cls(variables, config, **kwargs)

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """Face-cropped uint8 frames [N, H, W, 3] -> the model's input size, resized as in training."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 [N, H, W, 3]; got {frames.dtype} {frames.shape}")
        if frames.shape[1:3] != (self.frame_size, self.frame_size):
            frames = frames_lib.resize_clip(frames, self.frame_size)
        return frames_lib.area_resize(frames, self.image_size)

    def predict_positions(self, frames: np.ndarray, positions: np.ndarray, progress: bool = False) -> np.ndarray:
        """Model outputs [W, T] for windows of already prepared `frames` at `positions` [W, T].

        Each frame the windows look at goes through the encoder once, however many
        windows hold it (half the encoder's work for overlapping windows), unless
        the model's encoder input depends on the window (`frame_input="residual"`).
        """
        if not self.shares_frames:
            return self._batched(positions, lambda index: self._forward(self._variables, frames[index]), progress)
        unique, where = np.unique(positions, return_inverse=True)
        # Whole windows' worth of frames per call: [batch_size, window] as in a forward pass.
        chunks = [unique[i:i + self.window] for i in range(0, len(unique), self.window)]
        chunks[-1] = np.concatenate([chunks[-1], np.repeat(chunks[-1][-1:], self.window - len(chunks[-1]))])
        features = self._batched(np.stack(chunks), lambda index: self._encode(self._variables, frames[index]),
                                 progress)
        features = features.reshape(-1, features.shape[-1])[where.reshape(positions.shape)]
        return self._batched(features, lambda batch: self._from_features(self._variables, batch), False)

    def _batched(self, inputs: np.ndarray, fn, progress: bool) -> np.ndarray:
        """`fn` over `inputs` in batches of `batch_size` (the last one padded: one compiled shape)."""
        outputs = []
        for start in tqdm(range(0, len(inputs), self.batch_size), desc="predict", unit="batch",
                          disable=not progress, leave=False):
            part = inputs[start:start + self.batch_size]
            pad = self.batch_size - len(part)
            batch = np.concatenate([part, np.repeat(part[-1:], pad, axis=0)]) if pad else part
            outputs.append(np.asarray(fn(batch))[:len(part)])
        return np.concatenate(outputs)

    def predict_curve(self, frames: np.ndarray, progress: bool | None = False) -> tuple[np.ndarray, np.ndarray, int]:
        """(intensity [N], model-sampled [N] bool, number of windows) for face-cropped frames in time order.

        `progress=None` shows a bar only when the windows fill more than one batch.
        """
        prepared = self.prepare(frames)
        positions = window_positions(len(prepared), self.window, self.frame_step)
        if progress is None:
            progress = len(positions) > self.batch_size
        predictions = self.predict_positions(prepared, positions, progress)
        curve, sampled = merge_windows(positions, predictions, len(prepared))
        return curve, sampled, len(positions)

    def predict(self, frames: np.ndarray, progress: bool = False) -> np.ndarray:
        """Intensity per frame, float32 [N], for face-cropped uint8 frames [N, H, W, 3] in time order."""
        return self.predict_curve(frames, progress)[0]


def default_frame_step(expression_frames: float | None, window: int) -> int:
    """Frames between a window's positions, so a window spans about twice the typical expression.

    That is the span of the untrimmed windows training sees on average (the
    expression plus up to one expression length on either side).
    """
    if not expression_frames:
        logging.warning("The checkpoint does not record its training clips' expression length; "
                        "using frame_step=1 (set --frame_step to match your frame rate).")
        return 1
    return max(1, round(2.0 * expression_frames / (window - 1)))


# --- Inputs -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Clip:
    """One input sequence, face-cropped at the training frame size, with what is known of it."""

    name: str
    source: str
    frames: np.ndarray              # uint8 [N, frame_size, frame_size, 3]
    frame_numbers: np.ndarray       # int [N], as numbered in the source
    fps: float | None = None
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    true_intensity: np.ndarray | None = None


def _face_box(image: np.ndarray, source: str, margin: float) -> frames_lib.Box:
    from meint_jax import faces

    try:
        return faces.image_box(image, margin)
    except faces.FaceNotFoundError as e:
        raise PredictError(f"{source}: {e}; crop the face yourself and pass --face=none") from e


def read_folder(folder: str, size: int, face: str, margin: float, fps: float | None) -> Clip:
    from meint_jax import annotations

    folder = os.path.abspath(folder)
    try:
        listed = annotations.list_frames(folder)
    except OSError as e:
        raise PredictError(f"{folder}: cannot list the folder ({e.strerror})") from e
    if not listed:
        raise PredictError(f"{folder}: no numbered frame images (*.jpg, *.png, *.bmp named like img46.jpg)")
    numbers, paths = zip(*listed)
    box = None
    if face == "dlib":
        box = _face_box(_load_rgb(paths[0]), paths[0], margin)
    try:
        data = frames_lib.read_clip(paths, size, box)
    except frames_lib.FrameError as e:
        raise PredictError(str(e)) from e
    return Clip(os.path.basename(folder.rstrip("/")), folder, data, np.asarray(numbers), fps)


def _load_rgb(path: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as e:
        raise PredictError(f"{path}: unreadable or corrupt image ({e})") from e


def read_video(path: str, size: int, face: str, margin: float) -> Clip:
    """Decodes with PyAV (FFmpeg), cropping and resizing each frame as it arrives."""
    import av

    path = os.path.abspath(path)
    images, box = [], None
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise PredictError(f"{path}: no video stream")
            stream = container.streams.video[0]
            fps = float(stream.average_rate) if stream.average_rate else None
            for frame in container.decode(stream):
                rgb = frame.to_ndarray(format="rgb24")
                if box is None and face == "dlib":
                    box = _face_box(rgb, f"{path} (frame 0)", margin)
                images.append(frames_lib.resize_clip(rgb[None], size, box)[0])
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise PredictError(f"{path}: cannot decode the video ({e})") from e
    if not images:
        raise PredictError(f"{path}: the video has no frames")
    return Clip(os.path.splitext(os.path.basename(path))[0], path, np.stack(images), np.arange(len(images)), fps)


def read_tfds(spec: str, data_dir: str | None, clip_ids: Sequence[str] | None) -> Iterator[Clip]:
    """Clips of a built TFDS dataset, `NAME/CONFIG[:SPLIT]`; their frames are already face-cropped."""
    import tensorflow_datasets as tfds

    name, _, split = spec.partition(":")
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # TFDS raises several types for unknown or unbuilt datasets.
        raise PredictError(f"tfds:{name}: cannot open the dataset ({str(e).splitlines()[0]})") from e
    if not builder.is_prepared():
        raise PredictError(f"tfds:{name}: not built in {builder.data_dir}; train on it once or run `tfds build`")
    wanted = set(clip_ids or ())
    found = set()
    for ex in tfds.as_numpy(builder.as_dataset(split=split or "train")):
        clip_id = ex["clip_id"].decode()
        if wanted and clip_id not in wanted:
            continue
        found.add(clip_id)
        yield Clip(clip_id, f"tfds:{name}", ex["frames"], ex["frame_numbers"], None, int(ex["onset"]),
                   int(ex["apex"]), int(ex["offset"]), ex.get("true_intensity"))
    if wanted - found:
        raise PredictError(f"tfds:{name}: no clips {sorted(wanted - found)} in split {split or 'train'}")


def read_inputs(path: str, size: int, *, face: str = "dlib", margin: float = 0.25, fps: float | None = None,
                data_dir: str | None = None, clip_ids: Sequence[str] | None = None) -> Iterable[Clip]:
    if path.startswith("tfds:"):
        return read_tfds(path[len("tfds:"):], data_dir, clip_ids)
    if os.path.isdir(path):
        return [read_folder(path, size, face, margin, fps)]
    if not os.path.exists(path):
        raise PredictError(f"{path}: no such file or folder")
    if path.lower().endswith(VIDEO_EXTENSIONS):
        return [read_video(path, size, face, margin)]
    raise PredictError(f"{path}: not a folder of frames, a video ({', '.join(VIDEO_EXTENSIONS)}) or tfds:NAME")


# --- Outputs ----------------------------------------------------------------------------------


def _write_outputs(output: str, clip: Clip, curve: np.ndarray, sampled: np.ndarray, estimator, meta: dict,
                   label_shape: str) -> list[str]:
    """NAME.csv, NAME.json and NAME.png, all or none (each written aside, then renamed)."""
    from meint_jax import plots, pseudo_labels

    times = clip.frame_numbers / clip.fps if clip.fps else None
    target = None
    if clip.onset is not None:
        target = pseudo_labels.pseudo_intensity(clip.frame_numbers, clip.onset, clip.apex, clip.offset, label_shape)
    record = {
        "input": clip.source, "name": clip.name, **meta, "fps": clip.fps,
        "window": estimator.window, "frame_step": estimator.frame_step,
        "onset": clip.onset, "apex": clip.apex, "offset": clip.offset,
        "frame_number": clip.frame_numbers.tolist(),
        "time_s": None if times is None else np.round(times, 6).tolist(),
        "intensity": np.round(curve, 6).tolist(), "model_sampled": sampled.tolist(),
    }
    base = os.path.join(output, clip.name.replace(os.sep, "_"))
    pending = {base + ".json": json.dumps(record, indent=1)}
    rows = ["frame_number,time_s,intensity,model_sampled"]
    for i, number in enumerate(clip.frame_numbers):
        time_s = "" if times is None else f"{times[i]:.6f}"
        rows.append(f"{int(number)},{time_s},{curve[i]:.6f},{int(sampled[i])}")
    pending[base + ".csv"] = "\n".join(rows) + "\n"
    try:
        for path, text in pending.items():
            with open(path + ".tmp", "w") as f:
                f.write(text)
        plots.plot_prediction(base + ".png.tmp", clip.frame_numbers, curve, f"{clip.name} ({clip.source})",
                              target=target, true_intensity=clip.true_intensity,
                              annotations=None if clip.onset is None else (clip.onset, clip.apex, clip.offset))
        for path in [*pending, base + ".png"]:
            os.replace(path + ".tmp", path)
    finally:
        for path in [*pending, base + ".png"]:
            if os.path.exists(path + ".tmp"):
                os.remove(path + ".tmp")
    return [*pending, base + ".png"]


def run(checkpoint: str, input_path: str, output: str, *, step: int | None = None, face: str = "dlib",
        margin: float = 0.25, fps: float | None = None, frame_step: int | None = None, batch_size: int = 8,
        data_dir: str | None = None, clip_ids: Sequence[str] | None = None) -> list[dict]:
    """The CLI's work: every input clip -> curve files in `output`; returns a summary per clip."""
    variables, config, restored_step = restore_for_inference(checkpoint, step)
    estimator = IntensityEstimator(variables, config, frame_step=frame_step, batch_size=batch_size)
    clips = read_inputs(input_path, estimator.frame_size, face=face, margin=margin, fps=fps, data_dir=data_dir,
                        clip_ids=clip_ids)
    os.makedirs(output, exist_ok=True)
    meta = {"checkpoint": os.path.abspath(checkpoint), "checkpoint_step": restored_step}
    summaries = []
    for clip in clips:
        start = time.perf_counter()
        curve, sampled, num_windows = estimator.predict_curve(clip.frames, progress=None)
        seconds = time.perf_counter() - start
        written = _write_outputs(output, clip, curve, sampled, estimator, meta, config["data"]["pseudo_label"])
        summaries.append({"name": clip.name, "frames": len(curve), "windows": num_windows,
                          "seconds": seconds, "files": written})
        logging.info("%s: %d frames, %d windows, %.1f frames/s -> %s", clip.name, len(curve), num_windows,
                     len(curve) / seconds, written[0].rsplit(".", 1)[0] + ".{csv,json,png}")
    total_frames = sum(s["frames"] for s in summaries)
    total_seconds = sum(s["seconds"] for s in summaries)
    print(f"Predicted {len(summaries)} input(s), {total_frames} frames at {total_frames / total_seconds:.1f} "
          f"frames/s (first call includes compilation); outputs in {os.path.abspath(output)}")
    return summaries


FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("checkpoint", None, "Training workdir, its checkpoints/ folder, or one step folder.")
    flags.DEFINE_string("input", None, "A folder of frames, a video file, or tfds:NAME/CONFIG[:SPLIT].")
    flags.DEFINE_string("output", None, "Folder for NAME.csv, NAME.json and NAME.png.")
    flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
    flags.DEFINE_enum("face", "dlib", ["dlib", "none"], "Crop the face with dlib (one box per input, from its "
                      "first frame), or use frames that are already face crops.")
    flags.DEFINE_float("face_margin", 0.25, "Margin around brows, eyes and mouth, as a fraction of the box.")
    flags.DEFINE_float("fps", None, "Frame rate of a folder of frames (videos carry theirs); gives the time column.")
    flags.DEFINE_integer("frame_step", None, "Frames between a window's positions (default: from the checkpoint).")
    flags.DEFINE_integer("batch_size", 8, "Windows per forward pass.")
    flags.DEFINE_string("data_dir", None, "TFDS data_dir for tfds: inputs.")
    flags.DEFINE_list("clips", None, "For tfds: inputs, the clip ids to predict (default: all).")
    flags.mark_flags_as_required(["checkpoint", "input", "output"])


def main(argv):
    del argv
    from meint_jax import console

    console.quiet_library_logs()
    try:
        run(FLAGS.checkpoint, FLAGS.input, FLAGS.output, step=FLAGS.step, face=FLAGS.face, margin=FLAGS.face_margin,
            fps=FLAGS.fps, frame_step=FLAGS.frame_step, batch_size=FLAGS.batch_size, data_dir=FLAGS.data_dir,
            clip_ids=FLAGS.clips)
    except (PredictError, frames_lib.FrameError) as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    define_flags()
    app.run(main)
