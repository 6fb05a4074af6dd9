import numpy as np
import pytest

from meint_jax import pseudo_labels


def reference_triangle(positions, onset, apex, offset):
    """Piecewise-linear interpolation through (onset, 0), (apex, 1), (offset, 0)."""
    return np.interp(positions, [onset, apex, offset], [0.0, 1.0, 0.0], left=0.0, right=0.0)


def test_triangular_matches_interpolation_through_the_annotations():
    rng = np.random.default_rng(0)
    for _ in range(50):
        onset = int(rng.integers(0, 100))
        offset = onset + int(rng.integers(3, 80))
        apex = int(rng.integers(onset + 1, offset))
        positions = np.sort(rng.uniform(onset - 30, offset + 30, 16))
        got = pseudo_labels.pseudo_intensity(positions[None], [onset], [apex], [offset])[0]
        np.testing.assert_allclose(got, reference_triangle(positions, onset, apex, offset), atol=1e-6)


def test_triangular_is_zero_at_onset_and_offset_and_one_at_apex():
    y = pseudo_labels.pseudo_intensity(np.array([[46.0, 59.0, 86.0]]), [46], [59], [86])
    np.testing.assert_allclose(y, [[0.0, 1.0, 0.0]], atol=1e-6)


def test_apex_on_onset_is_clipped_not_divided_by_zero():
    y = pseudo_labels.pseudo_intensity(np.array([[10.0, 10.5, 20.0]]), [10], [10], [20])
    assert np.all(np.isfinite(y)) and y.max() <= 1.0 and y[0, 0] == 0.0


def test_unknown_shape_is_refused():
    with pytest.raises(ValueError, match="unknown pseudo-label shape"):
        pseudo_labels.pseudo_intensity(np.zeros((1, 3)), [0], [1], [2], shape="square")
