"""A long-video build under Apache Beam (the DirectRunner's engine, two worker processes) against the plain build.

The plain build is the reference: the same videos in the same order, every field of every record equal
(frames included), and the same build_summary.json, a video skipped for want of a face included. The runner is
`FnApiRunner`, what `DirectRunner` runs a batch pipeline on, named directly: since Beam 2.6x `DirectRunner`
first tries its Prism runner, a binary it downloads, where processes are not ours to set.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_builders import long_video_builder
from data_builders.synthetic_long import synthetic_long_dataset_builder as synthetic_long
from meint_jax.data import faces
from meint_jax.data.long import synthetic as generator

beam = pytest.importorskip("apache_beam", reason="apache-beam is not installed (pip install -e '.[test]')")
from apache_beam.runners.portability import fn_api_runner  # noqa: E402

# 4 videos of 2-3 s at 48 px, stored with their frames in chunks of 32: several chunks a video.
SMALL = synthetic_long.SyntheticLongConfig(
    name="beam_small", frames=True, frame_size=48, flow_size=48, chunk_frames=32,
    generator=dataclasses.replace(synthetic_long.TINY, num_subjects=2, min_seconds=2.0, max_seconds=3.0, max_micro=1,
                                  max_macro=1, macro_seconds=(0.5, 0.8), min_gap_seconds=0.2),
    description="tests: 2 subjects x 2 videos of 2-3 s, frames in chunks of 32")
FACELESS = "s01/s01_02"


@dataclasses.dataclass(frozen=True, eq=False)
class FacelessScript:
    """A rendered video whose face is never found: the build skips it with that reason."""

    script: generator.VideoScript

    @property
    def video(self):
        return self.script.video

    def face(self, size: int, tries: int = 7):
        raise faces.FaceNotFoundError(f"{self.video.video_id}: no face in {tries} frames")


class OneFaceless(synthetic_long.Builder, skip_registration=True):
    """synthetic_long with FACELESS's face hidden."""

    def _sources(self, dl_manager):
        sources, summary = super()._sources(dl_manager)
        return [FacelessScript(s) if s.video.video_id == FACELESS else s for s in sources], summary


def built(data_dir, **download_config):
    builder = OneFaceless(config=SMALL, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(**download_config))
    with open(f"{builder.data_dir}/{long_video_builder.SUMMARY_FILE}") as f:
        summary = json.load(f)
    return builder, summary


def flat(record, prefix=""):
    """{'intervals/onset': array, ...}: a record's leaves, nested features included."""
    out = {}
    for name, value in record.items():
        out.update(flat(value, f"{prefix}{name}/") if isinstance(value, dict) else {prefix + name: value})
    return out


@pytest.mark.slow
def test_a_beam_build_on_two_worker_processes_writes_the_plain_builds_records_and_summary(tmp_path):
    plain, plain_summary = built(tmp_path / "plain")
    options = beam.options.pipeline_options.PipelineOptions([], direct_num_workers=2,
                                                            direct_running_mode="multi_processing")
    on_beam, beam_summary = built(tmp_path / "beam", beam_runner=fn_api_runner.FnApiRunner(), beam_options=options)
    assert on_beam._beam and not plain._beam       # the pipeline was taken, not the plain build twice
    assert sorted(os.listdir(on_beam.data_dir)) == sorted(os.listdir(plain.data_dir))   # staged sources removed

    expected, got = plain.as_data_source()["train"], on_beam.as_data_source()["train"]
    keys = [(r["video_id"].decode(), int(r["chunk"])) for r in expected]
    assert [(r["video_id"].decode(), int(r["chunk"])) for r in got] == keys
    videos = sorted({video for video, _ in keys})
    assert videos == ["s01/s01_01", "s02/s02_01", "s02/s02_02"] and len(keys) > len(videos)   # chunked, one skipped
    for want, have in zip(expected, got):
        want, have = flat(want), flat(have)
        assert want.keys() == have.keys()
        for name in want:
            assert np.array_equal(np.asarray(want[name]), np.asarray(have[name])), name
    assert plain_summary.pop("build_seconds") >= 0 and beam_summary.pop("build_seconds") >= 0
    assert beam_summary == plain_summary
    assert beam_summary["skipped_by_reason"] == {"no face found": 1}
    assert [row["clip"] for row in beam_summary["skipped_rows"]] == [FACELESS]
    assert beam_summary["videos"] == 3 and beam_summary["frames"] == sum(
        int(r["num_frames"]) for r in expected if int(r["chunk"]) == 0)


def test_a_beam_build_is_chosen_by_a_runner_or_options_as_tfds_does():
    assert not long_video_builder.uses_beam(tfds.download.DownloadConfig())
    assert long_video_builder.uses_beam(tfds.download.DownloadConfig(beam_runner=fn_api_runner.FnApiRunner()))
    assert long_video_builder.uses_beam(tfds.download.DownloadConfig(   # what `tfds build --beam_pipeline_options` sets
        beam_options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])))


def test_a_beam_build_refuses_nondeterministic_order_which_tfds_cannot_write_as_array_record(tmp_path):
    builder = OneFaceless(config=SMALL, data_dir=str(tmp_path))
    config = tfds.download.DownloadConfig(beam_runner=fn_api_runner.FnApiRunner(), nondeterministic_order=True)
    with pytest.raises(ValueError, match="nondeterministic_order .* no ArrayRecord writer"):
        builder.download_and_prepare(download_config=config)
