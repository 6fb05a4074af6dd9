"""Windows, targets and splits read back from a built tiny dataset."""

import numpy as np
import pytest
import tensorflow as tf

from meint_jax.data import subjects as subjects_lib
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.data.clips import synthetic
from meint_jax.data.clips.pipeline import WindowSpec

TINY = synthetic.GeneratorConfig(num_subjects=4, clips_per_subject=3, frame_size=32, min_frames=28,
                                 max_frames=36, min_me_frames=12, max_me_frames=18, min_neutral=4)


@pytest.fixture(scope="module")
def source_clips():
    return {c.clip_id: c for c in synthetic.generate(TINY)}


def reference_trimmed_positions(clip, num_steps):
    ideal = clip.onset + np.arange(num_steps) / (num_steps - 1) * (clip.offset - clip.onset)
    nearest = np.argmin(np.abs(clip.frame_numbers[None, :] - ideal[:, None]), axis=1)
    return clip.frame_numbers[nearest]


def test_subjects_are_strings_and_split_is_disjoint(tiny_builder):
    subjects = input_pipeline.list_subjects(tiny_builder)
    assert subjects == ["s01", "s02", "s03", "s04"]
    train, test = subjects_lib.split_subjects(subjects, 1, seed=0)
    assert len(test) == 1 and not set(train) & set(test) and set(train) | set(test) == set(subjects)
    with pytest.raises(ValueError, match="holdout_subjects=4"):
        subjects_lib.split_subjects(subjects, 4, seed=0)


def test_trimmed_windows_sample_onset_to_offset(tiny_builder, source_clips):
    w = input_pipeline.eval_windows(tiny_builder, ["s01", "s02"], WindowSpec("trimmed", 8),
                                    windows_per_clip=1, image_size=32, label_shape="triangular", seed=0)
    assert set(w["subject"].astype(str)) == {"s01", "s02"} and len(w["positions"]) == 6
    for i, clip_id in enumerate(w["clip_id"].astype(str)):
        clip = source_clips[clip_id]
        np.testing.assert_array_equal(w["positions"][i], reference_trimmed_positions(clip, 8))
        expected = np.interp(w["positions"][i], [clip.onset, clip.apex, clip.offset], [0, 1, 0])
        np.testing.assert_allclose(w["targets"][i], expected, atol=1e-6)
        index = w["positions"][i] - clip.frame_numbers[0]
        np.testing.assert_allclose(w["true_intensity"][i], clip.true_intensity[index])
        # Each frame read back is the generated frame at its position (up to JPEG loss,
        # about as large as the sensor noise at 32 px): closer to it than to any other frame.
        for frame, own in zip(w["frames"][i].astype(float), index):
            distance = np.abs(clip.frames.astype(float) - frame).mean(axis=(1, 2, 3))
            assert np.argmin(distance) == own and distance[own] < 4.0


def test_untrimmed_windows_reach_outside_with_zero_targets(tiny_builder, source_clips):
    w = input_pipeline.eval_windows(tiny_builder, ["s03"], WindowSpec("untrimmed", 8), windows_per_clip=4,
                                    image_size=32, label_shape="triangular", seed=0, decode=False)
    assert "frames" not in w
    outside = (w["positions"] < w["onset"][:, None]) | (w["positions"] > w["offset"][:, None])
    assert outside.any(axis=1).mean() > 0.5
    assert np.all(w["targets"][outside] == 0.0)
    assert np.all(w["positions"][:, 0] <= w["onset"]) and np.all(w["positions"][:, -1] >= w["offset"])
    # Four different windows per clip, the same ones on every call.
    assert len(np.unique(w["positions"], axis=0)) > len(np.unique(w["clip_index"]))
    again = input_pipeline.eval_windows(tiny_builder, ["s03"], WindowSpec("untrimmed", 8), windows_per_clip=4,
                                        image_size=32, label_shape="triangular", seed=0, decode=False)
    np.testing.assert_array_equal(w["positions"], again["positions"])


def test_frames_are_resized_to_the_configured_size(tiny_builder):
    w = input_pipeline.eval_windows(tiny_builder, ["s01"], WindowSpec("trimmed", 4), windows_per_clip=1,
                                    image_size=48, label_shape="triangular", seed=0)
    assert w["frames"].shape == (3, 4, 48, 48, 3) and w["frames"].dtype == np.uint8


def test_train_batches_are_deterministic_and_resume_where_they_stopped(tiny_builder):
    spec = WindowSpec("mixed", 6, jitter=True)
    make = lambda start: input_pipeline.train_batches(
        tiny_builder, ["s01", "s02", "s03"], spec, batch_size=2, image_size=32, label_shape="triangular",
        augment=input_pipeline.Augmentation(flip=True, min_crop=0.8, brightness=0.1, contrast=0.2),
        seed=3, start_step=start)
    first = [next(make(0)) for _ in range(1)][0]
    run = make(0)
    batches = [next(run) for _ in range(3)]
    np.testing.assert_array_equal(batches[0]["frames"], first["frames"])
    resumed = next(make(2))
    np.testing.assert_array_equal(resumed["frames"], batches[2]["frames"])
    np.testing.assert_array_equal(resumed["positions"], batches[2]["positions"])
    assert set(np.concatenate([b["subject"] for b in batches]).astype(str)) <= {"s01", "s02", "s03"}
    # Jittered targets follow the sampled positions, not the index.
    b = batches[0]
    for i in range(2):
        expected = np.interp(b["positions"][i], [b["onset"][i], b["apex"][i], b["offset"][i]], [0, 1, 0])
        np.testing.assert_allclose(b["targets"][i], expected, atol=1e-6)


def _jpeg(array):
    return tf.io.encode_jpeg(array, quality=100)


def test_area_resize_equals_tensorflows_when_shrinking():
    from meint_jax.data import frames

    rng = np.random.default_rng(2)
    for height, width, size in [(112, 112, 80), (95, 101, 64), (224, 224, 80), (48, 48, 48)]:
        x = rng.integers(0, 256, size=(3, height, width, 3), dtype=np.uint8)
        want = tf.cast(tf.clip_by_value(tf.round(tf.image.resize(x, (size, size), method="area")), 0, 255), tf.uint8)
        got = frames.area_resize(x, size)
        difference = np.abs(got.astype(int) - want.numpy())
        assert difference.max() <= 1 and difference.mean() < 0.01, (height, width, size)


def test_crop_is_cut_before_resizing_and_shared_by_all_frames():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(3, 64, 64, 3), dtype=np.uint8)
    encoded = tf.stack([_jpeg(f) for f in frames])
    decoded = np.stack([tf.io.decode_jpeg(e).numpy() for e in encoded]).astype(np.float64)
    got = input_pipeline._decode(encoded, 16, crop=(8, 4, 32)).numpy()
    crop = decoded[:, 8:40, 4:36]
    want = crop.reshape(3, 16, 2, 16, 2, 3).mean(axis=(2, 4))   # area resize by 2 = 2x2 block means
    np.testing.assert_allclose(got, np.round(want), atol=1)


def test_photometric_jitter_is_one_affine_map_per_window():
    rng = np.random.default_rng(1)
    frames = rng.integers(60, 190, size=(5, 8, 8, 3), dtype=np.uint8)
    augment = input_pipeline.Augmentation(brightness=0.1, contrast=0.3)
    out = input_pipeline._augment(tf.constant(frames), tf.constant([7, 9], tf.int64), augment).numpy()
    x, y = frames.reshape(-1).astype(np.float64), out.reshape(-1).astype(np.float64)
    gain, offset = np.polyfit(x, y, 1)
    assert abs(gain - 1.0) > 1e-3 or abs(offset) > 1.0   # it changed something
    assert 0.7 <= gain <= 1.3
    np.testing.assert_allclose(y, gain * x + offset, atol=0.75)   # one map for every frame, up to rounding


def test_random_crop_stays_inside_the_frame():
    encoded = _jpeg(np.zeros((40, 60, 3), np.uint8))
    for i in range(20):
        y, x, side = (int(v) for v in input_pipeline._random_crop(encoded, tf.constant([i, 0], tf.int64), 0.5))
        assert 20 <= side <= 40 and 0 <= y <= 40 - side and 0 <= x <= 60 - side
