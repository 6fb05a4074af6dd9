"""Long-video windows (long_pipeline): per-frame targets and emotions, window positions, balanced and
resumable training batches, reading stored frames; and one build of `synthetic_long` read back.

Videos are made by hand (a few intervals, a random flow), so every expected value below is worked out from
the intervals, not from running the code.
"""

import types

import numpy as np
import pytest

from meint_jax.data import flow_features, pseudo_labels
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.data.long import sources as long_sources
from meint_jax.data.long import synthetic as synthetic_long
from meint_jax.data.long import videos as long_videos
from meint_jax.data.long.pipeline import NEUTRAL, LongWindowSpec, StoredVideo
from meint_jax.data.long.videos import Interval, LongVideo

NEGATIVE, POSITIVE, SURPRISE, OTHERS = range(4)     # long_videos.EMOTION_CLASSES order


def stored(num_frames, intervals=(), first=1, subject="s01", name="a", seed=0, true_intensity=None):
    """A video of `num_frames` consecutive frame numbers from `first`, a random flow, the given intervals."""
    video = LongVideo(video_id=f"{subject}/{name}", subject=subject, frame_numbers=np.arange(first, first + num_frames),
                      fps=30.0, intervals=tuple(intervals), true_intensity=true_intensity)
    flow = np.random.default_rng(seed).normal(size=(num_frames, 36)).astype(np.float32)
    return StoredVideo(video, flow)


def micro(onset, apex, offset, emotion="positive"):
    return Interval(onset, apex, offset, "micro", emotion)


def macro(onset, apex, offset, emotion="negative"):
    return Interval(onset, apex, offset, "macro", emotion)


# --------------------------------------------------------------------------------------------- per-frame labels

def test_hard_targets_are_one_from_onset_to_offset_inclusive_in_their_kinds_channel():
    positions = np.arange(100, 120)
    targets = long_pipeline.frame_targets(positions, [micro(103, 105, 108), macro(110, 113, 116)])
    assert targets.shape == (20, 2) and targets.dtype == np.float32
    #                      100       105       110       115
    expected_micro = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    expected_macro = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(targets[:, 0], expected_micro)
    np.testing.assert_array_equal(targets[:, 1], expected_macro)


def test_targets_follow_the_positions_given_in_any_shape():
    """A batch of windows [2, 3] of scattered frame numbers: each target depends only on its own number."""
    positions = np.array([[102, 103, 108], [109, 110, 200]])
    targets = long_pipeline.frame_targets(positions, [micro(103, 105, 108), macro(110, 113, 116)])
    assert targets.shape == (2, 3, 2)
    np.testing.assert_array_equal(targets[..., 0], [[0, 1, 1], [0, 0, 0]])
    np.testing.assert_array_equal(targets[..., 1], [[0, 0, 0], [0, 1, 0]])


def test_triangular_targets_rise_to_one_at_the_apex_and_fall_to_zero_at_onset_and_offset():
    positions = np.arange(98, 113)
    targets = long_pipeline.frame_targets(positions, [micro(100, 104, 110)], "triangular")
    # Up in 4 frames from 100 to 104, down in 6 frames from 104 to 110.
    expected = [0, 0, 0, 1 / 4, 2 / 4, 3 / 4, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0, 0, 0]
    np.testing.assert_allclose(targets[:, 0], expected, atol=1e-6)
    np.testing.assert_array_equal(targets[:, 1], 0.0)


@pytest.mark.parametrize("shape", sorted(pseudo_labels.SHAPES))
def test_every_pseudo_label_shape_is_one_at_the_apex_zero_at_the_ends_and_positive_between(shape):
    positions = np.arange(95, 125)
    targets = long_pipeline.frame_targets(positions, [macro(100, 107, 120)], shape)[:, 1]
    at = lambda number: targets[number - 95]
    assert at(107) == pytest.approx(1.0)
    assert at(100) == 0.0 and at(120) == 0.0
    assert (targets[(positions < 100) | (positions > 120)] == 0).all()
    assert (targets[(positions > 100) & (positions < 120)] > 0).all()
    assert targets.max() <= 1.0


def test_overlapping_intervals_of_one_kind_take_the_larger_target():
    positions = np.arange(100, 111)
    targets = long_pipeline.frame_targets(positions, [micro(100, 102, 104), micro(102, 106, 110)], "triangular")
    # First: 0, .5, 1, .5, 0 on 100-104; second: 0, .25, .5, .75, 1, .75, .5, .25, 0 on 102-110.
    expected = [0, 0.5, 1, 0.5, 0.5, 0.75, 1, 0.75, 0.5, 0.25, 0]
    np.testing.assert_allclose(targets[:, 0], expected, atol=1e-6)


def test_frame_emotions_are_the_expressions_class_and_neutral_outside_a_micro_winning_an_overlap():
    positions = np.arange(98, 113)
    intervals = [micro(105, 106, 107, "positive"), macro(100, 104, 110, "negative")]
    expected = [NEUTRAL, NEUTRAL,                     # 98, 99
                NEGATIVE, NEGATIVE, NEGATIVE, NEGATIVE, NEGATIVE,     # 100-104: the macro
                POSITIVE, POSITIVE, POSITIVE,         # 105-107: the micro inside it
                NEGATIVE, NEGATIVE, NEGATIVE,         # 108-110
                NEUTRAL, NEUTRAL]                     # 111, 112
    for order in (intervals, intervals[::-1]):
        emotions = long_pipeline.frame_emotions(positions, order)
        assert emotions.dtype == np.int32
        np.testing.assert_array_equal(emotions, expected)
    assert NEUTRAL == len(long_videos.EMOTION_CLASSES) == 4
    surprise = long_pipeline.frame_emotions(np.array([[3, 4]]), [macro(4, 4, 4, "surprise")])
    np.testing.assert_array_equal(surprise, [[NEUTRAL, SURPRISE]])


def test_expression_frames_is_the_median_length_of_that_kind():
    videos = [stored(100, [micro(10, 12, 14), macro(50, 55, 60)]),       # micro 5 frames, macro 11
              stored(100, [micro(20, 22, 26), micro(30, 31, 32), macro(70, 80, 90)])]   # 7, 3; macro 21
    assert long_pipeline.expression_frames(videos) == 5.0            # median of 5, 7, 3
    assert long_pipeline.expression_frames(videos, "macro") == 16.0  # median of 11, 21
    assert np.isnan(long_pipeline.expression_frames([stored(10)]))


def test_subjects_are_listed_once_sorted_and_selected():
    videos = [stored(5, subject="s02"), stored(5, subject="s01"), stored(5, subject="s02", name="b")]
    assert long_pipeline.list_subjects(videos) == ["s01", "s02"]
    assert long_pipeline.of_subjects(videos, ["s02"]) == [videos[0], videos[2]]


def test_leave_one_subject_out_and_holdout_splits_keep_a_subjects_videos_together():
    from meint_jax.data import subjects as subjects_lib
    from meint_jax.training import loso

    videos = [stored(5, subject=f"s0{k % 3 + 1}", name=str(k)) for k in range(7)]
    subjects = long_pipeline.list_subjects(videos)
    for train, held_out in loso.loso_folds(subjects):
        test_videos = long_pipeline.of_subjects(videos, [held_out])
        train_videos = long_pipeline.of_subjects(videos, train)
        assert {v.video.subject for v in test_videos} == {held_out}
        assert held_out not in {v.video.subject for v in train_videos}
        assert len(test_videos) + len(train_videos) == len(videos)
    train, test = subjects_lib.split_subjects(subjects, 1, seed=0)
    assert sorted(train + test) == subjects and not set(train) & set(test)


@pytest.mark.parametrize("changes", [dict(length=1), dict(frame_step=0), dict(target_shape="square"),
                                     dict(me_fraction=1.5)])
def test_window_spec_refuses_impossible_settings(changes):
    with pytest.raises(ValueError):
        LongWindowSpec(**changes)


def test_window_spec_accepts_the_edges():
    LongWindowSpec(length=2, frame_step=1, me_fraction=1.0)
    LongWindowSpec(me_fraction=-1.0, target_shape="gaussian")


# ------------------------------------------------------------------------------------------------------ windows

def test_window_starts_run_until_the_last_window_ends_on_the_last_frame():
    # 10 frames, windows of 4: starts 0-6, the last one on frames 6, 7, 8, 9.
    np.testing.assert_array_equal(long_pipeline.window_starts(10, LongWindowSpec(length=4)), np.arange(7))
    # 11 frames, every 2nd: frames 0, 2, ..., 10 (6 of them); windows of 4 start at 0, 1, 2, the last on 4-10.
    spec = LongWindowSpec(length=4, frame_step=2)
    np.testing.assert_array_equal(long_pipeline.window_starts(11, spec), [0, 1, 2])
    index, mask = long_pipeline.window_indices(11, 2, spec)
    np.testing.assert_array_equal(index, [4, 6, 8, 10])
    np.testing.assert_array_equal(mask, 1.0)


def test_tile_starts_are_stride_apart_and_the_last_ends_on_the_last_frame():
    spec = LongWindowSpec(length=4)
    np.testing.assert_array_equal(long_pipeline.tile_starts(10, spec, 3), [0, 3, 6])
    np.testing.assert_array_equal(long_pipeline.tile_starts(10, spec, 4), [0, 4, 6])
    np.testing.assert_array_equal(long_pipeline.tile_starts(10, spec, 100), [0, 6])
    np.testing.assert_array_equal(long_pipeline.tile_starts(3, spec, 2), [0])


@pytest.mark.parametrize("num_frames", [1, 7, 20, 53])
@pytest.mark.parametrize("length,frame_step,stride", [(5, 1, 2), (5, 1, 5), (4, 3, 3), (6, 2, 4), (2, 7, 1)])
def test_tiled_windows_cover_every_frame_of_the_step_grid(num_frames, length, frame_step, stride):
    spec = LongWindowSpec(length=length, frame_step=frame_step)
    grid = set(range(0, num_frames, frame_step))        # the frames a window of this step can hold
    covered = set()
    starts = long_pipeline.tile_starts(num_frames, spec, stride)
    assert (np.diff(starts) > 0).all() and (np.diff(starts) <= stride).all()
    for start in starts:
        index, mask = long_pipeline.window_indices(num_frames, int(start), spec)
        covered.update(index[mask > 0].tolist())
        assert (index < num_frames).all()
    assert covered == grid
    last, mask = long_pipeline.window_indices(num_frames, int(starts[-1]), spec)
    assert last[mask > 0][-1] == max(grid)


def test_a_video_shorter_than_a_window_gives_one_window_padded_with_its_last_frame():
    spec = LongWindowSpec(length=5)
    np.testing.assert_array_equal(long_pipeline.window_starts(3, spec), [0])
    index, mask = long_pipeline.window_indices(3, 0, spec)
    np.testing.assert_array_equal(index, [0, 1, 2, 2, 2])
    np.testing.assert_array_equal(mask, [1, 1, 1, 0, 0])
    index, mask = long_pipeline.window_indices(5, 0, LongWindowSpec(length=4, frame_step=2))
    np.testing.assert_array_equal(index, [0, 2, 4, 4])
    np.testing.assert_array_equal(mask, [1, 1, 1, 0])

    video = stored(3, [micro(12, 12, 13)], first=11)      # frames 11, 12, 13; the micro on 12-13
    window = long_pipeline.make_window(video, 0, spec)
    np.testing.assert_array_equal(window["positions"], [11, 12, 13, 13, 13])
    np.testing.assert_array_equal(window["mask"], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(window["targets"][window["mask"] > 0, 0], [0, 1, 1])
    np.testing.assert_allclose(window["features"][3:], window["features"][[2, 2]])   # the last frame again


def test_a_window_holds_every_kth_frame_from_its_start_with_motion_since_its_first_frame():
    truth = np.random.default_rng(1).uniform(size=(40, 2)).astype(np.float32)
    video = stored(40, [micro(108, 110, 112, "surprise")], first=100, true_intensity=truth)
    spec = LongWindowSpec(length=4, frame_step=2)
    window = long_pipeline.make_window(video, 3, spec)
    index = [6, 8, 10, 12]                                  # (3, 4, 5, 6) * 2
    np.testing.assert_array_equal(window["positions"], [106, 108, 110, 112])
    np.testing.assert_array_equal(window["features"][0], 0.0)
    np.testing.assert_allclose(window["features"], video.flow[index] - video.flow[6], atol=1e-6)
    np.testing.assert_array_equal(window["targets"], [[0, 0], [1, 0], [1, 0], [1, 0]])
    np.testing.assert_array_equal(window["emotions"], [NEUTRAL, SURPRISE, SURPRISE, SURPRISE])
    np.testing.assert_array_equal(window["true_intensity"], truth[index])
    np.testing.assert_array_equal(window["mask"], 1.0)
    assert window["start"] == 3 and window["features"].dtype == np.float32
    assert "true_intensity" not in long_pipeline.make_window(stored(40), 0, spec)


def test_video_windows_tile_the_whole_video():
    video = stored(23, [micro(5, 6, 8)])
    spec = LongWindowSpec(length=6)
    windows = long_pipeline.video_windows(video, spec)           # stride 3
    np.testing.assert_array_equal(windows["start"], [0, 3, 6, 9, 12, 15, 17])
    assert windows["features"].shape == (7, 6, 36)
    assert windows["positions"][-1, -1] == 23                     # the last frame's number
    np.testing.assert_array_equal(windows["features"][:, 0], 0.0)
    np.testing.assert_array_equal(windows["targets"][0, :, 0], [0, 0, 0, 0, 1, 1])   # frames 1-6, micro 5-8


# ----------------------------------------------------------------------------------------------------- sampling

def overlaps(start, length, first, last):
    """Does the window [start, start + length) of a step-1 video hold an index in [first, last]?"""
    return start <= last and start + length - 1 >= first


def test_windows_overlapping_a_micro_expression_are_counted_by_hand():
    # 100 frames numbered 1-100, the micro on 41-45 = indices 40-44; windows of 10 start 0-90.
    video = stored(100, [micro(41, 43, 45), macro(70, 75, 80)])
    sampler = long_pipeline.WindowSampler([video], LongWindowSpec(length=10))
    assert sampler.me_windows == 14                 # starts 31-44
    assert len(sampler.all) == 91
    assert sorted(sampler.pools[True][:, 1].tolist()) == list(range(31, 45))
    # Every 2nd frame: indices 0, 2, ..., 98 = numbers 1, 3, ..., 99; the micro's 41, 43, 45 are steps 20-22.
    # Windows of 10 steps start at 0-40 and overlap it when they start at 11-22.
    stepped = long_pipeline.WindowSampler([video], LongWindowSpec(length=10, frame_step=2))
    assert stepped.me_windows == 12 and len(stepped.all) == 41


@pytest.mark.parametrize("me_fraction", [0.5, 0.2])
def test_the_me_fraction_of_drawn_windows_overlaps_a_micro_expression(me_fraction):
    video = stored(100, [micro(41, 43, 45), macro(70, 75, 80)])
    sampler = long_pipeline.WindowSampler([video], LongWindowSpec(length=10, me_fraction=me_fraction))
    rng = np.random.default_rng(0)
    draws = [sampler.draw(rng) for _ in range(3000)]
    share = np.mean([overlaps(start, 10, 40, 44) for _, start in draws])
    assert abs(share - me_fraction) < 0.04      # 3000 draws: the standard error is about 0.01
    assert len({start for _, start in draws}) > 60     # both pools are drawn from throughout


def test_me_fraction_one_draws_only_me_windows_and_zero_none():
    video = stored(100, [micro(41, 43, 45)])
    rng = np.random.default_rng(1)
    only = long_pipeline.WindowSampler([video], LongWindowSpec(length=10, me_fraction=1.0))
    assert all(overlaps(only.draw(rng)[1], 10, 40, 44) for _ in range(300))
    none = long_pipeline.WindowSampler([video], LongWindowSpec(length=10, me_fraction=0.0))
    assert not any(overlaps(none.draw(rng)[1], 10, 40, 44) for _ in range(300))


def test_a_negative_me_fraction_draws_windows_uniformly():
    video = stored(100, [micro(41, 43, 45)])
    sampler = long_pipeline.WindowSampler([video], LongWindowSpec(length=10, me_fraction=-1.0))
    rng = np.random.default_rng(2)
    share = np.mean([overlaps(sampler.draw(rng)[1], 10, 40, 44) for _ in range(3000)])
    assert abs(share - 14 / 91) < 0.03


def test_without_any_micro_expression_the_sampler_falls_back_to_the_other_windows():
    videos = [stored(30, [macro(5, 8, 12)]), stored(20, name="b")]
    sampler = long_pipeline.WindowSampler(videos, LongWindowSpec(length=10, me_fraction=1.0))
    assert sampler.me_windows == 0
    rng = np.random.default_rng(3)
    draws = [sampler.draw(rng) for _ in range(200)]
    assert {number for number, _ in draws} == {0, 1}
    assert all(0 <= start <= (20 if number == 0 else 10) for number, start in draws)
    with pytest.raises(ValueError, match="no videos"):
        long_pipeline.WindowSampler([], LongWindowSpec())


def test_only_micro_expressions_count_for_the_me_pool():
    video = stored(50, [macro(10, 15, 20)])
    assert long_pipeline.WindowSampler([video], LongWindowSpec(length=10)).me_windows == 0


# ------------------------------------------------------------------------------------------------------ batches

@pytest.fixture(scope="module")
def videos():
    return [stored(120, [micro(30, 33, 36), macro(60, 70, 80)], seed=1),
            stored(45, [micro(5, 6, 9, "surprise")], name="b", seed=2),
            stored(7, name="c", seed=3)]      # shorter than a window


def take(iterator, count):
    return [next(iterator) for _ in range(count)]


def assert_batches_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_training_batches_hold_the_windows_they_name(videos):
    spec = LongWindowSpec(length=12, frame_step=2)
    batch = next(long_pipeline.train_batches(videos, spec, batch_size=6, seed=0))
    assert batch["features"].shape == (6, 12, 36) and batch["targets"].shape == (6, 12, 2)
    assert batch["emotions"].shape == batch["positions"].shape == batch["mask"].shape == (6, 12)
    for row in range(6):
        window = long_pipeline.make_window(videos[batch["video_index"][row]], int(batch["start"][row]), spec)
        for key, value in window.items():
            np.testing.assert_array_equal(batch[key][row], value, err_msg=key)


def test_a_run_resumed_at_step_k_sees_the_batches_an_uninterrupted_run_saw_from_step_k(videos):
    spec = LongWindowSpec(length=10)
    make = lambda start, seed=5: long_pipeline.train_batches(videos, spec, batch_size=4, seed=seed, start_step=start)
    uninterrupted = take(make(0), 5)
    for k in (1, 3):
        for a, b in zip(take(make(k), 5 - k), uninterrupted[k:]):
            assert_batches_equal(a, b)
    assert not np.array_equal(uninterrupted[0]["start"], uninterrupted[1]["start"])   # batches do change
    other = next(make(0, seed=6))
    assert not (np.array_equal(other["start"], uninterrupted[0]["start"])
                and np.array_equal(other["video_index"], uninterrupted[0]["video_index"]))


def test_each_process_yields_its_rows_of_the_global_batch(videos):
    spec = LongWindowSpec(length=10, target_shape="triangular")
    whole = take(long_pipeline.train_batches(videos, spec, batch_size=6, seed=9), 3)
    parts = [take(long_pipeline.train_batches(videos, spec, batch_size=6, seed=9, process_index=p,
                                              process_count=2), 3) for p in (0, 1)]
    for step in range(3):
        assert len(parts[0][step]["start"]) == 3
        joined = {key: np.concatenate([parts[0][step][key], parts[1][step][key]]) for key in whole[step]}
        assert_batches_equal(joined, whole[step])


def test_balanced_batches_hold_about_half_me_windows(videos):
    spec = LongWindowSpec(length=10, me_fraction=0.5)
    batches = take(long_pipeline.train_batches(videos, spec, batch_size=50, seed=0), 20)
    with_me = np.concatenate([(b["targets"][..., 0] * b["mask"]).max(axis=1) > 0 for b in batches])
    assert abs(with_me.mean() - 0.5) < 0.05


# -------------------------------------------------------------------------------- stored frames (no TFDS)

def grey_jpeg(value, size=16):
    return long_sources.encode_jpeg(np.full((size, size, 3), value, np.uint8))


def fake_builder(records, chunked=True):
    features = {"chunk": None, "frames": None} if chunked else {"flow": None}
    return types.SimpleNamespace(info=types.SimpleNamespace(features=features, full_name="fake/frames_16"),
                                 as_data_source=lambda split: records, data_dir="/fake")


def test_frame_reader_reads_frame_i_from_chunk_i_div_chunk_frames():
    # Two videos' chunks of 4 frames, interleaved in the records; frame j of video v is grey 10 * j + 100 * v.
    records = [{"frames": [grey_jpeg(10 * j + 100 * v) for j in range(c * 4, min(c * 4 + 4, 10))]}
               for v, c in ((0, 0), (1, 0), (0, 1), (0, 2), (1, 1))]
    first = StoredVideo(stored(10).video, np.zeros((10, 36), np.float32), records=(0, 2, 3), chunk_frames=4)
    second = StoredVideo(stored(8).video, np.zeros((8, 36), np.float32), records=(1, 4), chunk_frames=4)
    reader = long_pipeline.FrameReader(fake_builder(records), cache_chunks=2)
    for video, base, indices in ((first, 0, [0, 3, 4, 9, 9, 5]), (second, 100, [7, 0, 4])):
        frames = reader.read(video, np.array(indices))
        assert frames.shape == (len(indices), 16, 16, 3) and frames.dtype == np.uint8
        np.testing.assert_allclose(frames.mean(axis=(1, 2, 3)), [10 * j + base for j in indices], atol=2)
    assert len(reader.cache) == 2


def test_frame_reader_refuses_builds_and_videos_without_frames():
    with pytest.raises(ValueError, match="stores no frames"):
        long_pipeline.FrameReader(fake_builder([], chunked=False))
    reader = long_pipeline.FrameReader(fake_builder([]))
    with pytest.raises(ValueError, match="without frames"):
        reader.read(stored(5), np.array([0]))


def chunk_record(chunk, num_chunks, numbers):
    return {"video_id": b"s01/a", "subject": b"s01", "fps": np.float32(30.0), "chunk": chunk,
            "num_chunks": num_chunks, "frame_numbers": np.asarray(numbers, np.int32),
            "flow": np.full((len(numbers), 36), chunk, np.float32), "frames": [b""] * len(numbers),
            "blinks": {"onset": np.array([2]), "offset": np.array([3])},
            "intervals": {"onset": [2], "apex": [3], "offset": [5], "kind": [0], "emotion": [POSITIVE],  # decoded
                          "native_emotion": [b""], "action_units": [b""], "apex_annotated": [True]}}


def test_chunks_are_joined_into_one_video_and_a_missing_chunk_is_reported():
    records = [chunk_record(0, 3, [1, 2, 3]), chunk_record(1, 3, [4, 5, 6]), chunk_record(2, 3, [7])]
    [video] = long_pipeline.load_videos(fake_builder(records))
    np.testing.assert_array_equal(video.video.frame_numbers, np.arange(1, 8))
    np.testing.assert_array_equal(video.flow[:, 0], [0, 0, 0, 1, 1, 1, 2])
    assert video.records == (0, 1, 2) and video.chunk_frames == 3
    assert video.video.intervals == (micro(2, 3, 5),) and video.video.blinks == ((2, 3),)
    with pytest.raises(ValueError, match="has 2 of its 3 chunks"):
        long_pipeline.load_videos(fake_builder([chunk_record(0, 3, [1, 2, 3]), chunk_record(2, 3, [7])]))


# ------------------------------------------------------------------------------------------------- one build

@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """`synthetic_long/tiny` and `synthetic_long/tiny_frames` built once into a private data_dir."""
    import tensorflow_datasets as tfds

    import data_builders  # noqa: F401  Registers the builders.

    data_dir = str(tmp_path_factory.mktemp("tfds_long"))
    out = {}
    for name in ("tiny", "tiny_frames"):
        builder = tfds.builder(f"synthetic_long/{name}", data_dir=data_dir)
        builder.download_and_prepare()
        out[name] = builder
    return out


def test_a_built_synthetic_long_set_reads_back_as_generated_with_or_without_frames(builds):
    features, chunked = long_pipeline.load_videos(builds["tiny"]), long_pipeline.load_videos(builds["tiny_frames"])
    generator = builds["tiny"].builder_config.generator
    assert [v.video.video_id for v in features] == [v.video.video_id for v in chunked] == [
        f"s0{s}/s0{s}_0{v}" for s in (1, 2, 3) for v in (1, 2)]
    for a, b in zip(features, chunked):
        np.testing.assert_array_equal(a.video.frame_numbers, b.video.frame_numbers)
        np.testing.assert_array_equal(a.flow, b.flow)
        np.testing.assert_array_equal(a.video.true_intensity, b.video.true_intensity)
        assert a.video.intervals == b.video.intervals and a.video.blinks == b.video.blinks
        assert a.video.subject == b.video.subject and a.video.fps == b.video.fps == generator.fps
        assert not a.records and len(b.records) == -(-b.video.num_frames // 64) and b.chunk_frames == 64

    # The first video is subject 0's video 0 of the builder's generator: its script, its flow, its pixels.
    script = synthetic_long.script(generator, 0, 0)
    first = chunked[0]
    n = script.video.num_frames
    assert first.video.intervals == script.video.intervals and first.video.blinks == script.video.blinks
    np.testing.assert_array_equal(first.video.frame_numbers, script.video.frame_numbers)
    np.testing.assert_array_equal(first.video.true_intensity, script.video.true_intensity)
    rendered = script.render(0, n)
    np.testing.assert_allclose(first.flow, flow_features.region_trajectories(
        rendered, script.landmarks(), generator.frame_size, anchor_every=builds["tiny"].builder_config.anchor_every),
        atol=1e-4)
    indices = np.array([0, 1, 63, 64, n - 1])                     # both sides of the first chunk boundary
    frames = long_pipeline.FrameReader(builds["tiny_frames"]).read(first, indices)
    assert frames.shape == (5, generator.frame_size, generator.frame_size, 3)
    assert np.abs(frames.astype(float) - rendered[indices]).mean() < 4.0        # JPEG at quality 90
    # Another video's frames are not these: the reader follows each video's own records.
    other = long_pipeline.FrameReader(builds["tiny_frames"]).read(chunked[2], indices[:3])
    assert np.abs(other.astype(float) - rendered[indices[:3]]).mean() > 4.0

    only = long_pipeline.load_videos(builds["tiny_frames"], subjects=["s02"])
    assert [v.video.video_id for v in only] == ["s02/s02_01", "s02/s02_02"]
    assert only[0].records == chunked[2].records
