import numpy as np

from meint_jax.tasks.intensity import losses


def reference_losses(pred, target, margin):
    """The loss terms of docs/design.md written as explicit loops."""
    b, t = pred.shape
    mse = sum((pred[i, j] - target[i, j]) ** 2 for i in range(b) for j in range(t)) / (b * t)
    smooth = sum((pred[i, j + 1] - pred[i, j]) ** 2 for i in range(b) for j in range(t - 1)) / (b * (t - 1))
    hinges = []
    for i in range(b):
        a = int(np.argmax(target[i]))
        hinges += [max(0.0, margin - (pred[i, a] - pred[i, j])) for j in range(t) if j != a]
    return mse, smooth, sum(hinges) / len(hinges)


def test_loss_terms_match_explicit_loops():
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(4, 9)).astype(np.float32)
    target = rng.uniform(size=(4, 9)).astype(np.float32)
    mse, smooth, rank = reference_losses(pred, target, margin=0.3)
    loss, terms = losses.total_loss(pred, target, smooth_weight=0.1, rank_weight=0.2, rank_margin=0.3)
    np.testing.assert_allclose(terms["mse"], mse, rtol=1e-5)
    np.testing.assert_allclose(terms["smooth"], smooth, rtol=1e-5)
    np.testing.assert_allclose(terms["rank"], rank, rtol=1e-5)
    np.testing.assert_allclose(loss, mse + 0.1 * smooth + 0.2 * rank, rtol=1e-5)


def test_ranking_is_zero_once_the_apex_leads_by_the_margin():
    target = np.array([[0.0, 0.5, 1.0, 0.5, 0.0]], np.float32)
    pred = np.array([[0.0, 0.3, 0.9, 0.84, 0.1]], np.float32)
    assert float(losses.apex_ranking(pred, target, margin=0.05)) == 0.0
    assert float(losses.apex_ranking(pred, target, margin=0.1)) > 0.0
