"""Faults a user can cause, each answered by one clear line, a counted skip, or correct behaviour.

One test per class of fault: the fixture that causes it, the command or API a user
calls, and the line or count that must come back (never a traceback, never a
silently wrong result).
"""

import collections
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

import data_builders  # noqa: F401  Registers the builders.
from meint_jax import tasks
from meint_jax.common import errors
from meint_jax.data import frames
from meint_jax.data.clips import annotations
from meint_jax.testing.fixtures import CASME2_HEADER, casme2_sheet, samm_sheet, write_jpeg, write_sheet
from tests import REPO

SIZE = 32


def _touch(folder, names):
    os.makedirs(folder, exist_ok=True)
    for name in names:
        open(os.path.join(folder, name), "wb").close()
    return str(folder)


# --- Frame numbering ---------------------------------------------------------------------------------------


def test_the_frame_number_is_the_number_that_changes_between_names(tmp_path):
    camera = _touch(tmp_path / "cam", [f"{n:04d}_cam2.jpg" for n in range(88, 93)])
    assert [n for n, _ in frames.list_frames(camera)] == [88, 89, 90, 91, 92]
    unpadded = _touch(tmp_path / "unpadded", [f"{n}_cam2.jpg" for n in range(88, 117)] + ["notes.txt"])
    listed = frames.list_frames(unpadded)
    assert [n for n, _ in listed] == list(range(88, 117))
    assert os.path.basename(listed[0][1]) == "88_cam2.jpg"
    samm = _touch(tmp_path / "samm", ["006_05562.jpg", "006_05563.jpg"])
    assert [n for n, _ in frames.list_frames(samm)] == [5562, 5563]


@pytest.mark.parametrize("names, message", [
    (["img40.png", "img40.jpg", "img41.jpg"], "2 images for frame 40"),
    (["a1_b1.jpg", "a2_b2.jpg"], "more than one number changes"),
    (["img1.jpg", "img2.jpg", "cover.jpg"], "follow 2 patterns"),
])
def test_a_folder_whose_order_would_be_a_guess_is_refused(tmp_path, names, message):
    folder = _touch(tmp_path / "clip", names)
    with pytest.raises(frames.FrameError, match=message) as error:
        frames.list_frames(folder)
    assert str(error.value).startswith(folder)


def test_predict_refuses_an_ambiguous_folder_naming_it(tiny_workdir, tmp_path):
    from meint_jax import predict

    folder = tmp_path / "frames"
    rng = np.random.default_rng(0)
    for name in ("img1.jpg", "img2.jpg", "img2.png", "img3.jpg"):
        write_jpeg(str(folder / name), rng)
    with pytest.raises(errors.UserError, match=f"{folder}: 2 images for frame 2"):
        predict.run(tiny_workdir, str(folder), str(tmp_path / "out"), face="none")


# --- Builds: sheets, rows, sources -----------------------------------------------------------------------


def _casme2_copy(manual, rng, clips, sheet_rows, header=CASME2_HEADER):
    for subject, clip, names in clips:
        for name in names:
            write_jpeg(str(manual / "Cropped" / f"sub{subject}" / clip / name), rng)
    casme2_sheet(manual / "CASME2-coding-20140508.xlsx", sheet_rows, header)
    return manual


def _build(name, manual, data_dir):
    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    return builder


@pytest.fixture
def small_casme2(monkeypatch):
    from data_builders.casme2 import casme2_dataset_builder as casme2

    config = [c for c in casme2.Builder.BUILDER_CONFIGS if c.name == "cropped_128"][0]
    monkeypatch.setattr(config, "frame_size", SIZE)


def test_a_build_counts_duplicate_rows_and_ambiguous_folders_and_records_its_source(small_casme2, tmp_path):
    header = CASME2_HEADER[:-1]   # no emotion column: intensity does not need one
    manual = _casme2_copy(tmp_path / "manual", np.random.default_rng(0), [
        ("01", "EP01", [f"reg_img{n}.jpg" for n in range(1, 8)]),
        ("02", "EP02", ["reg_img1.jpg", "reg_img2.jpg", "reg_img2.png", "reg_img3.jpg", "reg_img4.jpg"]),
    ], [(1, "EP01", 2, 4, 6, "12"), (1, "EP01", 2, 4, 6, "12"), (2, "EP02", 1, 2, 4, "4")], header=header)
    builder = _build("casme2/cropped_128", manual, tmp_path / "tfds")
    (clip,) = list(tfds.as_numpy(builder.as_dataset(split="train")))
    assert builder.info.features["emotion"].int2str(clip["emotion"]) == "others"
    summary = json.load(open(os.path.join(builder.data_dir, "build_summary.json")))
    assert summary["clips"] == 1
    assert summary["skipped_by_reason"] == {"ambiguous frame numbering": 1, "duplicate row": 1}
    assert "the same clip and onset as row 2" in summary["skipped_rows"][0]["reason"]
    assert summary["sheets"] == [str(manual / "CASME2-coding-20140508.xlsx")]
    assert len(summary["source_fingerprint"]) == 64


def test_two_candidate_sheets_or_a_renamed_column_are_named(small_casme2, tmp_path):
    from data_builders.samm import samm_dataset_builder as samm  # noqa: F401

    manual = tmp_path / "samm"
    write_jpeg(str(manual / "SAMM" / "006" / "006_1_2" / "006_00001.jpg"), np.random.default_rng(0))
    for version in ("v1", "v2"):
        write_sheet(manual / f"SAMM_Micro_FACS_Codes_{version}.xlsx", [["Subject"]])
    with pytest.raises(annotations.AnnotationError, match=r"2 candidates for the coding sheet \(SAMM_Micro_FACS"):
        _build("samm/whole_128", manual, tmp_path / "tfds")
    renamed = [c if c != "OnsetFrame" else "Onset" for c in CASME2_HEADER]
    manual = _casme2_copy(tmp_path / "casme2", np.random.default_rng(0), [("01", "EP01", ["reg_img1.jpg"])],
                          [(1, "EP01", 1, 1, 1, "12", "happiness")], header=renamed)
    with pytest.raises(annotations.AnnotationError, match=r"row 1 lacks 'onsetframe'") as error:
        _build("casme2/cropped_128", manual, tmp_path / "tfds")
    assert "apexframe" not in str(error.value)


def _data_config(name, data_dir, manual_dir):
    import ml_collections

    return ml_collections.ConfigDict({"name": name, "data_dir": data_dir, "manual_dir": manual_dir})


def test_a_build_from_a_changed_manual_dir_is_refused_and_a_tilde_is_the_home(small_casme2, tmp_path,
                                                                                monkeypatch):
    from data_builders import lookup

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    manual = _casme2_copy(tmp_path / "manual", np.random.default_rng(0),
                          [("01", "EP01", [f"reg_img{n}.jpg" for n in range(1, 8)])],
                          [[1, "EP01", 2, 4, 6, "12", "happiness"]])
    config = _data_config("casme2/cropped_128", "~/tfds", str(manual))
    builder = lookup.get_builder(config)
    assert builder.data_dir.startswith(str(tmp_path / "home" / "tfds"))
    assert not os.path.exists("~")
    assert lookup.get_builder(config).data_dir == builder.data_dir          # unchanged copy: reused
    (manual / ".DS_Store").write_text("finder")
    (manual / "Cropped" / "sub01" / "EP01" / ".DS_Store").write_text("finder")
    (manual / "~$CASME2-coding-20140508.xlsx").write_text("excel's lock file")
    moved = tmp_path / "moved"
    shutil.copytree(manual, moved)
    assert lookup.get_builder(_data_config("casme2/cropped_128", "~/tfds", str(moved))).data_dir == builder.data_dir
    write_jpeg(str(manual / "Cropped" / "sub01" / "EP01" / "reg_img8.jpg"), np.random.default_rng(1))
    with pytest.raises(errors.ConfigError, match="was built from another state of") as error:
        lookup.get_builder(config)
    assert f"delete {builder.data_dir}" in str(error.value)


def test_a_corrupt_onset_frame_skips_its_clip_in_a_dlib_build(tmp_path, monkeypatch):
    from data_builders.samm import samm_dataset_builder as samm
    from meint_jax.data.clips import synthetic

    config = [c for c in samm.Builder.BUILDER_CONFIGS if c.name == "dlib_128"][0]
    monkeypatch.setattr(config, "frame_size", SIZE)
    from PIL import Image

    face = next(synthetic.generate(synthetic.GeneratorConfig(
        num_subjects=1, clips_per_subject=1, frame_size=224, min_frames=20, max_frames=22, min_me_frames=8,
        max_me_frames=10, min_neutral=4))).frames
    manual = tmp_path / "manual"
    for subject, first in (("006", 100), ("007", 200)):
        folder = manual / "SAMM" / subject / f"{subject}_1_2"
        folder.mkdir(parents=True)
        for i in range(6):
            Image.fromarray(face[i]).save(folder / f"{subject}_{first + i:05d}.jpg", quality=95)
    (manual / "SAMM" / "007" / "007_1_2" / "007_00200.jpg").write_bytes(b"\xff\xd8 truncated")   # its onset
    samm_sheet(manual / "SAMM_Micro_FACS_Codes_v2.xlsx", [("006", "006_1_2", 100, 102, 104, "12", "Happiness"),
                                                          ("007", "007_1_2", 200, 202, 204, "4", "Anger")])
    builder = _build("samm/dlib_128", manual, tmp_path / "tfds")
    summary = json.load(open(os.path.join(builder.data_dir, "build_summary.json")))
    assert summary["clips"] == 1 and summary["skipped_by_reason"] == {"unreadable frame": 1}
    assert "007_00200.jpg: unreadable or corrupt image" in summary["skipped_rows"][0]["reason"]


# --- Runs and checkpoints --------------------------------------------------------------------------------


def _tiny_config(tiny_builder):
    from configs.intensity import synthetic as synthetic_config

    config = synthetic_config.get_config("size=tiny")
    config.data.data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    config.train.update(num_steps=4, checkpoint_every=4)
    return config


def test_the_resume_guard_reads_the_checkpoint_not_config_json(tiny_workdir, tiny_builder, tmp_path):
    from meint_jax.training import config_checks

    workdir = tmp_path / "run"
    shutil.copytree(tiny_workdir, workdir)
    os.remove(workdir / "config.json")
    config = _tiny_config(tiny_builder)
    config.train.learning_rate = 0.5
    with pytest.raises(errors.ConfigError, match="train.learning_rate: 0.001 there, 0.5 now"):
        tasks.train_and_evaluate(config, str(workdir))
    assert os.listdir(workdir / "checkpoints") == ["4"]          # refused, not mistaken for damage
    (workdir / "config.json").write_text('{"data": {"name": "synth')
    with pytest.raises(errors.ConfigError, match=r"config.json: not a readable config"):
        config_checks.check_same_run(str(workdir), config)


def test_a_damaged_latest_checkpoint_is_set_aside_and_the_one_before_restored(tmp_path):
    from meint_jax.training import checkpoint

    ckpt = checkpoint.Checkpointer(str(tmp_path / "ck"))
    for step in (1, 2):
        ckpt.save(step, {"w": np.full(8, float(step)), "step": np.array(step)}, {"step": step})
    ckpt.close()
    with open(tmp_path / "ck" / "2" / "state" / "_METADATA", "r+b") as f:
        f.truncate(10)
    ckpt = checkpoint.Checkpointer(str(tmp_path / "ck"))
    with pytest.raises(checkpoint.CheckpointError, match=r"ck/2: cannot be restored \(Unterminated string"):
        ckpt.restore({"w": np.zeros(8), "step": np.array(0)}, step=2)
    state, config = ckpt.restore({"w": np.zeros(8), "step": np.array(0)})
    assert int(state["step"]) == 1 and config == {"step": 1}
    assert sorted(os.listdir(tmp_path / "ck")) == ["1", "2.damaged"]
    assert ckpt.latest_step() == 1
    with open(tmp_path / "ck" / "1" / "config" / "metadata", "w") as f:
        f.write('{"step": ')                                    # the last one too: no silent restart
    with pytest.raises(checkpoint.CheckpointError, match="no intact checkpoint left"):
        ckpt.saved_config()
    assert sorted(os.listdir(tmp_path / "ck")) == ["1.damaged", "2.damaged"]


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_checkpoint_whose_array_files_are_damaged_is_set_aside_on_resume_and_named_in_one_line(tmp_path, damage):
    """orbax wraps tensorstore's read errors in a bare Exception; the cause is found and named, briefly."""
    from meint_jax.training import checkpoint

    ckpt = checkpoint.Checkpointer(str(tmp_path / "ck"))
    for step in (1, 2):
        ckpt.save(step, {"w": np.full((64, 8), float(step), np.float32), "step": np.array(step)}, {"step": step})
    ckpt.close()
    for root, _, names in os.walk(tmp_path / "ck" / "2" / "state"):
        for name in names:
            if os.path.basename(root) == "d":
                path = os.path.join(root, name)
                os.remove(path) if damage == "delete" else open(path, "r+b").truncate(os.path.getsize(path) // 2)
    abstract = {"w": np.zeros((64, 8), np.float32), "step": np.array(0)}
    ckpt = checkpoint.Checkpointer(str(tmp_path / "ck"))
    with pytest.raises(checkpoint.CheckpointError, match=r"ck/2: cannot be restored \((NOT_FOUND|FAILED_PRECONDITION|"
                                                         r"OUT_OF_RANGE|DATA_LOSS)") as error:
        ckpt.restore(abstract, step=2)
    assert "tensorstore_spec" not in str(error.value) and len(str(error.value)) < 500
    with pytest.raises(checkpoint.CheckpointError, match=r"ck/2: the saved weights cannot be read.*\((NOT_FOUND|"
                                                         r"FAILED_PRECONDITION|OUT_OF_RANGE|DATA_LOSS).*--step$"):
        checkpoint.restore_variables(str(tmp_path / "ck" / "2"), {"w": abstract["w"]})   # what spot and predict read
    state, config = ckpt.restore(abstract)
    assert int(state["step"]) == 1 and config == {"step": 1}
    assert sorted(os.listdir(tmp_path / "ck")) == ["1", "2.damaged"]


def test_a_damaged_array_that_orbax_wraps_in_a_bare_exception_is_still_set_aside(tmp_path, monkeypatch):
    """What a spotting run's checkpoint with one chunk file deleted gives (measured): orbax raises a bare
    Exception, "Encountered error while reading array index", from tensorstore's FAILED_PRECONDITION."""
    from meint_jax.training import checkpoint

    ckpt = checkpoint.Checkpointer(str(tmp_path / "ck"))
    for step in (1, 2):
        ckpt.save(step, {"w": np.full(8, float(step), np.float32)}, {"step": step})
    real_restore = ckpt._manager.restore

    def wrapped(step, **kwargs):
        if step == 2:
            try:
                raise ValueError('FAILED_PRECONDITION: Error reading "params.w/0" in OCDBT database: Truncated '
                                 "Zstd-compressed stream; at byte 0 [tensorstore_spec='{\"driver\": \"zarr\"}']")
            except ValueError as cause:
                raise Exception("Encountered error while reading array index: (slice(0, 8, 1),). See full "
                                "TensorStore details: <TensorStore({\n  'driver': 'cast',\n})>.") from cause
        return real_restore(step, **kwargs)

    monkeypatch.setattr(ckpt._manager, "restore", wrapped)
    with pytest.raises(checkpoint.CheckpointError, match=r"ck/2: cannot be restored \(FAILED_PRECONDITION: .*Truncated "
                                                         r"Zstd-compressed stream; at byte 0\)$"):
        ckpt.restore({"w": np.zeros(8, np.float32)}, step=2)
    assert sys.unraisablehook is checkpoint._quiet_orphaned_reads   # from the first failed read on
    state, config = ckpt.restore({"w": np.zeros(8, np.float32)})
    assert config == {"step": 1} and sorted(os.listdir(tmp_path / "ck")) == ["1", "2.damaged"]


def test_the_event_loop_noise_of_a_failed_restore_is_dropped_and_nothing_else(monkeypatch):
    import types

    from meint_jax.training import checkpoint

    seen = []
    monkeypatch.setattr(checkpoint, "_default_unraisablehook", seen.append)
    for error in (RuntimeError("Event loop is closed"), RuntimeError("something else"), ValueError("Event loop")):
        checkpoint._quiet_orphaned_reads(types.SimpleNamespace(exc_value=error))
    assert [str(u.exc_value) for u in seen] == ["something else", "Event loop"]


def test_a_read_error_that_is_not_damage_renames_nothing(tmp_path, monkeypatch):
    """A passing I/O error (or a state that no longer fits) stops the run and leaves every checkpoint in place."""
    from meint_jax.training import checkpoint

    ckpt = checkpoint.Checkpointer(str(tmp_path / "ck"))
    ckpt.save(1, {"w": np.zeros(8)}, {})

    def unavailable(*args, **kwargs):
        raise ValueError("UNAVAILABLE: Error reading local file: Stale file handle")

    monkeypatch.setattr(ckpt._manager, "restore", unavailable)
    with pytest.raises(checkpoint.CheckpointError, match="ck/1: cannot be read .*nothing was changed"):
        ckpt.restore({"w": np.zeros(8)})
    assert os.listdir(tmp_path / "ck") == ["1"]


def test_predict_names_a_damaged_checkpoint_and_the_way_around_it(tiny_workdir, tmp_path):
    from meint_jax.tasks.intensity import predictor as estimator

    workdir = tmp_path / "run"
    shutil.copytree(tiny_workdir, workdir)
    for root, _, names in os.walk(workdir / "checkpoints" / "4" / "state"):
        for name in names:
            if os.path.basename(root) == "d":
                with open(os.path.join(root, name), "r+b") as f:
                    f.truncate(5)
    with pytest.raises(errors.UserError, match=r"checkpoints/4: the saved weights cannot be read.*--step"):
        estimator.IntensityEstimator.from_checkpoint(str(workdir))


def test_a_save_failing_for_a_full_disk_says_so_wherever_the_run_is(tmp_path, monkeypatch):
    """The mapping, without root: orbax's save raising ENOSPC becomes the one line."""
    from meint_jax.training import checkpoint

    ckpt = checkpoint.Checkpointer(str(tmp_path / "ck"))
    ckpt.save(1, {"w": np.zeros(8)}, {})

    def full(*args, **kwargs):
        os.makedirs(tmp_path / "ck" / "2.orbax-checkpoint-tmp-1", exist_ok=True)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt._manager, "save", full)
    with pytest.raises(checkpoint.CheckpointError, match=r"the disk is full while saving step 2; the last good "
                                                         r"checkpoint, .*ck/1, is kept: free some space"):
        ckpt.save(2, {"w": np.ones(8)}, {})
    assert os.listdir(tmp_path / "ck") == ["1"]


def test_a_full_disk_during_a_save_is_one_line_and_keeps_the_last_checkpoint(tmp_path):
    from meint_jax.training import checkpoint

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        ckpt = checkpoint.Checkpointer(str(disk / "ck"))
        ckpt.save(1, {"w": np.zeros(100, np.float32)}, {})
        with pytest.raises(checkpoint.CheckpointError, match=r"the disk is full while saving step 2; the last good "
                                                             r"checkpoint, .*ck/1, is kept") as error:
            ckpt.save(2, {"w": np.random.default_rng(0).random(1_000_000, np.float32)}, {})   # 4 MB, incompressible
        assert len(str(error.value).splitlines()) == 1
        assert os.listdir(disk / "ck") == ["1"]            # the partial save is gone, its space given back
        ckpt.close()
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# --- Prediction inputs -----------------------------------------------------------------------------------


def test_prediction_refuses_settings_that_cannot_work_before_any_decoding(tiny_workdir, tmp_path):
    from meint_jax import predict
    from meint_jax.tasks.intensity import predictor as estimator

    missing_input = str(tmp_path / "absent.mp4")
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    with pytest.raises(errors.ConfigError, match="--output .*a_file/out is not writable"):
        predict.run(tiny_workdir, missing_input, str(blocked / "out"))
    for fps in (0.0, -30.0):
        with pytest.raises(errors.PredictError, match=f"--fps={fps}: use the recording's frame rate"):
            predict.run(tiny_workdir, missing_input, str(tmp_path / "out"), fps=fps)
    with pytest.raises(errors.PredictError, match="batch_size=0"):
        predict.run(tiny_workdir, missing_input, str(tmp_path / "out"), batch_size=0)
    model = estimator.IntensityEstimator.from_checkpoint(tiny_workdir)
    one_frame = np.zeros((1, 32, 32, 3), np.uint8)
    with pytest.raises(errors.PredictError, match="1 frame\\(s\\): a curve needs at least 2"):
        model.predict(one_frame)


def _write_video(path, frames, fps=30, **options):
    import av

    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return str(path)


def test_a_truncated_video_is_refused_or_with_the_flag_marked_in_every_output(tiny_workdir, tmp_path):
    """mp4 states its frame count (index first), mkv its duration: either cut short is refused in one line;
    --allow_truncated uses what is left, and the JSON, every CSV row and the plot say so."""
    import csv

    from meint_jax import predict
    from meint_jax.inference import readers

    frames = np.random.default_rng(0).integers(0, 255, (90, 64, 64, 3), dtype=np.uint8)
    mp4 = _write_video(tmp_path / "index_first.mp4", frames, movflags="faststart")
    mkv = _write_video(tmp_path / "cut.mkv", frames)
    for video in (mp4, mkv):
        whole = readers.read_video(video, 32, "none", 0.25)
        assert len(whole.frames) == 90 and whole.warnings == ()
        np.testing.assert_allclose(whole.times, np.arange(90) / 30, atol=1e-3)   # the video's own timestamps
        data = open(video, "rb").read()
        open(video, "wb").write(data[:int(len(data) * 0.6)])
        with pytest.raises(errors.PredictError, match=r"decoded \d+ of the 90 frames its header announces: the file "
                                                      r"is truncated or damaged .*--allow_truncated"):
            readers.read_video(video, 32, "none", 0.25)
    predict.run(tiny_workdir, mkv, str(tmp_path / "out"), face="none", allow_truncated=True)
    record = json.load(open(tmp_path / "out" / "cut.json"))
    assert len(record["warnings"]) == 1 and record["warnings"][0].startswith("truncated: decoded")
    assert len(record["intensity"]) < 90
    with open(tmp_path / "out" / "cut.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(record["intensity"]) and {r["warnings"] for r in rows} == set(record["warnings"])


def test_a_variable_frame_rate_video_is_timed_by_its_own_timestamps_and_said_to_be_uneven(tmp_path):
    """A phone's video: frames 15-40 ms apart. Seconds are the frames' timestamps, not index / mean rate."""
    import fractions

    import av

    from meint_jax.inference import readers

    gaps_ms = np.tile([15, 40, 25], 10)
    stamps_ms = np.r_[0, np.cumsum(gaps_ms)[:-1]]
    path = str(tmp_path / "phone.mkv")
    with av.open(path, "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "bgr0"
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for ms in stamps_ms:
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), ms % 255, np.uint8), format="rgb24")
            frame.pts, frame.time_base = int(ms), fractions.Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    clip = readers.read_video(path, 32, "none", 0.25)
    np.testing.assert_allclose(clip.times, stamps_ms / 1000, atol=1e-6)
    assert any(w.startswith("variable frame rate: 15.0-40.0 ms between frames") for w in clip.warnings)


def test_predict_leaves_the_frames_without_the_face_unscored(tiny_workdir, tmp_path):
    from meint_jax import predict
    from meint_jax.testing import long_fixtures

    pixels = long_fixtures.face_frames(1, 40).copy()
    pixels[24:] = long_fixtures.blank_frames(16)               # the face leaves after frame 23
    long_fixtures.write_frames(str(tmp_path / "rec"), [f"img{n}.png" for n in range(40)], pixels)
    predict.run(tiny_workdir, str(tmp_path / "rec"), str(tmp_path / "out"), fps=30.0)
    record = json.load(open(tmp_path / "out" / "rec.json"))
    unscored = [n for n, x in zip(record["frame_number"], record["intensity"]) if x is None]
    assert set(range(24, 40)) <= set(unscored) and min(unscored) >= 16     # the face-less frames, a margin
    assert record["warnings"] == [f"no face in {len(unscored)} of 40 frames ({min(unscored)}-39): they are not "
                                  "scored"]


def test_frames_missing_from_a_numbered_folder_are_named_in_its_outputs(tiny_workdir, tmp_path):
    from meint_jax import predict

    rng = np.random.default_rng(0)
    for n in [*range(1, 30), *range(51, 60)]:
        write_jpeg(str(tmp_path / "frames" / f"img{n}.jpg"), rng)
    predict.run(tiny_workdir, str(tmp_path / "frames"), str(tmp_path / "out"), face="none", fps=30.0)
    record = json.load(open(tmp_path / "out" / "frames.json"))
    assert record["warnings"] == ["frames missing: 21 frame number(s) absent (30-50); the frames either side of a "
                                  "gap are treated as neighbours"]
    assert record["time_s"][29] == pytest.approx(51 / 30)          # time keeps the gap


# --- Weight files ----------------------------------------------------------------------------------------


def _crafted_pth(path, size, storage_elements=10):
    """A torch zip checkpoint holding one float tensor of `size` over a storage of `storage_elements`."""
    torch = pytest.importorskip("torch")
    marker = object()

    class Rebuild:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (marker, 0, size, (1,) * len(size), False,
                                                      collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", storage_elements) if obj is marker else None

    import io

    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump(collections.OrderedDict(w=Rebuild()))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/data/0", np.arange(storage_elements, dtype=np.float32).tobytes())
    return str(path)


def test_the_torchless_reader_refuses_a_tensor_reaching_past_its_storage(tmp_path):
    from meint_jax.models import pretrained

    fine = pretrained._read_torch_zip_without_torch(_crafted_pth(tmp_path / "fine.pth", (10,)))
    np.testing.assert_array_equal(fine["w"], np.arange(10, dtype=np.float32))
    with pytest.raises(pretrained.PretrainedError, match=r"reaches element 999999 of a storage of 10"):
        pretrained._read_torch_zip_without_torch(_crafted_pth(tmp_path / "crafted.pth", (1_000_000,)))


def test_conversion_refuses_every_file_that_is_not_a_resnet18(tmp_path):
    torch = pytest.importorskip("torch")
    from meint_jax import convert_weights
    from meint_jax.models import pretrained
    from meint_jax.testing import torch_reference

    state = torch_reference.ResNet18().state_dict()
    cases = {}
    deeper = dict(state, **{"layer1.2.conv1.weight": torch.zeros(64, 64, 3, 3)})   # a ResNet34's extra block
    grey = dict(state, **{"conv1.weight": torch.zeros(64, 1, 7, 7)})
    for name, weights in (("resnet34.pth", deeper), ("grey.pth", grey), ("resnet18.pth", state)):
        torch.save(weights, tmp_path / name)
        cases[name] = str(tmp_path / name)
    data = open(cases["resnet18.pth"], "rb").read()
    (tmp_path / "truncated.pth").write_bytes(data[: len(data) // 2])
    (tmp_path / "random.pth").write_bytes(np.random.default_rng(0).bytes(1000))
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")

    class Payload:
        def __reduce__(self):
            return os.system, ("true",)

    torch.save({"conv1.weight": Payload()}, tmp_path / "payload.pth")
    expected = {
        "resnet34.pth": "not a torchvision ResNet18 .* 1 unexpected, e.g. layer1_2/conv1",
        "grey.pth": r"not a torchvision ResNet18 \(1 tensors of the wrong shape",
        "truncated.pth": "a truncated or damaged zip file",
        "random.pth": "not a torch checkpoint",
        "bad.safetensors": "not a readable .safetensors file",
        "payload.pth": "refusing to load, its pickle calls",
    }
    for name, message in expected.items():
        with pytest.raises(pretrained.PretrainedError, match=message) as error:
            convert_weights.convert(str(tmp_path / name), str(tmp_path / "out"))
        assert "weights_only" not in str(error.value) and not os.path.exists(tmp_path / "out")
    import jax

    from meint_jax.models.resnet import ResNet18

    whole = jax.eval_shape(ResNet18().init, jax.random.PRNGKey(0), np.zeros((1, 64, 64, 3), np.float32))
    converted = convert_weights.convert(cases["resnet18.pth"], str(tmp_path / "out"))
    assert converted == len(jax.tree_util.tree_leaves(whole))


def test_the_conversion_command_reports_a_refusal_on_one_line(tmp_path):
    (tmp_path / "random.pth").write_bytes(b"not weights at all")
    result = subprocess.run([sys.executable, "-m", "meint_jax.convert_weights", f"--input={tmp_path / 'random.pth'}",
                             f"--output={tmp_path / 'out'}"], cwd=REPO, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, MEINT_JAX_ALLOCATOR="system"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"meint_jax.convert_weights: error: {tmp_path / 'random.pth'}: not a torch checkpoint (.pth/.pt) "
        "nor .safetensors")


@pytest.mark.slow
def test_a_config_named_by_absolute_path_loads_from_any_directory(tmp_path):
    result = subprocess.run([sys.executable, "-m", "meint_jax.main",
                             f"--config={REPO}/configs/intensity/synthetic.py:size=tiny",
                             f"--workdir={tmp_path / 'run'}", "--config.train.num_steps=0"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300,   # this checkout's meint_jax
                            env=dict(os.environ, MEINT_JAX_ALLOCATOR="system", PYTHONPATH=REPO))
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith(
        "meint_jax.main: error: config.train.num_steps=0: use a positive integer")



KILLED_BUILD = """
import sys
import ml_collections
from data_builders import lookup
from data_builders.casme2 import casme2_dataset_builder as casme2

if __name__ == "__main__":
    [c for c in casme2.Builder.BUILDER_CONFIGS if c.name == "cropped_128"][0].frame_size = 32
    lookup.get_builder(ml_collections.ConfigDict({"name": "casme2/cropped_128", "data_dir": sys.argv[1],
                                                  "manual_dir": sys.argv[2]}))
"""


def _descendants(pid):
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc")
def test_a_killed_build_leaves_no_workers_and_the_next_build_clears_its_leftovers(small_casme2, tmp_path,
                                                                                  monkeypatch):
    import signal
    import time

    from PIL import Image

    from data_builders import lookup

    manual = tmp_path / "manual"
    first = manual / "Cropped" / "sub01" / "EP00" / "reg_img1.jpg"
    first.parent.mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8)).save(first)
    rows = []
    for clip in range(60):   # 2400 large frames: decoding takes the workers several seconds
        folder = manual / "Cropped" / "sub01" / f"EP{clip:02d}"
        folder.mkdir(exist_ok=True)
        for n in range(1, 41):
            if not (folder / f"reg_img{n}.jpg").exists():
                os.link(first, folder / f"reg_img{n}.jpg")
        rows.append((1, f"EP{clip:02d}", 2, 10, 30, "12", "happiness"))
    casme2_sheet(manual / "CASME2-coding-20140508.xlsx", rows)
    script = tmp_path / "build.py"
    script.write_text(KILLED_BUILD)
    data_dir = tmp_path / "tfds"
    env = dict(os.environ, PYTHONPATH=REPO, MEINT_JAX_ALLOCATOR="system")   # this checkout, not another install
    process = subprocess.Popen([sys.executable, str(script), str(data_dir), str(manual)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, workers = time.time() + 240, []
    while time.time() < deadline and process.poll() is None and len(workers) < 2:
        workers = _descendants(process.pid)   # the forkserver and its workers
        time.sleep(0.2)
    assert process.poll() is None and len(workers) >= 2, "the build ended before its workers were seen"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in workers):
        time.sleep(0.2)
    alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}")
             and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not alive, f"workers {alive} outlived the killed build"

    leftovers = list((data_dir / "casme2" / "cropped_128").glob("incomplete.*"))
    assert leftovers                                          # what TFDS leaves when a build is killed
    monkeypatch.setattr(lookup, "ABANDONED_AFTER_S", 0.0)
    small = _casme2_copy(tmp_path / "small", np.random.default_rng(0),
                         [("01", "EP01", [f"reg_img{n}.jpg" for n in range(1, 8)])],
                         [[1, "EP01", 2, 4, 6, "12", "happiness"]])
    builder = lookup.get_builder(_data_config("casme2/cropped_128", str(data_dir), str(small)))
    assert builder.info.splits["train"].num_examples == 1
    assert not list((data_dir / "casme2" / "cropped_128").glob("incomplete.*"))


def test_init_from_a_folder_that_is_not_converted_weights_is_named(tiny_workdir):
    from meint_jax.models import pretrained
    from meint_jax.training import run as fold

    with pytest.raises(pretrained.PretrainedError, match="not a directory written by `python -m meint_jax.conv"):
        fold.encoder_weights(tiny_workdir)
