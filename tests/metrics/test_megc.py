"""The MEGC spotting metric on hand-worked cases (meint_jax.metrics.megc)."""

import pytest

from meint_jax.metrics.megc import SpotCounts, iou, match_intervals, score_videos


def test_iou_counts_frames_inclusively():
    assert iou((10, 19), (10, 19)) == 1.0
    assert iou((10, 19), (15, 24)) == 5 / 15          # frames 15-19 shared, 10-24 in either
    assert iou((10, 19), (20, 29)) == 0.0             # adjacent: nothing shared
    assert iou((10, 10), (10, 10)) == 1.0             # one frame each, the same one


def test_a_prediction_half_overlapping_is_a_true_positive_and_just_under_half_is_not():
    assert match_intervals([(0, 9)], [(0, 4)]) == (1, 0, 0)       # 5 / 10 = 0.5
    assert match_intervals([(0, 9)], [(0, 3)]) == (0, 1, 1)       # 4 / 10
    assert match_intervals([(0, 9)], [(5, 14)]) == (0, 1, 1)      # 5 / 15


def test_two_predictions_over_one_ground_truth_are_one_tp_and_one_fp():
    assert match_intervals([(100, 119)], [(100, 119), (102, 121)]) == (1, 1, 0)


def test_intervals_one_frame_apart_never_match():
    assert match_intervals([(10, 10)], [(11, 11)]) == (0, 1, 1)
    assert match_intervals([(10, 20)], [(21, 31)]) == (0, 1, 1)


def test_each_prediction_takes_the_unmatched_truth_it_overlaps_most():
    # Truths A=(0,9), B=(6,15); the first prediction (6,15) is B exactly, the second (0,8) then takes A.
    assert match_intervals([(0, 9), (6, 15)], [(6, 15), (0, 8)]) == (2, 0, 0)


def test_a_video_without_truths_adds_its_predictions_as_fps_and_one_without_predictions_its_truths_as_fns():
    assert match_intervals([], [(1, 5), (9, 12)]) == (0, 2, 0)
    assert match_intervals([(1, 5), (9, 12)], []) == (0, 0, 2)


def test_a_backwards_interval_is_refused():
    with pytest.raises(ValueError, match="ends before it starts"):
        match_intervals([(5, 3)], [])


def test_counts_are_summed_over_videos_before_f1():
    # Video 1: micro TP + FP; video 2: micro FN; video 3: a macro TP; video 4 (no truths): a macro FP.
    videos = [({"micro": [(10, 20)]}, {"micro": [(10, 20), (50, 60)]}),
              ({"micro": [(5, 9)]}, {}),
              ({"macro": [(0, 40)]}, {"macro": [(0, 39)]}),
              ({}, {"macro": [(3, 30)]})]
    scores = score_videos(videos)
    assert (scores["micro"]["tp"], scores["micro"]["fp"], scores["micro"]["fn"]) == (1, 1, 1)
    assert scores["micro"]["f1"] == 2 * 1 / (2 * 1 + 1 + 1)
    assert (scores["macro"]["tp"], scores["macro"]["fp"], scores["macro"]["fn"]) == (1, 1, 0)
    assert scores["overall"]["f1"] == 2 * 2 / (2 * 2 + 2 + 1)
    assert scores["overall"]["precision"] == 2 / 4 and scores["overall"]["recall"] == 2 / 3
    # Pooled, not averaged per video: the mean of the per-video micro F1s would be (2/3 + 0) / 2.
    assert scores["micro"]["f1"] != (2 / 3 + 0) / 2


def test_nothing_predicted_and_nothing_to_find_score_zero_not_an_error():
    assert SpotCounts().scores()["f1"] == 0.0
    assert SpotCounts(0, 0, 3).scores() == {"tp": 0, "fp": 0, "fn": 3, "precision": 0.0, "recall": 0.0, "f1": 0.0}
