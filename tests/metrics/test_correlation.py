import itertools

import numpy as np
import pytest

from meint_jax.metrics import correlation as metrics


def ranks(x):
    order = np.argsort(x)
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    return r


def reference_spearman(x, y):
    """Pearson correlation of ranks (inputs without ties)."""
    return np.corrcoef(ranks(x), ranks(y))[0, 1]


def reference_kendall_b(x, y):
    """Tau-b from pair counts: (C - D) / sqrt((n0 - n1)(n0 - n2))."""
    concordant = discordant = ties_x = ties_y = 0
    pairs = list(itertools.combinations(range(len(x)), 2))
    for i, j in pairs:
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        ties_x += dx == 0
        ties_y += dy == 0
        concordant += dx * dy > 0
        discordant += dx * dy < 0
    n0 = len(pairs)
    return (concordant - discordant) / np.sqrt((n0 - ties_x) * (n0 - ties_y))


def test_correlations_match_independent_formulas():
    rng = np.random.default_rng(2)
    pred = rng.normal(size=(6, 16))
    ref = np.round(rng.uniform(size=(6, 16)) * 4) / 4  # ties in the reference, as triangles have
    got = metrics.per_clip_correlations(pred, ref)
    for i in range(6):
        np.testing.assert_allclose(got["kendall"][i], reference_kendall_b(pred[i], ref[i]), atol=1e-10)
    ref_no_ties = rng.normal(size=(6, 16))
    got = metrics.per_clip_correlations(pred, ref_no_ties)
    for i in range(6):
        np.testing.assert_allclose(got["spearman"][i], reference_spearman(pred[i], ref_no_ties[i]), atol=1e-10)


def test_constant_prediction_counts_as_zero_and_is_reported():
    target = np.array([[0.0, 0.5, 1.0, 0.5, 0.0], [0.0, 0.5, 1.0, 0.5, 0.0]])
    pred = np.array([[0.3, 0.3, 0.3, 0.3, 0.3], [0.0, 0.4, 0.9, 0.6, 0.1]])
    positions = np.tile(np.arange(10, 15), (2, 1))
    result = metrics.summarize(pred, target, positions, apex=np.array([12, 12]))
    assert result["constant_predictions"] == 1
    # Clip 2 is perfectly ordered except the tie pair: spearman 1.0 for it, 0 for the constant clip.
    second = metrics.per_clip_correlations(pred[1:], target[1:])["spearman"][0]
    np.testing.assert_allclose(result["spearman"], 0.5 * second)
    # argmax of the constant clip is its first frame (10), 2 frames from the apex; clip 2 peaks on it.
    np.testing.assert_allclose(result["apex_error_frames"], 1.0)


def test_windows_of_one_clip_are_averaged_before_clips():
    target = np.tile([0.0, 1.0, 0.0, 0.0], (3, 1))
    pred = np.array([[0.0, 1.0, 0.2, 0.1], [1.0, 0.0, 0.5, 0.6], [0.0, 1.0, 0.2, 0.1]])
    positions = np.tile(np.arange(4), (3, 1))
    per_window = metrics.per_clip_correlations(pred, target)["spearman"]
    result = metrics.summarize(pred, target, positions, np.ones(3), clip_index=np.array([0, 0, 1]))
    np.testing.assert_allclose(result["spearman"], ((per_window[0] + per_window[1]) / 2 + per_window[2]) / 2)
    assert result["num_clips"] == 2 and result["num_windows"] == 3


def test_paired_comparison_counts_clips_and_gives_the_exact_wilcoxon_p():
    baseline = np.array([0.5, 0.6, 0.7, 0.4, 0.3])
    better = baseline + np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    got = metrics.compare_paired(better, baseline)
    # All 5 differences positive: the signed-rank statistic is at its extreme; exactly
    # 2 of the 2^5 equally likely sign patterns are as extreme, so two-sided p = 2/32.
    assert got == {"clips_better": 5, "clips_worse": 0, "wilcoxon_p": pytest.approx(2 / 32)}
    mixed = baseline + np.array([-0.01, 0.02, -0.03, 0.04, 0.05])
    got = metrics.compare_paired(mixed, baseline)
    # Negative ranks 1 and 3: W = 4. p = 2 P(W <= 4) over the 32 equally likely sign patterns.
    patterns = [sum(r for r, s in zip(range(1, 6), signs) if s) for signs in itertools.product([0, 1], repeat=5)]
    expected = 2 * np.mean(np.array(patterns) <= 4)
    assert got["clips_better"] == 3 and got["clips_worse"] == 2
    assert got["wilcoxon_p"] == pytest.approx(expected)


def test_paired_comparison_of_identical_scores_and_bad_shapes():
    scores = [0.2, 0.4, 0.9]
    assert metrics.compare_paired(scores, scores) == {"clips_better": 0, "clips_worse": 0, "wilcoxon_p": 1.0}
    with pytest.raises(ValueError, match="one score per clip"):
        metrics.compare_paired([0.1, 0.2], [0.1, 0.2, 0.3])
