"""`python -m meint_jax.spot` on a tiny trained run: a folder of frames and a video of the same recording
give the same intervals, tfds inputs carry their annotations, and bad inputs are one line that writes nothing."""

import csv
import json
import os
import subprocess
import sys

import av
import numpy as np
import pytest

import data_builders  # noqa: F401  Registers the builders.
from meint_jax import predict, spot
from meint_jax.common.errors import PredictError
from meint_jax.tasks.spotting import predictor
from meint_jax.testing import long_fixtures
from tests.test_faults import REPO

FRAMES = 60


@pytest.fixture(scope="module")
def run(tiny_spotting_run):
    """A tiny spotting run (flow at 48 px) and the tiny synthetic long videos it was trained on."""
    return tiny_spotting_run


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """The same 60 frames of a face in a 320x240 recording, as a folder of PNGs and as a lossless video."""
    root = tmp_path_factory.mktemp("recording")
    pixels = long_fixtures.face_frames(1, FRAMES)
    folder = root / "frames"
    long_fixtures.write_frames(str(folder), [f"f{n:03d}.png" for n in range(FRAMES)], pixels)
    video = root / "clip.mkv"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = pixels.shape[2], pixels.shape[1], "bgr0"
        for frame in pixels:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return str(folder), str(video)


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_a_folder_and_a_video_of_one_recording_give_the_same_intervals(run, recording, tmp_path):
    workdir, _ = run
    folder, video = recording
    spot.run(workdir, folder, str(tmp_path / "a"), fps=30.0)
    spot.run(workdir, video, str(tmp_path / "b"))
    from_folder = json.load(open(tmp_path / "a" / "frames.json"))
    from_video = json.load(open(tmp_path / "b" / "clip.json"))
    assert from_folder["frame_number"] == list(range(FRAMES)) == from_video["frame_number"]
    np.testing.assert_allclose(from_folder["micro_score"], from_video["micro_score"], atol=1e-4)
    frames_only = [{k: v for k, v in i.items() if not k.endswith("_s")} for i in from_video["intervals"]]
    assert [{k: v for k, v in i.items() if not k.endswith("_s")} for i in from_folder["intervals"]] == frames_only
    table = rows(tmp_path / "b" / "clip.csv")
    assert [r["kind"] for r in table] == [i["kind"] for i in from_video["intervals"]]
    for r in table:   # seconds are the video's own timestamps (mkv keeps milliseconds), the folder's n / fps
        assert float(r["onset_s"]) == pytest.approx(int(r["onset"]) / 30, abs=1e-3)
    for i in from_folder["intervals"]:
        assert i["onset_s"] == pytest.approx(i["onset"] / 30, abs=1e-6)
        assert int(r["onset"]) <= int(r["apex"]) <= int(r["offset"])
        # Each interval's emotion (the run's emotion head) with the mean probability of that class inside it.
        assert r["emotion"] in ("negative", "positive", "surprise") and 0.0 < float(r["emotion_probability"]) < 1.0
    probabilities = np.asarray(from_video["emotion_probabilities"])
    assert from_video["emotion_classes"] == ["negative", "positive", "surprise", "neutral"]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    for interval in from_video["intervals"]:
        inside = probabilities[interval["onset"]:interval["offset"] + 1]
        index = from_video["emotion_classes"].index(interval["emotion"])
        assert interval["emotion_probability"] == pytest.approx(inside[:, index].mean(), abs=1e-5)
    assert os.path.getsize(tmp_path / "b" / "clip.png") > 1000


def test_tfds_videos_are_spotted_with_their_annotations_beside(run, tmp_path):
    workdir, data_dir = run
    summaries = spot.run(workdir, "tfds:synthetic_long/tiny", str(tmp_path / "out"), data_dir=data_dir)
    assert len(summaries) == 6
    record = json.load(open(tmp_path / "out" / "s01_s01_01.json"))
    assert set(record["annotated"]) == {"micro", "macro"} and record["decoders"]["micro"]["p"] > 0


@pytest.mark.parametrize("make_input, message", [
    (lambda tmp: str(tmp / "missing.mp4"), "no such file or folder"),
    (lambda tmp: (tmp / "notes.txt").write_text("x") and str(tmp / "notes.txt"), "not a folder of frames"),
    (lambda tmp: (tmp / "broken.mp4").write_bytes(b"\0" * 64) and str(tmp / "broken.mp4"), "cannot decode"),
    (lambda tmp: "tfds:synthetic_long/nonesuch", "cannot open the dataset"),
])
def test_a_bad_input_is_one_line_naming_it_and_writes_nothing(run, tmp_path, make_input, message):
    workdir, data_dir = run
    out = tmp_path / "out"
    with pytest.raises(PredictError, match=message):
        spot.run(workdir, make_input(tmp_path), str(out), data_dir=data_dir)
    assert not out.exists() or not os.listdir(out)


def test_an_intensity_run_or_an_unfinished_run_is_refused(run, tmp_path, tiny_workdir):
    with pytest.raises(PredictError, match="not a spotting run"):
        spot.run(tiny_workdir, "tfds:synthetic_long/tiny", str(tmp_path / "out"))
    workdir, _ = run
    with pytest.raises(PredictError, match="a spotting run; spot long recordings with python -m meint_jax.spot"):
        predict.run(workdir, "tfds:synthetic_long/tiny", str(tmp_path / "out"))
    unfinished = tmp_path / "unfinished"
    os.symlink(os.path.join(workdir, "checkpoints"), unfinished / "checkpoints" if unfinished.mkdir() else
               unfinished / "checkpoints")
    with pytest.raises(PredictError, match="no metrics.json"):
        spot.run(str(unfinished), "tfds:synthetic_long/tiny", str(tmp_path / "out"))


def test_a_step_folder_finds_its_runs_decoder_settings(run, tmp_path):
    workdir, data_dir = run
    step = sorted(os.listdir(os.path.join(workdir, "checkpoints")), key=int)[-1]
    summaries = spot.run(os.path.join(workdir, "checkpoints", step), "tfds:synthetic_long/tiny:train[:1]",
                         str(tmp_path / "out"), data_dir=data_dir)
    assert len(summaries) == 1


@pytest.mark.parametrize("split, message", [
    ("test", r"tfds:synthetic_long/tiny:test: not a split of the dataset \(Unknown split 'test'"),
    ("train[", r"not a split of the dataset"),
])
def test_a_tfds_split_is_honoured_and_one_the_dataset_lacks_is_refused(run, tmp_path, split, message):
    workdir, data_dir = run
    with pytest.raises(PredictError, match=message):
        spot.run(workdir, f"tfds:synthetic_long/tiny:{split}", str(tmp_path / "out"), data_dir=data_dir)
    last_two = spot.run(workdir, "tfds:synthetic_long/tiny:train[-2:]", str(tmp_path / "out"), data_dir=data_dir)
    from meint_jax.data.long import pipeline as long_pipeline
    from meint_jax.inference import readers

    built = long_pipeline.load_videos(readers.built_dataset("synthetic_long/tiny", data_dir))
    assert [s["name"] for s in last_two] == [v.video.video_id for v in built][-2:]
    with pytest.raises(PredictError, match="--batch_size=0: windows per forward pass, at least 1"):
        spot.run(workdir, "tfds:synthetic_long/tiny", str(tmp_path / "out"), data_dir=data_dir, batch_size=0)


def test_a_second_recording_of_the_same_name_is_refused_before_it_is_decoded(run, recording, tmp_path):
    import shutil

    workdir, _ = run
    _, video = recording
    spot.run(workdir, video, str(tmp_path / "out"))
    other = tmp_path / "b" / "clip.mkv"
    other.parent.mkdir()
    shutil.copy(video, other)
    before = open(tmp_path / "out" / "clip.json").read()
    with pytest.raises(PredictError, match=r"clip.json holds the results of .*recording.*/clip.mkv; those of "
                                           r".*/b/clip.mkv would replace them"):
        spot.run(workdir, str(other), str(tmp_path / "out"))
    assert open(tmp_path / "out" / "clip.json").read() == before


def test_a_truncated_video_is_refused_and_with_the_flag_spotted_and_marked(run, recording, tmp_path):
    workdir, _ = run
    _, video = recording
    cut = tmp_path / "cut.mkv"
    data = open(video, "rb").read()
    cut.write_bytes(data[:int(len(data) * 0.6)])
    with pytest.raises(PredictError, match=r"cut.mkv: decoded \d+ of the 60 frames its header announces"):
        spot.run(workdir, str(cut), str(tmp_path / "out"))
    spot.run(workdir, str(cut), str(tmp_path / "out"), allow_truncated=True)
    record = json.load(open(tmp_path / "out" / "cut.json"))
    assert record["warnings"][0].startswith("truncated: decoded") and len(record["frame_number"]) < 60
    assert rows(tmp_path / "out" / "cut.csv") == [] or all(r["warnings"] for r in rows(tmp_path / "out" / "cut.csv"))
    assert open(tmp_path / "out" / "cut.csv").readline().rstrip().endswith(",warnings")


def test_frames_without_the_face_are_never_scored(run, tmp_path):
    """The face leaves the recording for frames 20-39: no score there, no interval reaching into them."""
    workdir, _ = run
    pixels = long_fixtures.face_frames(1, FRAMES).copy()
    pixels[20:40] = long_fixtures.blank_frames(20)[:, :pixels.shape[1], :pixels.shape[2]]
    folder = tmp_path / "leaves"
    long_fixtures.write_frames(str(folder), [f"f{n:03d}.png" for n in range(FRAMES)], pixels)
    spot.run(workdir, str(folder), str(tmp_path / "out"), fps=30.0)
    record = json.load(open(tmp_path / "out" / "leaves.json"))
    missing = [n for n, x in zip(record["frame_number"], record["micro_score"]) if x is None]
    assert set(range(20, 40)) <= set(missing) and len(missing) < 40        # the face-less frames, and a margin
    assert record["warnings"][0].startswith(f"no face in {len(missing)} of 60 frames")
    for interval in record["intervals"]:
        assert interval["offset"] < min(missing) or interval["onset"] > max(missing)


def test_another_frame_rate_than_the_training_videos_is_warned_in_the_outputs(run, recording, tmp_path):
    workdir, _ = run
    folder, _ = recording
    trained = json.load(open(os.path.join(workdir, "config.json")))["data"]["fps"]
    spot.run(workdir, folder, str(tmp_path / "out"), fps=200.0)
    record = json.load(open(tmp_path / "out" / "frames.json"))
    assert record["warnings"] == [f"frame rate 200 fps, the model was trained at {trained:g} fps: an expression "
                                  f"spans {200 / trained:.2g}x the frames it did in training (resample the "
                                  f"recording to {trained:g} fps)"]


def test_a_recording_shorter_than_one_window_is_refused(run, recording, tmp_path):
    workdir, _ = run
    folder, _ = recording
    short = tmp_path / "short"
    short.mkdir()
    for name in sorted(os.listdir(folder))[:2]:
        os.symlink(os.path.join(folder, name), short / name)
    with pytest.raises(PredictError, match="short: 2 frames, fewer than one window of the model"):
        spot.run(workdir, str(short), str(tmp_path / "out"), fps=30.0)


def test_a_run_trained_on_paper_features_is_refused_on_a_video_in_one_line(run, recording):
    workdir, _ = run
    _, video = recording
    spotter = predictor.Spotter.from_run(workdir)
    spotter.config.data.name = "synthetic_long/features_paper"
    with pytest.raises(PredictError, match=r"clip.mkv: the run was trained on paper 002's flow features") as error:
        spotter.features_of_video(video, "dlib")
    assert "\n" not in str(error.value)


def test_the_command_prints_one_error_line_for_a_missing_input(run, tmp_path):
    workdir, _ = run
    env = dict(os.environ, PYTHONPATH=REPO, MEINT_JAX_ALLOCATOR="system")
    result = subprocess.run([sys.executable, "-m", "meint_jax.spot", f"--checkpoint={workdir}",
                             f"--input={tmp_path / 'nothing'}", f"--output={tmp_path / 'out'}"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "meint_jax.spot: error:" in result.stderr and "no such file or folder" in result.stderr


# ------------------------------------------------------------------ stage times, streaming, worker processes

def lossless_video(path: str, pixels: np.ndarray) -> str:
    with av.open(path, "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = pixels.shape[2], pixels.shape[1], "bgr0"
        for frame in pixels:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def leaving(tmp_path_factory):
    """70 frames of a face that leaves the picture for frames 30-44, as PNG files and as a lossless video."""
    root = tmp_path_factory.mktemp("leaving")
    pixels = long_fixtures.face_frames(2, 70).copy()
    pixels[30:45] = long_fixtures.blank_frames(15)[:, :pixels.shape[1], :pixels.shape[2]]
    names = [f"f{n:03d}.png" for n in range(len(pixels))]
    long_fixtures.write_frames(str(root / "frames"), names, pixels)
    return str(root / "frames"), lossless_video(str(root / "leaving.mkv"), pixels), len(pixels)


def test_worker_processes_give_the_serial_builds_flow_and_face_presence_to_the_bit(leaving):
    """The build's one-process path (`long_sources.analyse`, `faces.presence`) against chunks of 8 frames
    (anchors every 4) on two workers: from the video (decoded here, cut to the box, resized there) and from
    the frame files (read by the workers)."""
    from meint_jax.common import stages
    from meint_jax.data import faces
    from meint_jax.data.long import sources as long_sources
    from meint_jax.data.long.videos import LongVideo
    from meint_jax.inference import flow_stream
    from meint_jax.inference.video_file import VideoFileSource

    folder, video, count = leaving
    paths = tuple(os.path.join(folder, f"f{n:03d}.png") for n in range(count))
    frames_source = long_sources.FolderSource(LongVideo(video_id="leaving", subject="", fps=30.0, source=folder,
                                                        frame_numbers=np.arange(count), frame_paths=paths))
    serial = long_sources.analyse(frames_source, 48, 7, 4)
    present = faces.presence(count, 30.0, serial.box, frames_source.images)
    assert 0 < present.sum() < count - 15 and not present[30:45].any()     # the looks between disagreeing ones
    for source in (VideoFileSource.open(video), frames_source):
        timer, seen = stages.StageTimer(), []
        analysis, found = flow_stream.analyse(source, 48, 4, workers=2, chunk=8, timer=timer, progress=seen.append)
        assert analysis.box == serial.box and np.array_equal(analysis.landmarks, serial.landmarks)
        assert np.array_equal(analysis.flow, serial.flow) and np.array_equal(found, present)
        assert seen == [9] + [8] * 7 + [5] and all(timer.seconds[s] > 0 for s in ("decode", "face", "flow"))
    with pytest.raises(ValueError, match="chunks of 6 frames: use a multiple of anchor_every=4"):
        flow_stream.analyse(frames_source, 48, 4, workers=1, chunk=6)


def test_a_video_counted_and_its_face_found_by_a_worker_gives_the_same_features_to_the_bit(leaving):
    """`spot`'s path: a worker makes the first pass and finds the face while the command starts; the features
    and the presence are those of the one-process path."""
    from meint_jax.inference import flow_stream, video_file

    _, video, count = leaving
    serial, present = flow_stream.analyse(video_file.VideoFileSource.open(video), 48, 4, workers=1, chunk=8)
    with flow_stream.worker_pool(2) as pool:
        opened = pool.submit(video_file.open_with_face, video).result()
        analysis, found = flow_stream.analyse(opened.source, 48, 4, workers=2, chunk=8, face=opened.face, pool=pool)
    assert opened.source.video.num_frames == count and not opened.source.kept     # no whole frames held
    assert analysis.box == serial.box and np.array_equal(analysis.landmarks, serial.landmarks)
    assert np.array_equal(analysis.flow, serial.flow) and np.array_equal(found, present)
    assert opened.cpu["decode"] > 0 and opened.cpu["face"] > 0 and opened.cpu["flow"] == 0


def test_a_pool_left_by_an_error_stops_its_workers_instead_of_waiting_for_their_jobs():
    import time

    from meint_jax.inference import flow_stream

    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="refused"):
        with flow_stream.worker_pool(2) as pool:
            running = pool.submit(time.sleep, 120)
            raise RuntimeError("refused")
    assert time.perf_counter() - start < 60 and running.done()


def test_chunks_that_share_their_end_frames_chain_into_the_trackers_rows():
    from meint_jax.data import flow_features

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (40, 40), np.uint8)
    greys = [np.roll(base, (k // 3, k // 2), axis=(0, 1)) for k in range(23)]
    landmarks = rng.uniform(8, 32, (68, 2))
    serial = flow_features.region_trajectories(greys, landmarks, 40, anchor_every=5)
    regions = flow_features.region_boxes(landmarks, 40)
    chain = flow_features.TrajectoryChain(len(regions), anchor_every=5)
    rows, first = [chain.first_row()[None]], 0
    for stop in (10, 15, 22):      # chunks [0, 10], [10, 15], [15, 22]: each starts on an anchor
        rows.append(chain.extend(flow_features.anchor_motions(greys[first:stop + 1], regions, first, 5)))
        first = stop
    assert np.array_equal(np.concatenate(rows), serial)
    with pytest.raises(ValueError, match="starting at frame 3 does not start on an anchor"):
        flow_features.anchor_motions(greys[3:8], regions, 3, 5)


@pytest.mark.parametrize("box", [(10, 10, 60, 60), (-20, -5, 40, 55), (120, 60, 190, 130), (-10, -10, 200, 200)])
def test_a_box_cut_in_the_main_process_resizes_to_what_the_build_crops(box):
    """The main process sends the box's pixels (zero past the frame's edges, as PIL pads a crop)."""
    from meint_jax.data import frames
    from meint_jax.inference import flow_stream

    image = np.random.default_rng(1).integers(0, 255, (100, 160, 3), np.uint8)
    cut = flow_stream.box_pixels(image, box)
    assert cut.shape == (box[3] - box[1], box[2] - box[0], 3)
    assert np.array_equal(frames.resize_clip(cut[None], 32), frames.resize_clip(image[None], 32, box))


def test_stage_times_count_each_second_once_when_stages_nest():
    from meint_jax.common import stages

    ticks = iter([0.0, 1.0, 3.0, 6.0, 6.0, 6.5, 7.0, 7.0])
    wall = iter([0.0, 1.0, 3.0, 6.0, 6.0, 6.5, 7.0, 7.0])
    timer = stages.StageTimer(clocks=(lambda: next(wall), lambda: next(ticks) / 2))
    with timer.stage("face"):                  # 0-1 face, 1-3 decode, 3-6 face
        with timer.stage("decode"):
            pass
    assert timer.seconds["face"] == 4.0 and timer.seconds["decode"] == 2.0 and timer.cpu["face"] == 2.0
    assert list(timer.timed("decode", ["a"])) == ["a"] and timer.seconds["decode"] == 2.5
    timer.add_all({"flow": 2.0}, {"flow": 3.0})
    table = stages.table([{"name": "a", "stages": timer.seconds, "cpu": timer.cpu, "wall": 4.0, "media": 8.0},
                          {"name": "b", "stages": {"flow": 1.0}, "wall": 2.0, "media": 4.0}])
    assert table.splitlines()[0] == ("| input | decode s (CPU s) | face s (CPU s) | flow s (CPU s) | network s (CPU s) "
                                     "| decoding s (CPU s) | writing s (CPU s) | wall s | x real time |")
    assert table.splitlines()[-1] == ("| total | 2.50 (1.25) | 4.00 (2.00) | 3.00 (3.00) | 0.00 (0.00) | 0.00 (0.00) "
                                      "| 0.00 (0.00) | 6.00 | 2.00 |")


def test_profile_prints_every_stage_of_each_video(run, recording, tmp_path, capsys):
    from meint_jax.common import stages

    workdir, _ = run
    folder, video = recording
    (summary,) = spot.run(workdir, video, str(tmp_path / "out"), workers=2, profile=True)
    header, _, row = capsys.readouterr().out.strip().splitlines()[-3:]
    assert header == ("| input | " + " | ".join(f"{s} s (CPU s)" for s in stages.SPOT_STAGES)
                      + " | wall s | x real time |")
    assert row.startswith("| clip | ") and list(summary["stages"]) == list(stages.SPOT_STAGES)
    assert all(summary["stages"][s] > 0 and summary["cpu"][s] > 0 for s in ("decode", "face", "flow", "network"))
    assert sum(summary["stages"].values()) > summary["wall"] * 0.5 and summary["media"] == pytest.approx(2.0)
    with pytest.raises(PredictError, match="--workers=0: processes computing the flow features, at least 1"):
        spot.run(workdir, video, str(tmp_path / "out"), workers=0)
