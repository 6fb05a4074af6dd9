"""Paper 002's own flow features on the generated long videos (`synthetic_long/features_paper`): their tracker
reads the generated face's known landmarks instead of dlib's, which finds no face this small."""

import dataclasses

import numpy as np
import pytest

from configs.spotting import synthetic as synthetic_spotting
from data_builders.synthetic_long import synthetic_long_dataset_builder as builder
from meint_jax.data import flow_features
from meint_jax.data.long import sources
from meint_jax.data.long import synthetic as synthetic_long


def test_the_generated_face_gives_its_points_on_a_whole_frame_and_none_on_a_crop():
    script = synthetic_long.script(builder.TINY, 0, 0)
    frame = script.images([0])[0]
    assert frame.shape == (script.size, script.size, 3)
    np.testing.assert_array_equal(script.find_landmarks(frame[..., 0]), script.landmarks())
    assert script.find_landmarks(np.zeros((flow_features.PAPER_SIZE,) * 2, np.uint8)) is None


def test_paper_features_of_a_generated_video_move_more_during_its_expression_than_outside():
    script = synthetic_long.script(dataclasses.replace(builder.TINY, frame_size=112), 0, 1)
    video = script.video
    flow = sources.paper_analysis(script, flow_features.PAPER_SIZE).flow
    assert flow.shape == (video.num_frames, flow_features.NUM_FEATURES) and np.isfinite(flow).all()
    inside = np.zeros(video.num_frames, bool)
    for interval in video.intervals:
        first, last = np.searchsorted(video.frame_numbers, [interval.onset, interval.offset])
        inside[first:last + 1] = True
    assert inside.any() and not inside.all()
    change = np.abs(np.diff(flow, axis=0)).sum(axis=1)
    assert change[inside[1:]].mean() > 1.1 * change[~inside[1:]].mean()


@pytest.mark.parametrize("arg, name", [
    ("variant=paper", "synthetic_long/features_paper"),
    ("variant=paper,features=ours", "synthetic_long/default"),
    ("features=paper,size=tiny", "synthetic_long/tiny_features_paper"),
    ("variant=paper,data=hard", "synthetic_long/hard_features_paper"),
    ("variant=paper,data=hard,features=ours", "synthetic_long/hard"),
    ("features=paper,data=hard,size=tiny", "synthetic_long/hard_tiny_features_paper"),
    ("variant=paper,inputs=frames", "synthetic_long/default_frames"),
])
def test_variant_paper_trains_on_paper_features_unless_told_otherwise(arg, name):
    assert synthetic_spotting.get_config(arg).data.name == name


def test_paper_features_with_frame_inputs_are_refused_in_one_line():
    with pytest.raises(ValueError, match="features=paper: paper 002's flow features replace ours, so inputs=flow"):
        synthetic_spotting.get_config("features=paper,inputs=frames")


def test_paper_features_of_the_hard_videos_are_built_for_the_same_videos_and_labels_as_ours(tmp_path):
    import tensorflow_datasets as tfds

    from meint_jax.data.long import pipeline as long_pipeline

    built = {}
    for name in ("hard_tiny", "hard_tiny_features_paper"):
        tfds_builder = tfds.builder(f"synthetic_long/{name}", data_dir=str(tmp_path))
        tfds_builder.download_and_prepare()
        built[name] = {v.video.video_id: v for v in long_pipeline.load_videos(tfds_builder)}
    ours, theirs = built["hard_tiny"], built["hard_tiny_features_paper"]
    assert set(ours) == set(theirs) and len(ours) == 6
    for video_id, stored in ours.items():
        # The same hard labels and frames (the easy tiny set's intervals differ from these); only the flow differs.
        assert stored.video.intervals == theirs[video_id].video.intervals
        np.testing.assert_array_equal(stored.video.frame_numbers, theirs[video_id].video.frame_numbers)
        assert stored.flow.shape == theirs[video_id].flow.shape and not np.allclose(stored.flow, theirs[video_id].flow)
    # Paper 002's rows are their tracker's on the generated face's own points, as on the default videos.
    script = next(s for s in synthetic_long.generate(builder.HARD_TINY) if s.video.video_id in theirs)
    expected = sources.paper_analysis(script, flow_features.PAPER_SIZE).flow
    np.testing.assert_allclose(theirs[script.video.video_id].flow, expected, atol=1e-6)
