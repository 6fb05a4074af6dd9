import numpy as np
import pytest

from meint_jax.data import pseudo_labels


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


@pytest.mark.parametrize("shape", ["triangular", "gaussian", "raised_cosine", "trapezoid"])
def test_every_shape_is_zero_outside_one_at_apex_and_unimodal(shape):
    onset, apex, offset = 40, 52, 90
    positions = np.linspace(20, 110, 901)[None]
    y = pseudo_labels.pseudo_intensity(positions, [onset], [apex], [offset], shape)[0]
    x = positions[0]
    assert np.all(y[(x <= onset) | (x >= offset)] == 0.0)
    at_apex = pseudo_labels.pseudo_intensity(np.array([[apex]]), [onset], [apex], [offset], shape)
    assert at_apex[0, 0] == pytest.approx(1)
    assert 0.0 <= y.min() and y.max() <= 1.0
    rise, decay = y[(x >= onset) & (x <= apex)], y[(x >= apex) & (x <= offset)]
    assert np.all(np.diff(rise) >= -1e-7) and np.all(np.diff(decay) <= 1e-7)


def test_shapes_against_their_textbook_forms():
    from scipy import signal, stats

    onset, apex, offset = 0, 10, 40
    rise = np.arange(0, 11, dtype=float)
    get = lambda shape, p: pseudo_labels.pseudo_intensity(p[None], [onset], [apex], [offset], shape)[0]
    # raised cosine rise: the first half of a Hann window of 21 points (the apex its centre).
    np.testing.assert_allclose(get("raised_cosine", rise), signal.windows.hann(21)[:11], atol=1e-6)
    # gaussian: normal densities relative to the apex, offset to 0 at three sigma (each side its own sigma).
    decay = np.arange(10, 41, dtype=float)
    sigma = 30 / 3
    want = (stats.norm.pdf(decay, 10, sigma) / stats.norm.pdf(10, 10, sigma) - np.exp(-4.5)) / (1 - np.exp(-4.5))
    np.testing.assert_allclose(get("gaussian", decay), want, atol=1e-6)
    # trapezoid: flat at 1 where the triangle exceeds 0.75.
    np.testing.assert_allclose(get("trapezoid", rise), np.minimum(rise / 10 / 0.75, 1.0), atol=1e-6)
