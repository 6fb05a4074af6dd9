"""The spotting baselines: a chance spotter and an unlearned motion detector (meint_jax.tasks.spotting.baselines)."""

import numpy as np

from meint_jax.tasks.spotting import baselines, decoding


def test_the_chance_spotter_places_the_expected_number_of_intervals_of_the_median_length():
    rng = np.random.default_rng(0)
    draws = [baselines.chance_intervals(3000, 0.002, 9, rng) for _ in range(400)]
    assert abs(np.mean([len(d) for d in draws]) - 6.0) < 0.3             # 0.002 x 3000
    for onset, offset in (i for d in draws for i in d):
        assert offset - onset + 1 == 9 and 0 <= onset and offset < 3000
    assert baselines.chance_intervals(5, 1.0, 9, rng)[0] == (0, 4)         # clipped to a short video


def test_the_rate_is_expressions_over_frames_pooled_over_videos():
    assert baselines.expression_rate([(2, 1000), (0, 500), (1, 1500)]) == 3 / 3000
    assert baselines.expression_rate([]) == 0.0


def test_the_motion_detector_scores_how_far_regions_moved_in_the_last_frames():
    trajectories = np.zeros((60, 36))
    trajectories[30:, 0] = 3.0                    # region 0 moves 3 px right at frame 30 and stays
    trajectories[30:, 3] = 4.0                    # region 1 moves 4 px down
    scores = baselines.motion_scores(trajectories, lag=5)
    expected = np.zeros(60)
    expected[30:35] = (3.0 + 4.0) / 18            # moved within the last 5 frames, averaged over 18 regions
    np.testing.assert_allclose(scores, expected)
    found = decoding.decode(scores, decoding.DecoderConfig(smooth=1, p=0.5, min_distance=3))
    assert [(s.onset, s.offset) for s in found] == [(30, 34)]
