"""Built TFDS clips -> sampled frame positions -> pseudo-targets -> batches.

(Long videos have their own pipeline, `data/long/pipeline.py`: their records are read by index, not streamed.)

Reads datasets by name from a TFDS data_dir and never imports builder code.
Frames are stored JPEG-encoded; only the T frames a window samples are
decoded. Two kinds of window (docs/design.md, "Two protocols"):

- `trimmed`: the paper's T positions spread evenly from onset to offset;
- `untrimmed`: T positions from a start before the onset to an end after the
  offset, each a random distance outside, so neutral frames are included and
  the expression's place in the window is unknown (target 0 outside).

Positions are original frame numbers of the frames actually sampled (the
nearest stored frame to each ideal position); targets are computed from them.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from meint_jax.data import frames as frames_lib
from meint_jax.data import pseudo_labels

# The model and its training run on JAX; TensorFlow only feeds data.
tf.config.set_visible_devices([], "GPU")

WINDOW_KINDS = ("trimmed", "untrimmed", "mixed")


@dataclasses.dataclass(frozen=True)
class WindowSpec:
    """How windows are sampled from a clip."""

    kind: str = "trimmed"            # trimmed | untrimmed | mixed
    num_steps: int = 16              # T
    untrimmed_probability: float = 0.5   # for `mixed`
    max_margin: float = 1.0          # untrimmed: largest distance outside, in ME durations
    jitter: bool = False             # move each position by up to half a step


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Per-window training augmentation: one draw for all T frames of a window.

    The same transform on every frame keeps the frame-to-frame motion, the
    signal, intact while changing what identifies a subject (framing, size,
    lighting), so that few training identities are harder to memorise.
    """

    flip: bool = False
    min_crop: float = 1.0            # crop side, as a fraction of the frame, drawn from [min_crop, 1]
    brightness: float = 0.0          # add U(-b, b) x 255
    contrast: float = 0.0            # scale about the window's mean by U(1 - c, 1 + c)


def load_clips(builder: tfds.core.DatasetBuilder, subjects, emotions=None) -> tf.data.Dataset:
    """The built clips of `subjects`, frames left JPEG-encoded; with `emotions` (indices of the dataset's
    `emotion` ClassLabel), only the clips of those emotions."""
    ds = builder.as_dataset(split="train", decoders={"frames": tfds.decode.SkipDecoding()},
                            shuffle_files=False)
    wanted = tf.constant(sorted(subjects))
    ds = ds.filter(lambda ex: tf.reduce_any(tf.equal(ex["subject"], wanted)))
    if emotions is not None:
        kept = tf.constant(sorted(int(e) for e in emotions), tf.int64)
        ds = ds.filter(lambda ex: tf.reduce_any(tf.equal(ex["emotion"], kept)))
    return ds


def clip_frames(builder: tfds.core.DatasetBuilder, subjects) -> Iterator[dict]:
    """Each clip of `subjects`, one at a time, with every frame decoded (uint8 [N, S, S, 3], stored size):
    subject, clip_id, frame_numbers, onset, offset, frames, in stored order."""
    ds = load_clips(builder, subjects).map(lambda ex: {**ex, "frames": _decode(ex["frames"], 0)})
    for ex in tfds.as_numpy(ds):
        yield {"subject": ex["subject"].decode(), "clip_id": ex["clip_id"].decode(),
               "frame_numbers": ex["frame_numbers"], "onset": int(ex["onset"]), "offset": int(ex["offset"]),
               "frames": ex["frames"]}


def clip_emotions(builder: tfds.core.DatasetBuilder, subjects) -> list[tuple[str, str]]:
    """(subject, emotion label by the dataset's own name) of every clip of `subjects`, in stored order."""
    names = builder.info.features["emotion"].names
    ds = load_clips(builder, subjects).map(lambda ex: (ex["subject"], ex["emotion"]))
    return [(subject.decode(), names[int(i)]) for subject, i in tfds.as_numpy(ds)]


def list_subjects(builder: tfds.core.DatasetBuilder) -> list[str]:
    """Subject codes present in the dataset, sorted (as strings: '006' stays '006')."""
    ds = builder.as_dataset(split="train", decoders={"frames": tfds.decode.SkipDecoding()},
                            shuffle_files=False)
    ds = ds.map(lambda ex: ex["subject"])
    return sorted({s.decode() for s in tfds.as_numpy(ds)})


def expression_frames(builder: tfds.core.DatasetBuilder, subjects) -> float:
    """Median onset-to-offset length, in frames, of the clips of `subjects`."""
    ds = load_clips(builder, subjects).map(lambda ex: ex["offset"] - ex["onset"])
    return float(np.median(list(tfds.as_numpy(ds))))


def _window_positions(ex, seed, spec: WindowSpec):
    """Indices of the T frames a window samples from one clip."""
    frame_numbers = tf.cast(ex["frame_numbers"], tf.float32)
    onset, offset = tf.cast(ex["onset"], tf.float32), tf.cast(ex["offset"], tf.float32)
    first, last = frame_numbers[0], frame_numbers[-1]
    u = tf.random.stateless_uniform([5], seed=seed)
    if spec.kind == "trimmed":
        untrimmed = tf.constant(False)
    elif spec.kind == "untrimmed":
        untrimmed = tf.constant(True)
    else:
        untrimmed = u[0] < spec.untrimmed_probability
    reach = spec.max_margin * (offset - onset)
    before = tf.minimum(reach, onset - first) * u[1]
    after = tf.minimum(reach, last - offset) * u[2]
    start = tf.where(untrimmed, onset - before, onset)
    end = tf.where(untrimmed, offset + after, offset)
    grid = start + (end - start) * tf.linspace(0.0, 1.0, spec.num_steps)
    if spec.jitter:
        step = (end - start) / (spec.num_steps - 1)
        noise = tf.random.stateless_uniform([spec.num_steps], seed=seed + 1, minval=-0.5, maxval=0.5)
        grid = tf.clip_by_value(grid + noise * step, first, last)
    distance = tf.abs(frame_numbers[None, :] - grid[:, None])
    return tf.argmin(distance, axis=1, output_type=tf.int32)


def resize_frames(frames, image_size: int):
    """uint8 [N, H, W, 3] -> [N, size, size, 3] with `frames.area_resize`, as prediction does."""
    resized = tf.numpy_function(lambda x: frames_lib.area_resize(x, image_size), [frames], tf.uint8,
                                stateful=False)
    resized.set_shape([frames.shape[0], image_size, image_size, 3])
    return resized


def _decode(encoded, image_size: int, crop=None):
    """JPEG frames -> uint8 [T, size, size, 3]; `crop` (y, x, side) is cut before resizing."""
    frames = tf.map_fn(lambda s: tf.io.decode_jpeg(s, channels=3), encoded,
                       fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))
    if crop is not None:
        y, x, side = crop
        frames = frames[:, y:y + side, x:x + side]
    return resize_frames(frames, image_size) if image_size else frames


def _random_crop(encoded_frame, seed, min_crop: float):
    """(y, x, side) of a square crop with side in [min_crop, 1] of the frame, anywhere inside it."""
    shape = tf.io.extract_jpeg_shape(encoded_frame)
    size = tf.minimum(shape[0], shape[1])
    u = tf.random.stateless_uniform([3], seed=seed + 3)
    fraction = min_crop + (1.0 - min_crop) * u[0]
    side = tf.maximum(tf.cast(tf.round(fraction * tf.cast(size, tf.float32)), tf.int32), 1)
    y = tf.cast(u[1] * tf.cast(shape[0] - side, tf.float32), tf.int32)
    x = tf.cast(u[2] * tf.cast(shape[1] - side, tf.float32), tf.int32)
    return y, x, side


def _augment(frames, seed, augment: Augmentation):
    if augment.flip:
        mirror = tf.random.stateless_uniform([], seed=seed + 2) < 0.5
        frames = tf.where(mirror, tf.reverse(frames, axis=[2]), frames)
    if augment.brightness or augment.contrast:
        u = tf.random.stateless_uniform([2], seed=seed + 4, minval=-1.0, maxval=1.0)
        x = tf.cast(frames, tf.float32)
        mean = tf.reduce_mean(x)
        x = (x - mean) * (1.0 + augment.contrast * u[0]) + mean + 255.0 * augment.brightness * u[1]
        frames = tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
    return frames


def _make_window(ex, seed, spec: WindowSpec, image_size: int, decode: bool,
                 augment: Augmentation | None = None):
    index = _window_positions(ex, seed, spec)
    window = {
        "positions": tf.gather(ex["frame_numbers"], index),
        "onset": ex["onset"], "apex": ex["apex"], "offset": ex["offset"],
        "clip_id": ex["clip_id"],
        "subject": ex["subject"],
        "emotion": ex["emotion"],        # the dataset's ClassLabel index (its names: builder.info.features)
    }
    if "true_intensity" in ex:
        window["true_intensity"] = tf.gather(ex["true_intensity"], index)
    if decode:
        encoded = tf.gather(ex["frames"], index)
        crop = None
        if augment is not None and augment.min_crop < 1.0:
            crop = _random_crop(encoded[0], seed, augment.min_crop)
        frames = _decode(encoded, image_size, crop)
        window["frames"] = frames if augment is None else _augment(frames, seed, augment)
    return window


def _add_targets(batch: dict, label_shape: str) -> dict:
    batch["targets"] = pseudo_labels.pseudo_intensity(
        batch["positions"], batch["onset"], batch["apex"], batch["offset"], label_shape)
    return batch


def train_batches(builder, subjects, spec: WindowSpec, *, batch_size: int, image_size: int,
                  label_shape: str, augment: Augmentation, seed: int, start_step: int = 0,
                  process_index: int = 0, process_count: int = 1, emotions=None, decode: bool = True
                  ) -> Iterator[dict]:
    """Endless shuffled training batches of numpy arrays, deterministic from `seed`.

    With `emotions` (ClassLabel indices), only clips of those emotions are drawn (recognition leaves out
    the clips of no class). `decode=False` leaves the frames out (the windows' frame numbers are there:
    a flow run reads its motion from them).

    `start_step` skips the batches a resumed run already trained on, so it sees
    the same batches after a restart as an uninterrupted run (skipping happens
    before any frame is decoded). With several processes, each yields only its
    rows of every global batch of `batch_size`, and decodes only those.
    """
    per_process = batch_size // process_count
    first_row = process_index * per_process
    ds = load_clips(builder, subjects, emotions).cache().repeat()
    ds = ds.shuffle(256, seed=seed, reshuffle_each_iteration=True).enumerate()
    ds = ds.skip(start_step * batch_size)
    if process_count > 1:
        ds = ds.filter(lambda i, ex: (i % batch_size >= first_row) & (i % batch_size < first_row + per_process))
    ds = ds.map(lambda i, ex: _make_window(ex, tf.stack([tf.constant(seed, tf.int64), i]), spec,
                                           image_size, decode, augment),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(per_process, drop_remainder=True).prefetch(2)
    for batch in tfds.as_numpy(ds):
        yield _add_targets(batch, label_shape)


def eval_windows(builder, subjects, spec: WindowSpec, *, windows_per_clip: int, image_size: int,
                 label_shape: str, seed: int, decode: bool = True) -> dict:
    """Every evaluation window of `subjects` as one dict of numpy arrays.

    Windows are the same on every call (seeded by clip order and window number,
    so `windows_per_clip` must stay below 1000); `clip_index` tells which clip
    each window came from.
    """
    ds = load_clips(builder, subjects).enumerate()
    ds = ds.flat_map(lambda c, ex: tf.data.Dataset.range(windows_per_clip).map(
        lambda k: (c, k, ex)))
    ds = ds.map(lambda c, k, ex: dict(
        _make_window(ex, tf.stack([tf.constant(seed, tf.int64), c * 1000 + k]), spec, image_size,
                     decode), clip_index=c),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    windows = list(tfds.as_numpy(ds))
    if not windows:
        raise ValueError(f"no clips found for subjects {sorted(subjects)}")
    stacked = {key: np.stack([w[key] for w in windows]) for key in windows[0]}
    return _add_targets(stacked, label_shape)
