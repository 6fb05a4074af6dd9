"""From score curves to intervals (meint_jax.tasks.spotting.decoding), on constructed curves worked out by hand."""

import numpy as np
import pytest

from meint_jax.metrics import megc as spotting
from meint_jax.tasks.spotting import decoding
from meint_jax.tasks.spotting.decoding import DecoderConfig, Spotted


def two_bumps():
    scores = np.zeros(40)
    scores[10:15] = [0.2, 0.6, 1.0, 0.6, 0.2]
    scores[30:33] = [0.5, 0.8, 0.5]
    return scores


def test_each_peak_above_the_relative_threshold_grows_while_the_score_stays_above_it():
    # mean = (2.6 + 1.8) / 40 = 0.11; threshold = 0.11 + 0.5 x (1 - 0.11) = 0.555.
    found = decoding.decode(two_bumps(), DecoderConfig(smooth=1, p=0.5, min_distance=3))
    assert found == [Spotted(11, 12, 13, 1.0), Spotted(31, 31, 31, 0.8)]


def test_a_higher_p_keeps_only_the_strong_peak():
    # threshold = 0.11 + 0.9 x 0.89 = 0.911: only frame 12.
    assert decoding.decode(two_bumps(), DecoderConfig(smooth=1, p=0.9)) == [Spotted(12, 12, 12, 1.0)]


def test_a_flat_or_empty_curve_holds_nothing():
    assert decoding.decode(np.full(30, 0.3), DecoderConfig()) == []
    assert decoding.decode(np.zeros(0), DecoderConfig()) == []


def test_peaks_closer_than_the_minimum_distance_give_one_interval_and_nms_drops_the_duplicate():
    scores = np.zeros(30)
    scores[10:17] = [0.2, 0.9, 0.7, 0.8, 0.7, 1.0, 0.2]      # two peaks (11, 15), four frames apart
    far = decoding.decode(scores, DecoderConfig(smooth=1, p=0.5, min_distance=2))
    # Both peaks grow to the same run 11-15 above the threshold: NMS keeps the higher one only.
    assert far == [Spotted(11, 15, 15, 1.0)]
    near = decoding.decode(scores, DecoderConfig(smooth=1, p=0.5, min_distance=6))
    assert [s.peak for s in near] == [15]


def test_the_duration_prior_widens_a_spike_and_cuts_a_plateau_around_their_peaks():
    scores = np.zeros(60)
    scores[10] = 1.0                                          # one frame above the threshold
    scores[30:50] = 0.9                                       # twenty frames
    scores[40] = 0.95
    config = DecoderConfig(smooth=1, p=0.5, min_distance=3, min_length=5, max_length=9)
    found = {s.peak: (s.onset, s.offset) for s in decoding.decode(scores, config)}
    assert found[10] == (8, 12)                               # 5 frames centred on the spike
    assert found[40] == (36, 44)                              # 9 frames centred on the peak


def test_smoothing_averages_over_the_window():
    scores = np.zeros(21)
    scores[10] = 3.0
    smoothed = decoding.decode(scores, DecoderConfig(smooth=3, p=0.0, min_distance=1))
    # A 3-frame average spreads the spike over 9-11 (1.0 each), and the threshold (p=0) is the mean.
    assert [(s.onset, s.offset) for s in smoothed] == [(9, 11)]


def test_the_duration_prior_comes_from_the_training_lengths():
    config = decoding.with_duration_prior(DecoderConfig(), [8, 10, 12, 30])   # median 11
    assert (config.min_distance, config.min_length, config.max_length) == (6, 6, 22)
    assert decoding.with_duration_prior(DecoderConfig(), []) == DecoderConfig()


def test_intervals_map_to_the_videos_frame_numbers():
    numbers = np.arange(0, 70, 7) + 1                         # frames 1, 8, 15, ... scored, one a row
    assert decoding.to_frames([Spotted(2, 3, 4, 1.0)], numbers) == [(15, 29)]


def test_rows_of_a_seven_frame_grid_span_the_frames_they_stand_for_clipped_to_the_video():
    numbers = np.arange(64) + 100                             # 64 frames from 100; rows score 100, 107, ..., 163
    # rows 2-4 are frames 114, 121, 128: each end widens by 3 frames, half the step
    assert decoding.to_frames([Spotted(2, 3, 4, 1.0)], numbers, step=7) == [(111, 131)]
    assert decoding.grid_span(0, 9, numbers, 7) == (100, 163)                 # clipped at both ends
    assert decoding.grid_span(1, 1, numbers, 2) == (102, 103)                 # an even step widens the end
    # an expression over frames 130-158 (0-based 30-58) is scored on rows 5-8 (frames 135-156): widened,
    # IoU 27/30 = 0.9; the rows' own frames alone would give 22/29 = 0.76
    onset, offset = decoding.grid_span(5, 8, numbers, 7)
    assert (onset, offset) == (132, 159)
    assert spotting.iou((onset, offset), (130, 158)) == pytest.approx(0.9)


def test_tuning_picks_the_settings_with_the_best_validation_f1():
    scores = two_bumps()
    numbers = np.arange(40) + 100
    validation = [(scores, numbers, [(112, 112)])]            # only the strong peak is an expression
    candidates = decoding.grid(DecoderConfig(smooth=1, min_distance=3), p=[0.5, 0.9])
    best, f1 = decoding.tune(candidates, validation)
    assert best.p == 0.9 and f1 == 1.0                        # p=0.5 adds a false positive at 131


def test_impossible_settings_are_refused():
    with pytest.raises(ValueError, match="min_length"):
        DecoderConfig(min_length=10, max_length=5)
    with pytest.raises(ValueError, match="no decoder settings"):
        decoding.tune([], [])


def test_paper_002s_k_p_is_half_the_upper_median_length_in_rows_of_the_expressions_it_is_given():
    # Lengths in rows (1-based frames, step 1): 9, 4, 0 -> sorted 0, 4, 9; the upper median 4; int(5 / 2) = 2.
    assert decoding.paper_k_p([(1, 10), (5, 9), (2, 2)]) == 2
    # Every 7th frame: rows (frame - 1) // 7; (1, 50) -> 7 - 0 = 7, (8, 29) -> 4 - 1 = 3; upper median 7 -> 4.
    assert decoding.paper_k_p([(1, 50), (8, 29)], step=7) == 4
    assert decoding.paper_k_p([]) == 1


def test_the_paper_rule_decodes_as_the_released_selection_clipped_to_the_sequence():
    scores = np.zeros(30)
    scores[0:3] = [0.6, 1.0, 0.6]          # smoothed plateau on rows 1-2: peak row 1, so peak - k_p = -1 (theirs)
    scores[20:23] = [0.5, 0.9, 0.5]
    config = DecoderConfig(rule="paper", min_distance=2, strategy=False)
    theirs = decoding.paper_intervals(scores, 2, strategy=False)
    assert theirs[0][0] < 0                  # unclipped in the released code
    found = decoding.decode(scores, config)
    assert [(s.onset, s.offset) for s in found] == [(max(0, a), min(29, b)) for a, b, _ in theirs]
    assert [s.score for s in found] == [scores[p] for _, _, p in theirs]
    with_strategy = decoding.decode(scores, DecoderConfig(rule="paper", min_distance=2))
    assert [(s.onset, s.offset, s.peak) for s in with_strategy] == decoding.paper_intervals(scores, 2)
    with pytest.raises(ValueError, match="decoder rule 'theirs'"):
        DecoderConfig(rule="theirs")


def test_choosing_the_paper_rule_takes_k_p_from_the_training_videos_alone():
    import ml_collections

    from meint_jax.data.long.pipeline import StoredVideo
    from meint_jax.data.long.videos import Interval, LongVideo
    from meint_jax.tasks.spotting import evaluate

    def video(spans):
        intervals = tuple(Interval(a, a, b, "micro") for a, b in spans) + (Interval(1, 1, 41, "macro"),)
        return StoredVideo(LongVideo("v", "s", np.arange(1, 100), 30.0, intervals), np.zeros((99, 36), np.float32))

    config = ml_collections.ConfigDict({"data": {"frame_step": 1}, "eval": {"decoder": "paper_peak",
                                                                            "nms_iou": 0.5, "p_grid": (0.5,)}})
    training = [video([(1, 11), (20, 26)]), video([(40, 50)])]          # lengths 10, 6, 10 -> 10 -> k_p 5
    chosen = evaluate.choose_decoders(config, training, [(video([(1, 90)]), np.zeros((99, 2)))])
    assert chosen["micro"] == DecoderConfig(rule="paper", min_distance=5, strategy=False)
    assert chosen["macro"].min_distance == 20                           # 40 rows -> 20
