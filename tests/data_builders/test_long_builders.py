"""The long-video builders (casme_sq, samm_lv, casme3, synthetic_long) on generated copies of the real layouts:
every quirk decided and counted, records read back equal to their sources, build on first use, resume."""

import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

import data_builders  # noqa: F401  Registers the builders.
from meint_jax import tasks
from meint_jax.data import frames
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.testing import long_fixtures

FLOW = 64     # flow crop side in these tests (224 in the real configs): a quarter of the work
SIZE = 32     # stored frame side


def small(monkeypatch, module, name):
    """The builder config `name` of `module.Builder`, shrunk for a test."""
    config = [c for c in module.Builder.BUILDER_CONFIGS if c.name == name][0]
    monkeypatch.setattr(config, "flow_size", FLOW)
    monkeypatch.setattr(config, "frame_size", SIZE)
    return config


def build(name, manual, data_dir):
    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    return builder


def as_tuples(video):
    return [(i.onset, i.apex, i.offset, i.kind, i.emotion, i.native_emotion) for i in video.intervals]


def summary_of(builder):
    with open(os.path.join(builder.data_dir, "build_summary.json")) as f:
        return json.load(f)


def reasons(summary, key="skipped_rows"):
    return sorted(row["reason"] for row in summary[key])


def one_joint_step(config_module: str, builder, expected_classes, present, labels: str = "three") -> dict:
    """The dataset's spotting + recognition config (shrunk network, same data settings) recorded on its
    fixture and trained one step (finite losses); its frames' emotion targets hold the `present` classes."""
    import importlib

    import jax

    from meint_jax.tasks.spotting import steps as spotting_steps
    from meint_jax.tasks.spotting import train as spotting_run
    from meint_jax.training import state as steps

    config = importlib.import_module(f"configs.spotting.{config_module}").get_config()
    config.data.emotion_labels = labels
    config.model.update(stem_features=8, slow_features=8, stages=2, lateral_after=(1,), d_state=4,
                        layers_per_stage=1)
    config.data.window = 8
    config.data.frame_step = 1
    config.train.batch_size = 4
    videos = long_pipeline.load_videos(builder)
    config = spotting_run._record_facts(config, videos)
    assert config.data.emotion_classes == expected_classes and config.model.emotion_outputs == len(expected_classes) + 1
    spec = spotting_run.spotting_protocol.window_spec(config, train=True)
    targets = np.concatenate([long_pipeline.frame_emotions(v.video.frame_numbers, v.video.intervals,
                                                           spec.emotion_classes, labels) for v in videos])
    classes = tuple(config.data.emotion_classes)
    assert {classes[k] for k in targets if 0 <= k < len(classes)} == set(present)
    model = tasks.create_model(config)
    tx = steps.create_optimizer(config.train)
    state = steps.init_state(model, tx, (1, 8, 36), 0, dtype=np.float32)
    batch = next(long_pipeline.train_batches(videos, spec, batch_size=4, seed=0))
    step = jax.jit(lambda s, b: spotting_steps.train_step(s, b, model=model, tx=tx, loss_config=config.loss))
    state, metrics = step(state, {"inputs": batch["features"], "targets": batch["targets"], "mask": batch["mask"],
                                  "emotions": batch["emotions"]})
    assert int(state.step) == 1 and bool(metrics["finite"]) and float(metrics["emotion_ce"]) > 0
    return config


@pytest.mark.slow
def test_casme_sq_reads_the_workbook_found_by_its_sheets_and_counts_every_skip(tmp_path, monkeypatch):
    from data_builders.casme_sq import casme_sq_dataset_builder as casme_sq

    small(monkeypatch, casme_sq, "features")
    manual = long_fixtures.casme_sq(tmp_path)
    builder = build("casme_sq/features", manual, tmp_path / "tfds")
    videos = {v.video.video_id: v for v in long_pipeline.load_videos(builder)}
    assert {k: as_tuples(v.video) for k, v in videos.items()} == long_fixtures.EXPECTED_CASME_SQ
    video = videos["s15/15_0101"]
    np.testing.assert_array_equal(video.video.frame_numbers, np.arange(1, long_fixtures.FRAMES + 1))
    assert video.video.subject == "s15" and video.video.fps == 30.0
    assert video.flow.shape == (long_fixtures.FRAMES, 36) and np.all(video.flow[0] == 0)

    summary = summary_of(builder)
    assert summary["videos"] == 3 and summary["intervals"] == 4
    assert summary["intervals_by_kind"] == {"micro": 2, "macro": 2}
    found = reasons(summary)
    assert len(found) == len(long_fixtures.SKIPPED_CASME_SQ)
    for expected in long_fixtures.SKIPPED_CASME_SQ:
        assert any(r.startswith(expected) for r in found), (expected, found)
    assert summary["repaired_by_reason"] == {"offset 0": 1}
    assert os.path.basename(summary["sheets"][0]) == "CAS(ME)2_code_copy.xlsx"
    one_joint_step("casme_sq", builder, ("negative", "positive", "surprise"), {"negative", "positive"})


@pytest.mark.parametrize("naming_rule1", [
    long_fixtures.CASME_SQ_INDEX_ROWS,                                              # as released
    [("number", "folder", "subject")] + long_fixtures.CASME_SQ_INDEX_ROWS + [(None, None, None)],
    [("subject", "folder"), (22, "s40"), (6, "s22")],
    [(22, "s40"), (6, "s22"), (22, "s40")],
], ids=["released", "header", "two_columns", "two_columns_no_header"])
def test_casme_sq_subject_indices_that_are_folder_numbers_land_in_the_folders_the_sheet_names(tmp_path, naming_rule1):
    from meint_jax.data.long import annotations as long_annotations

    result = long_annotations.parse_casme_sq(*long_fixtures.casme_sq_indices(tmp_path, naming_rule1))
    assert {v.video_id: as_tuples(v) for v in result.videos} == long_fixtures.EXPECTED_CASME_SQ_INDICES
    assert result.skipped == []


@pytest.mark.parametrize("naming_rule1, reason", [
    ([(40, "s40", 22, "x"), (22, "s22", 6, "y")], "4 columns"),
    ([(22, "s40", 40), (6, "s22", 22)], "first column is not the number of folder 's40'"),    # columns swapped
    ([(40, "s40", 22), (22, "s22")], "2 columns where row 1 has 3"),
    ([(40, "s40", 22), (22, None, 6)], "a blank cell"),
    ([(40, "s40", 22), (40, "s40", 6), (22, "s22", 22)], "subject index 22 is already folder 's40'"),
    ([(40, "s40", "twenty-two")], "no whole-number subject index"),
    ([(22, "s22"), (40, "s40")], "each folder with its own number"),                       # the index column lost
    ([("subject", "folder")], "no subject rows"),
])
def test_a_casme_sq_subject_sheet_of_no_known_layout_is_refused_in_one_line(tmp_path, naming_rule1, reason):
    from meint_jax.data.clips.annotations import AnnotationError
    from meint_jax.data.long import annotations as long_annotations

    workbook, rawpic = long_fixtures.casme_sq_indices(tmp_path, naming_rule1)
    with pytest.raises(AnnotationError) as error:
        long_annotations.parse_casme_sq(workbook, rawpic)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{workbook}: sheet 'naming rule1' ")
    assert reason in message and "expected (folder number, folder name, subject index)" in message


@pytest.mark.slow
def test_samm_lv_joins_emotions_rounds_fractions_places_missing_apexes_drops_repeats_and_stores_frames(
        tmp_path, monkeypatch):
    from data_builders.samm_lv import samm_lv_dataset_builder as samm_lv

    small(monkeypatch, samm_lv, "frames_128")
    manual = long_fixtures.samm_lv(tmp_path)
    builder = build("samm_lv/frames_128", manual, tmp_path / "tfds")
    videos = {v.video.video_id: v for v in long_pipeline.load_videos(builder)}
    assert {k: as_tuples(v.video) for k, v in videos.items()} == long_fixtures.EXPECTED_SAMM_LV
    micro = [i for i in videos["006/006_1"].video.intervals if i.kind == "micro"][0]
    assert not micro.apex_annotated and micro.apex == (24 + 30) // 2
    assert videos["006/006_1"].video.fps == 200.0
    assert not set(long_fixtures.GAP_SAMM_LV) & set(videos["006/006_1"].video.frame_numbers.tolist())

    summary = summary_of(builder)
    assert {r.split(":")[0] for r in reasons(summary)} == long_fixtures.SKIPPED_SAMM_LV
    repaired = {r.split(":")[0]: 0 for r in reasons(summary, "repaired_rows")}
    for r in reasons(summary, "repaired_rows"):
        repaired[r.split(":")[0]] += 1
    assert repaired == long_fixtures.REPAIRED_SAMM_LV
    one_joint_step("samm_lv", builder, ("negative", "positive", "surprise"), {"negative", "positive"})

    # The stored frames are the source frames cropped to the video's one face box, up to JPEG re-encoding.
    stored = videos["007/007_2"]
    record = builder.as_data_source("train")[stored.records[0]]
    box = tuple(int(x) for x in record["face_box"])
    paths = [os.path.join(manual, "SAMM_longvideos", "007_2", f"007_2_{n:04d}.jpg") for n in (1, 2, 39, 40)]
    reader = long_pipeline.FrameReader(builder)
    got = reader.read(stored, np.array([0, 1, 38, 39])).astype(float)
    assert got.shape == (4, SIZE, SIZE, 3)
    own = np.abs(got - frames.read_clip(paths, SIZE, box)).mean()
    other = [p.replace("007_2", "006_1") for p in paths]          # another subject's face, same box
    assert own < 8.0 and np.abs(got - frames.read_clip(other, SIZE, box)).mean() > 2 * own
    # The box holds the face: its centre is the rendered face's (placed at x 100-228, y 40-168).
    assert abs((box[0] + box[2]) / 2 - 164) < 20 and abs((box[1] + box[3]) / 2 - 104) < 25


@pytest.mark.slow
def test_casme3_reads_text_cells_blinks_gaps_and_a_case_changed_folder(tmp_path, monkeypatch):
    from data_builders.casme3 import casme3_dataset_builder as casme3

    small(monkeypatch, casme3, "features")
    manual = long_fixtures.casme3(tmp_path)
    builder = build("casme3/features", manual, tmp_path / "tfds")
    videos = {v.video.video_id: v.video for v in long_pipeline.load_videos(builder)}
    assert {k: as_tuples(v) for k, v in videos.items()} == long_fixtures.EXPECTED_CASME3
    assert {k: list(v.blinks) for k, v in videos.items() if v.blinks} == long_fixtures.BLINKS_CASME3
    expected_numbers = [n for n in range(long_fixtures.FRAMES) if n not in long_fixtures.GAPS_CASME3]
    np.testing.assert_array_equal(videos["spNO.1/a"].frame_numbers, expected_numbers)
    summary = summary_of(builder)
    assert {r.split(":")[0] for r in reasons(summary)} == long_fixtures.SKIPPED_CASME3
    assert summary["videos"] == 3
    one_joint_step("casme3", builder, ("negative", "positive", "surprise"), {"negative", "surprise"})
    native = one_joint_step("casme3", builder, ("disgust", "surprise"), {"disgust", "surprise"},
                            "native")   # others left out
    assert native.loss.emotion_weights[-1] == native.loss.neutral_weight


@pytest.mark.parametrize("frames_folder, sheets, labels_folder", [
    ("part_A/data/part_A_split/part_A", ("Sheet1", "Sheet2 blinks"), "annotation/partA"),
    ("part_A/data/Compressed_version1_seperate_compress", ("part A", "eye blink"), "annotation"),
])
def test_casme3_copies_that_unpack_or_name_their_sheets_otherwise_parse_alike(tmp_path, frames_folder, sheets,
                                                                               labels_folder):
    """Peers read "the first sheet" and find the frames under other folders: the sheets are found by their
    columns, the label workbook in annotation/ or a folder in it, the frames in each unpacked layout."""
    from data_builders.casme3 import casme3_dataset_builder as casme3

    manual = long_fixtures.casme3(tmp_path, frames_folder, sheets, labels_folder)
    parsed, frames_root = casme3.Builder(config="features", data_dir=str(tmp_path / "tfds"))._parse(manual)
    assert frames_root == os.path.join(manual, *frames_folder.split("/"))
    assert {v.video_id: as_tuples(v) for v in parsed.videos} == long_fixtures.EXPECTED_CASME3
    assert {v.video_id: list(v.blinks) for v in parsed.videos if v.blinks} == long_fixtures.BLINKS_CASME3


def test_casme3_with_two_label_workbooks_takes_the_final_one_and_refuses_a_guess(tmp_path):
    import shutil

    from data_builders.casme3 import casme3_dataset_builder as casme3
    from meint_jax.data.clips.annotations import AnnotationError

    manual = long_fixtures.casme3(tmp_path)
    label = os.path.join(manual, "annotation", "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    final = label.replace("_v2.xlsx", "_v2_final.xlsx")
    long_fixtures.write_xlsx(final, {"label": [("Subject", "Filename", "Onset", "Apex", "Offset", "emotion"),
                                               ("spNO.1", "a", 3, 6, 10, "fear")]})
    builder = casme3.Builder(config="features", data_dir=str(tmp_path / "tfds"))
    parsed, _ = builder._parse(manual)
    assert {v.video_id: as_tuples(v) for v in parsed.videos}["spNO.1/a"][0][-1] == "fear"
    assert parsed.sheets[-1] == final
    shutil.copy(label, label.replace("_v2.xlsx", "_v3.xlsx"))
    os.remove(final)
    with pytest.raises(AnnotationError, match="annotation: 2 candidates for the ME label workbook"):
        builder._parse(manual)


def test_a_casme3_label_sheet_without_its_emotion_column_is_named_in_one_line(tmp_path):
    from data_builders.casme3 import casme3_dataset_builder as casme3
    from meint_jax.data.clips.annotations import AnnotationError

    manual = long_fixtures.casme3(tmp_path)
    label = os.path.join(manual, "annotation", "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    long_fixtures.write_xlsx(label, {"label": [("Subject", "Filename", "Onset", "Apex", "Offset", "AU"),
                                               ("spNO.1", "a", 3, 6, 10, "4")]})
    with pytest.raises(AnnotationError, match=r"JpgIndex_v2.xlsx: the CAS\(ME\)\^3 label sheet's header \(row 1\) has "
                                              r"no 'emotion' column"):
        casme3.Builder(config="features", data_dir=str(tmp_path / "tfds"))._parse(manual)


def test_a_long_video_dataset_builds_on_first_use_and_refuses_a_changed_source(tmp_path, monkeypatch):
    import ml_collections

    from data_builders import lookup
    from data_builders.casme3 import casme3_dataset_builder as casme3
    from meint_jax.common.errors import ConfigError

    small(monkeypatch, casme3, "features")
    manual = long_fixtures.casme3(tmp_path)
    data = ml_collections.ConfigDict({"name": "casme3/features", "data_dir": str(tmp_path / "tfds"),
                                      "manual_dir": manual})
    builder = lookup.get_builder(data)
    assert builder.info.splits["train"].num_examples == 3
    assert lookup.get_builder(data).data_dir == builder.data_dir            # built once, then found
    label = os.path.join(manual, "annotation", "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    with open(label, "ab") as f:
        f.write(b"\0")                                                      # the label workbook changed
    with pytest.raises(ConfigError, match="built from another state"):
        lookup.get_builder(data)


def test_a_video_with_no_face_is_skipped_with_its_reason_and_the_rest_is_built(tmp_path, monkeypatch):
    from data_builders.casme_sq import casme_sq_dataset_builder as casme_sq

    small(monkeypatch, casme_sq, "features")
    builder = build("casme_sq/features", long_fixtures.casme_sq(tmp_path), tmp_path / "tfds")
    no_face = [row for row in summary_of(builder)["skipped_rows"] if row["reason"].startswith("no face found")]
    assert [row["clip"] for row in no_face] == ["s16/16_0101"]
    assert "16_0101disgustingteeth" in no_face[0]["reason"]


LONGER = dict(num_subjects=4, videos_per_subject=2, min_seconds=12.0, max_seconds=15.0)
KILLED_LONG_BUILD = """
import dataclasses, sys
import tensorflow_datasets as tfds
import data_builders
from data_builders.synthetic_long import synthetic_long_dataset_builder as synthetic_long
if __name__ == "__main__":   # workers start by importing this file (forkserver)
    config = [c for c in synthetic_long.Builder.BUILDER_CONFIGS if c.name == "tiny_frames"][0]
    config.generator = dataclasses.replace(config.generator, **%r)
    tfds.builder("synthetic_long/tiny_frames", data_dir=sys.argv[1]).download_and_prepare()
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process tree from /proc")
def test_a_killed_long_video_build_is_cleared_and_the_next_one_completes(tmp_path, monkeypatch):
    import dataclasses
    import subprocess
    import sys
    import time

    import ml_collections

    from data_builders import lookup
    from data_builders.synthetic_long import synthetic_long_dataset_builder as synthetic_long
    from meint_jax.data.long import sources as long_sources
    from meint_jax.data.long import synthetic as generator
    from tests.test_faults import REPO, _descendants

    script = tmp_path / "build.py"
    script.write_text(KILLED_LONG_BUILD % (LONGER,))
    data_dir = tmp_path / "tfds"
    env = dict(os.environ, PYTHONPATH=REPO, MEINT_JAX_ALLOCATOR="system")
    process = subprocess.Popen([sys.executable, str(script), str(data_dir)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = data_dir / "synthetic_long" / "tiny_frames"
    deadline, workers = time.time() + 240, []
    while time.time() < deadline and process.poll() is None and (
            not list(folder.glob("incomplete.*")) or len(workers) < 2):
        workers = _descendants(process.pid)                  # the forkserver and its workers, rendering
        time.sleep(0.2)
    assert process.poll() is None, "the build ended before it could be killed"
    process.kill()
    process.wait()
    assert list(folder.glob("incomplete.*"))                 # what the killed build left

    config = [c for c in synthetic_long.Builder.BUILDER_CONFIGS if c.name == "tiny_frames"][0]
    monkeypatch.setattr(config, "generator", dataclasses.replace(config.generator, **LONGER))
    monkeypatch.setattr(lookup, "ABANDONED_AFTER_S", 0.0)
    data = ml_collections.ConfigDict({"name": "synthetic_long/tiny_frames", "data_dir": str(data_dir),
                                      "manual_dir": None})
    builder = lookup.get_builder(data)
    assert not list(folder.glob("incomplete.*"))
    videos = long_pipeline.load_videos(builder)
    assert [v.video.video_id for v in videos] == [f"s{s:02d}/s{s:02d}_{k:02d}" for s in (1, 2, 3, 4) for k in (1, 2)]
    # The rebuilt records are those of an uninterrupted computation.
    script_ = generator.script(config.generator, 3, 1)
    direct = long_sources.analyse(script_, config.flow_size, config.face_tries, config.anchor_every)
    np.testing.assert_array_equal(videos[-1].flow, direct.flow)
    alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}")
             and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not alive, f"workers {alive} outlived the killed build"
