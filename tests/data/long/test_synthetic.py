"""Generated long videos (synthetic_long): deterministic, renderable by range, and true to their own script.

Scripts are cheap (every random choice, no pixels), so the statistics below look at many of them; frames are
rendered only where a test needs pixels, at 32-64 px.
"""

import dataclasses

import numpy as np
import pytest

from meint_jax.data import flow_features
from meint_jax.data.clips import synthetic
from meint_jax.data.long import synthetic as synthetic_long

# 3-6 s at 32 px: a few expressions per video, and a gap of 0.4 s between them as in the tiny build.
from meint_jax.data.long import videos as long_videos

SMALL = synthetic_long.LongGeneratorConfig(num_subjects=4, videos_per_subject=3, frame_size=32, min_seconds=3.0,
                                           max_seconds=6.0, max_macro=2, macro_seconds=(0.5, 1.5),
                                           min_gap_seconds=0.4)


@pytest.fixture(scope="module")
def scripts():
    """Scripts of 40 small videos (subjects 0-19, two videos each): no pixels."""
    return [synthetic_long.script(SMALL, s, v) for s in range(20) for v in range(2)]


def runs(mask):
    """[(first, last)] index pairs of the runs of True in a 1-d bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


def index(video, number):
    return int(number - video.frame_numbers[0])


def test_the_same_seed_gives_the_same_script_and_pixels_and_another_seed_does_not():
    a, b = synthetic_long.script(SMALL, 1, 0), synthetic_long.script(SMALL, 1, 0)
    assert a.video.intervals == b.video.intervals and a.video.blinks == b.video.blinks
    np.testing.assert_array_equal(a.video.true_intensity, b.video.true_intensity)
    np.testing.assert_array_equal(a.drift, b.drift)
    np.testing.assert_array_equal(a.render(0, 12), b.render(0, 12))

    other = synthetic_long.script(dataclasses.replace(SMALL, seed=1), 1, 0)
    assert (other.video.num_frames, other.video.intervals) != (a.video.num_frames, a.video.intervals)
    assert np.mean(np.abs(other.render(0, 1).astype(float) - a.render(0, 1))) > 5.0   # another face


def test_two_videos_of_a_subject_show_one_face_and_two_subjects_two_faces():
    first = [synthetic_long.script(SMALL, s, v).render(0, 1)[0].astype(float) for s, v in ((0, 0), (0, 1), (1, 0))]
    same_subject = np.mean(np.abs(first[0] - first[1]))
    other_subject = np.mean(np.abs(first[0] - first[2]))
    assert other_subject > 3 * same_subject
    assert synthetic_long.script(SMALL, 0, 0).video.intervals != synthetic_long.script(SMALL, 0, 1).video.intervals


def test_a_range_of_frames_renders_as_those_frames_of_the_whole_video():
    video = synthetic_long.script(SMALL, 2, 1)
    n = video.video.num_frames
    whole = video.render(0, n)
    assert whole.shape == (n, 32, 32, 3) and whole.dtype == np.uint8
    for start, stop in ((0, 1), (17, 40), (n - 5, n)):
        np.testing.assert_array_equal(video.render(start, stop), whole[start:stop])
    np.testing.assert_array_equal(video.read(17, 40, None, 32), whole[17:40])    # as a builder reads it
    assert video.read(0, 3, None, 48).shape == (3, 48, 48, 3)


def test_generate_yields_every_subjects_videos_in_order():
    cfg = dataclasses.replace(SMALL, num_subjects=2, videos_per_subject=2)
    videos = list(synthetic_long.generate(cfg))
    assert [v.video.video_id for v in videos] == ["s01/s01_01", "s01/s01_02", "s02/s02_01", "s02/s02_02"]
    assert [v.video.subject for v in videos] == ["s01", "s01", "s02", "s02"]
    assert videos[3].video.intervals == synthetic_long.script(cfg, 1, 1).video.intervals


def test_videos_have_the_configured_length_and_consecutive_frame_numbers(scripts):
    for s in scripts:
        video = s.video
        assert SMALL.min_seconds * SMALL.fps - 1 <= video.num_frames <= SMALL.max_seconds * SMALL.fps + 1
        np.testing.assert_array_equal(video.frame_numbers, np.arange(1, video.num_frames + 1))
        assert video.fps == SMALL.fps and video.source == "synthetic_long"
        assert video.true_intensity.shape == (video.num_frames, 2)
        assert s.drift.shape == (video.num_frames, 2) and s.lid.shape == s.light.shape == (video.num_frames,)


def test_intervals_lie_in_the_video_in_order_and_never_overlap(scripts):
    for s in scripts:
        video = s.video
        first, last = video.frame_numbers[0], video.frame_numbers[-1]
        for interval in video.intervals:
            assert first <= interval.onset <= interval.apex <= interval.offset <= last
            assert interval.onset < interval.offset
        for before, after in zip(video.intervals, video.intervals[1:]):
            assert before.offset < after.onset


def test_expression_counts_stay_within_the_configured_bounds(scripts):
    micro = [sum(i.kind == "micro" for i in s.video.intervals) for s in scripts]
    macro = [sum(i.kind == "macro" for i in s.video.intervals) for s in scripts]
    assert min(micro) >= 0 and max(micro) <= SMALL.max_micro
    assert min(macro) >= 0 and max(macro) <= SMALL.max_macro      # macros may be dropped where they do not fit
    assert len(set(micro)) > 1          # the count is drawn, not fixed


def test_on_a_long_video_every_macro_fits_so_at_least_min_macro_are_there():
    cfg = dataclasses.replace(SMALL, min_seconds=20.0, max_seconds=20.0, min_macro=1, max_macro=2)
    for subject in range(20):
        video = synthetic_long.script(cfg, subject, 0).video
        macros = sum(i.kind == "macro" for i in video.intervals)
        assert cfg.min_macro <= macros <= cfg.max_macro


def test_macros_that_cannot_fit_are_dropped_and_the_rest_still_do_not_overlap():
    # 3 s (90 frames) with four macros of 2-2.5 s each: at most one fits.
    cfg = dataclasses.replace(SMALL, min_seconds=3.0, max_seconds=3.0, min_macro=4, max_macro=4,
                              macro_seconds=(2.0, 2.5))
    for subject in range(5):
        video = synthetic_long.script(cfg, subject, 0).video
        assert sum(i.kind == "macro" for i in video.intervals) <= 1
        for before, after in zip(video.intervals, video.intervals[1:]):
            assert before.offset < after.onset
        assert video.intervals[-1].offset <= video.frame_numbers[-1]


def test_each_true_curve_lasts_as_configured_and_the_annotation_sits_on_it(scripts):
    seen, apex_values = {"micro": 0, "macro": 0}, []
    for s in scripts:
        video = s.video
        for channel, kind in enumerate(long_videos.KINDS):
            intervals = [i for i in video.intervals if i.kind == kind]
            supports = runs(video.true_intensity[:, channel] > 0)
            assert len(supports) == len(intervals)          # one bump of true intensity per expression
            low, high = SMALL.micro_seconds if kind == "micro" else SMALL.macro_seconds
            for (first, last), interval in zip(supports, intervals):
                assert round(low * SMALL.fps) - 1 <= last - first + 1 <= round(high * SMALL.fps) + 1
                assert abs(index(video, interval.onset) - first) <= 8
                assert abs(index(video, interval.offset) - last) <= 10
                curve = video.true_intensity[:, channel]
                assert curve[first:last + 1].max() == pytest.approx(1.0)
                # The apex is a frame of the peak, a few frames off as a coder's (noise of 2 frames).
                peak = first + np.flatnonzero(curve[first:last + 1] >= 0.97)
                assert np.abs(peak - index(video, interval.apex)).min() <= 6
                apex_values.append(curve[index(video, interval.apex)])
                seen[kind] += 1
    assert seen["micro"] >= 10 and seen["macro"] >= 10
    assert np.mean(np.asarray(apex_values) > 0.5) > 0.8


def test_true_intensity_is_in_zero_one_and_only_near_expressions_of_its_kind(scripts):
    for s in scripts:
        video = s.video
        truth = video.true_intensity
        assert truth.dtype == np.float32 and truth.min() >= 0.0 and truth.max() <= 1.0
        assert not ((truth[:, 0] > 0) & (truth[:, 1] > 0)).any()       # expressions never overlap
        for channel, kind in enumerate(long_videos.KINDS):
            near = np.zeros(video.num_frames, bool)
            for interval in video.intervals:
                if interval.kind == kind:
                    near[max(0, index(video, interval.onset) - 8):index(video, interval.offset) + 12] = True
            assert not (truth[~near, channel] > 0).any()


def test_each_expression_carries_the_emotion_of_its_action_units(scripts):
    table = {("+".join(au[2:] for au in aus), native) for aus, native in synthetic.EXPRESSIONS}
    count = 0
    for s in scripts:
        for interval in s.video.intervals:
            assert (interval.action_units, interval.native_emotion) in table
            assert interval.emotion == long_videos.emotion_class(interval.native_emotion)
            count += 1
    assert count > 40


def test_blinks_come_every_three_to_five_seconds_inside_the_video():
    cfg = dataclasses.replace(SMALL, min_seconds=20.0, max_seconds=20.0)
    for subject in range(10):
        s = synthetic_long.script(cfg, subject, 0)
        video = s.video
        # First blink within 5 s, then one every 3-5 s: 4 to 7 in 20 s.
        assert 3 <= len(video.blinks) <= 8
        starts = [onset for onset, _ in video.blinks]
        assert all(3 * cfg.fps - 1 <= b - a <= 5 * cfg.fps + 1 for a, b in zip(starts, starts[1:]))
        closed = np.zeros(video.num_frames, bool)
        for onset, offset in video.blinks:
            assert video.frame_numbers[0] <= onset <= offset <= video.frame_numbers[-1]
            assert 0.1 * cfg.fps - 1 <= offset - onset + 1 <= 0.3 * cfg.fps + 1
            closed[index(video, onset):index(video, offset) + 1] = True
        np.testing.assert_array_equal(s.lid > 0, closed)      # the eyelids close exactly during the blinks
        assert s.lid.max() <= 1.0


def test_a_blink_darkens_the_eyes_and_nothing_else():
    cfg = dataclasses.replace(SMALL, frame_size=64, min_seconds=20.0, max_seconds=20.0)
    s = synthetic_long.script(cfg, 0, 0)
    onset, offset = next((index(s.video, a), index(s.video, b)) for a, b in s.video.blinks if a > 10)
    at = onset + int(np.argmax(s.lid[onset:offset + 1]))      # eyes closed furthest
    frames = s.render(at - 8, at + 1).astype(float)
    change = np.abs(frames[-1] - frames[0]).mean(axis=-1)
    points = s.landmarks()
    eyes = np.zeros((64, 64), bool)
    for side in (slice(36, 42), slice(42, 48)):
        (x0, y0), (x1, y1) = points[side].min(axis=0) - 1, points[side].max(axis=0) + 1
        eyes[int(y0):int(np.ceil(y1)) + 1, int(x0):int(np.ceil(x1)) + 1] = True
    assert change[eyes].mean() > 3 * change[~eyes].mean()


def test_landmarks_lie_in_the_frame_with_brows_over_eyes_over_nose_over_mouth():
    for subject in range(5):
        s = synthetic_long.script(SMALL, subject, 0)
        points = s.landmarks()
        assert points.shape == (68, 2)
        assert (points >= 0).all() and (points < SMALL.frame_size).all()
        brows, eyes, nose, mouth = points[17:27], points[36:48], points[27:36], points[48:68]
        assert brows[:, 1].max() < eyes[:, 1].min()
        assert eyes[:, 1].max() < nose[-5:, 1].min() < mouth[:, 1].min()
        assert points[36:42, 0].max() < points[42:48, 0].min()     # image-left eye left of the other
        box, same = s.face(SMALL.frame_size)
        assert box is None
        np.testing.assert_array_equal(same, points)


def test_a_micro_expression_moves_its_regions_more_than_any_neutral_stretch_does():
    """Without head turns, mouth movements or blinks near it: the regions the expression's own displacement
    field moves most read at least 1.5 times the largest motion they read between neutral frames as far apart."""
    cfg = dataclasses.replace(SMALL, frame_size=64, min_seconds=4.0, max_seconds=5.0, max_micro=2, min_macro=0,
                              max_macro=0, head_turns_per_minute=0.0, mouth_moves_per_minute=0.0)
    size, checked = cfg.frame_size, 0
    for subject in range(4):
        s = synthetic_long.script(cfg, subject, 0)
        n = s.video.num_frames
        trajectories = flow_features.region_trajectories(s.render(0, n), s.landmarks(), size).reshape(n, 18, 2)
        boxes = flow_features.region_boxes(s.landmarks(), size)
        busy = s.lid > 0
        for motion in s.motions:
            busy[max(0, motion.start - 3):motion.start + len(motion.curve) + 3] = True
        for motion in s.motions:
            # The expected motion of each region at the apex: the displacement field (face units -> px)
            # pooled as the features pool, minus the nose's.
            expected = flow_features.pooled_motion(np.stack([motion.du, motion.dv], -1) * size / 2, boxes)
            expected = np.linalg.norm(expected[:-1] - expected[-1], axis=-1)
            regions = np.argsort(-expected)[:3]
            rise = int(np.argmax(motion.curve))
            apex = motion.start + rise
            moved = np.linalg.norm(trajectories[apex, regions] - trajectories[motion.start, regions], axis=-1)
            neutral = max(np.linalg.norm(trajectories[j + rise, regions] - trajectories[j, regions], axis=-1).max()
                          for j in range(n - rise) if not busy[j:j + rise + 1].any())
            assert moved.max() > 1.5 * neutral, (subject, motion.start)
            checked += 1
    assert checked >= 3
