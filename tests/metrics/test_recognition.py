"""Recognition and spot-then-recognise metrics on hand-worked cases (meint_jax.metrics.recognition)."""

import random

import numpy as np
import pytest

from meint_jax.metrics import megc as spotting
from meint_jax.metrics.recognition import (
    analysis_f1,
    class_counts,
    confusion_matrix,
    label_pairs,
    pool_spot_then_recognise,
    recognition_scores,
    spot_then_recognise,
    strs,
    uf1_uar,
)

CLASSES = ["negative", "positive", "surprise"]
NEG, POS, SUR = CLASSES

# Rows true, columns predicted (negative, positive, surprise):
#   negative [3, 1, 0]   true 4, correct 3
#   positive [1, 1, 0]   true 2, correct 1
#   surprise [0, 1, 1]   true 2, correct 1
# predicted: negative 3+1 = 4, positive 1+1+1 = 3, surprise 1.
TRUE = [NEG, NEG, NEG, NEG, POS, POS, SUR, SUR]
PREDICTED = [NEG, NEG, NEG, POS, POS, NEG, POS, SUR]
# F1_c = 2 correct / (true + predicted): 6/8, 2/5, 2/3 -> UF1 = (45 + 24 + 40) / 60 / 3 = 109/180
UF1 = (6 / 8 + 2 / 5 + 2 / 3) / 3
# recalls 3/4, 1/2, 1/2 -> UAR = 7/12; precisions 3/4, 1/3, 1/1 -> their mean is 25/36, not UAR
UAR = (3 / 4 + 1 / 2 + 1 / 2) / 3
MEAN_PRECISION = (3 / 4 + 1 / 3 + 1) / 3
# F1_analysis = 2 (25/36)(21/36) / (46/36) = 1050 / 1656 = 175/276
F1_ANALYSIS = 2 * MEAN_PRECISION * UAR / (MEAN_PRECISION + UAR)


def test_uf1_and_uar_of_a_hand_worked_three_class_case():
    assert confusion_matrix(TRUE, PREDICTED, CLASSES).tolist() == [[3, 1, 0], [1, 1, 0], [0, 1, 1]]
    uf1, uar = uf1_uar(TRUE, PREDICTED, CLASSES)
    assert uf1 == pytest.approx(109 / 180) and uf1 == pytest.approx(UF1)
    assert uar == pytest.approx(7 / 12) and uar == pytest.approx(UAR)


def test_uf1_and_uar_agree_with_sklearn_macro_averages():
    metrics = pytest.importorskip("sklearn.metrics")
    uf1, uar = uf1_uar(TRUE, PREDICTED, CLASSES)
    assert uf1 == pytest.approx(metrics.f1_score(TRUE, PREDICTED, labels=CLASSES, average="macro"))
    assert uar == pytest.approx(metrics.recall_score(TRUE, PREDICTED, labels=CLASSES, average="macro"))
    assert np.array_equal(confusion_matrix(TRUE, PREDICTED, CLASSES),
                          metrics.confusion_matrix(TRUE, PREDICTED, labels=CLASSES))


def test_uar_is_the_mean_of_recalls_not_of_precisions():
    _, uar = uf1_uar(TRUE, PREDICTED, CLASSES)
    assert uar == pytest.approx(21 / 36)
    assert uar != pytest.approx(MEAN_PRECISION)      # 25/36: the public scorer's "UAR"


def test_analysis_f1_is_the_harmonic_mean_of_mean_precision_and_mean_recall_not_the_mean_f1():
    f1 = analysis_f1(TRUE, PREDICTED, CLASSES)
    assert f1 == pytest.approx(175 / 276) and f1 == pytest.approx(F1_ANALYSIS)
    assert f1 != pytest.approx(UF1)                   # 175/276 = 0.634 against 109/180 = 0.606


def test_one_class_every_pair_right_scores_one_not_nan():
    # The public scorer's binary confusion matrix of this case is 1x1: it scores the class 0 and F1 0/0.
    assert analysis_f1([SUR, SUR, SUR], [SUR, SUR, SUR], CLASSES) == 1.0
    assert uf1_uar([SUR, SUR, SUR], [SUR, SUR, SUR], CLASSES) == (1.0, 1.0)


@pytest.mark.filterwarnings("error")
def test_no_pairs_score_zero_not_nan_nor_an_error():
    assert uf1_uar([], [], CLASSES) == (0.0, 0.0)
    assert analysis_f1([], [], CLASSES) == 0.0
    scores = recognition_scores([], [], CLASSES)
    assert (scores["uf1"], scores["uar"], scores["f1_analysis"], scores["accuracy"], scores["pairs"]) == (0, 0, 0, 0, 0)
    # Every pair wrong: both means 0, F1 0 (the public scorer divides 0 by 0 here too).
    assert analysis_f1([NEG, POS], [POS, NEG], CLASSES) == 0.0


def test_a_pair_whose_truth_is_others_is_left_out_when_the_classes_omit_it():
    with_others = recognition_scores(TRUE + ["others", "others"], PREDICTED + [NEG, "others"], CLASSES)
    assert with_others == recognition_scores(TRUE, PREDICTED, CLASSES)
    assert with_others["pairs"] == 8


def test_a_prediction_outside_the_classes_is_a_miss_of_its_true_class():
    # One more negative, predicted 'others': negative recall 3/5 (was 3/4), its row still sums to 4.
    counts = class_counts(TRUE + [NEG], PREDICTED + ["others"], CLASSES)
    assert counts[NEG] == {"true": 5, "predicted": 4, "correct": 3}
    assert confusion_matrix(TRUE + [NEG], PREDICTED + ["others"], CLASSES)[0].sum() == 4
    _, uar = uf1_uar(TRUE + [NEG], PREDICTED + ["others"], CLASSES)
    assert uar == pytest.approx((3 / 5 + 1 / 2 + 1 / 2) / 3)


def test_a_class_predicted_but_never_true_lowers_uf1_but_not_uar():
    # Two negatives, one right. The miss as 'positive' (never true): F1 negative 2/3, positive 0 -> UF1 1/3.
    # The miss as 'others' (no class): only negative is scored -> UF1 2/3. UAR is the negative recall 1/2 both.
    assert uf1_uar([NEG, NEG], [NEG, POS], [NEG, POS]) == pytest.approx((1 / 3, 1 / 2))
    assert uf1_uar([NEG, NEG], [NEG, "others"], [NEG, POS]) == pytest.approx((2 / 3, 1 / 2))


def test_strs_is_the_product():
    assert strs(0.5, 0.4) == pytest.approx(0.2)


def _greedy_pairs_before_refactor(truths, predictions, threshold=0.5):
    """The loop match_intervals had before matched_pairs, kept here as the oracle."""
    matched, pairs = [False] * len(truths), []
    for j, prediction in enumerate(predictions):
        best, best_iou = None, threshold
        for k, truth in enumerate(truths):
            if not matched[k]:
                overlap = spotting.iou(truth, prediction)
                if overlap >= best_iou:
                    best, best_iou = k, overlap
        if best is not None:
            matched[best] = True
            pairs.append((best, j))
    return pairs


def test_matched_pairs_agree_with_match_intervals_and_the_original_greedy_rule_on_random_videos():
    rng = random.Random(20240620)

    def intervals():
        # Short intervals on a short axis: many overlaps and many equal IoUs.
        return [(onset, onset + rng.randrange(0, 6)) for onset in (rng.randrange(0, 20)
                                                                   for _ in range(rng.randrange(0, 6)))]

    for _ in range(200):
        truths, predictions = intervals(), intervals()
        pairs = spotting.matched_pairs(truths, predictions)
        tp, fp, fn = spotting.match_intervals(truths, predictions)
        assert (len(pairs), len(predictions) - len(pairs), len(truths) - len(pairs)) == (tp, fp, fn)
        assert pairs == _greedy_pairs_before_refactor(truths, predictions)
        assert len({k for k, _ in pairs}) == len(pairs) == len({j for _, j in pairs})
        assert all(spotting.iou(truths[k], predictions[j]) >= 0.5 for k, j in pairs)


def test_two_predictions_over_one_truth_are_one_pair():
    assert spotting.matched_pairs([(100, 119)], [(100, 119), (102, 121)]) == [(0, 0)]
    # Of two truths the prediction overlaps equally, the later one is taken.
    assert spotting.matched_pairs([(0, 9), (0, 9)], [(0, 9)]) == [(1, 0)]


def test_label_pairs_read_the_labels_of_the_matched_intervals():
    # The first prediction takes truth 1 exactly; the second overlaps truth 0 by 5/10.
    assert label_pairs([(0, 9), (20, 29)], [(20, 29), (0, 4), (50, 60)], [NEG, POS], [SUR, NEG, POS]) \
        == [(POS, SUR), (NEG, NEG)]


# Video 1: micro truths negative, positive; predictions negative over the first, negative over the second, a
#   surprise over nothing -> 2 TP, 1 FP, pairs (neg, neg), (pos, neg); macro: a surprise spotted and right.
# Video 2: a micro truth, nothing predicted -> 1 FN. Video 3: no truth, a micro prediction -> 1 FP.
VIDEO_1 = ({"micro": [(10, 20, NEG), (50, 60, POS)], "macro": [(0, 100, SUR)]},
           {"micro": [(10, 20, NEG), (50, 60, NEG), (100, 110, SUR)], "macro": [(0, 99, SUR)]})
VIDEO_2 = ({"micro": [(5, 9, SUR)]}, {})
VIDEO_3 = ({}, {"micro": [(0, 30, POS)]})


def test_spot_then_recognise_of_a_hand_worked_case():
    result = spot_then_recognise([VIDEO_1, VIDEO_2, VIDEO_3], CLASSES)
    assert result["counts"] == {"micro": [2, 2, 1], "macro": [1, 0, 0]}
    assert result["label_pairs"] == {"micro": [[NEG, NEG], [POS, NEG]], "macro": [[SUR, SUR]]}
    micro = result["micro"]
    # micro F1_spot = 2*2 / (2*2 + 2 + 1) = 4/7. Pairs: negative true 1, predicted 2, correct 1; positive true
    # 1, predicted 0. P = (1/2 + 0) / 2 = 1/4, R = (1 + 0) / 2 = 1/2, F1_analysis = (1/4) / (3/4) = 1/3.
    assert micro["f1_spot"] == pytest.approx(4 / 7)
    assert micro["f1_analysis"] == pytest.approx(1 / 3)
    assert micro["strs"] == pytest.approx(4 / 21) == micro["f1_spot"] * micro["f1_analysis"]
    assert micro["pairs"] == 2 and micro["confusion"] == [[1, 0, 0], [1, 0, 0], [0, 0, 0]]
    assert (result["macro"]["f1_spot"], result["macro"]["f1_analysis"], result["macro"]["strs"]) == (1.0, 1.0, 1.0)
    # overall: TP 3, FP 2, FN 1 -> F1_spot 6/9 = 2/3. Pairs add (sur, sur): P = (1/2 + 0 + 1) / 3 = 1/2,
    # R = (1 + 0 + 1) / 3 = 2/3, F1_analysis = (2/3) / (7/6) = 4/7; STRS = 2/3 * 4/7 = 8/21.
    overall = result["overall"]
    assert overall["f1_spot"] == pytest.approx(2 / 3)
    assert overall["f1_analysis"] == pytest.approx(4 / 7)
    assert overall["strs"] == pytest.approx(8 / 21)
    assert overall["pairs"] == 3


def test_spotting_f1_is_that_of_the_spotting_metric_on_the_bare_intervals():
    bare = [({k: [(a, b) for a, b, _ in v] for k, v in truths.items()},
             {k: [(a, b) for a, b, _ in v] for k, v in predictions.items()})
            for truths, predictions in [VIDEO_1, VIDEO_2, VIDEO_3]]
    expected = spotting.score_videos(bare)
    result = spot_then_recognise([VIDEO_1, VIDEO_2, VIDEO_3], CLASSES)
    assert all(result[name]["f1_spot"] == expected[name]["f1"] for name in ("micro", "macro", "overall"))


def test_a_video_with_predictions_and_no_truth_adds_fps_and_one_with_truths_and_no_predictions_adds_fns():
    # The public scorer drops both: it visits only videos with ground truth, of subjects with predictions.
    alone = spot_then_recognise([VIDEO_1], CLASSES)
    assert alone["counts"]["micro"] == [2, 1, 0] and alone["micro"]["f1_spot"] == pytest.approx(4 / 5)
    with_spurious = spot_then_recognise([VIDEO_1, VIDEO_3], CLASSES)
    assert with_spurious["counts"]["micro"] == [2, 2, 0] and with_spurious["micro"]["f1_spot"] == pytest.approx(4 / 6)
    with_missed = spot_then_recognise([VIDEO_1, VIDEO_2], CLASSES)
    assert with_missed["counts"]["micro"] == [2, 1, 1] and with_missed["micro"]["f1_spot"] == pytest.approx(4 / 6)
    assert alone["micro"]["f1_analysis"] == with_spurious["micro"]["f1_analysis"] == with_missed["micro"]["f1_analysis"]


@pytest.mark.filterwarnings("error")
def test_a_fold_where_nothing_is_spotted_scores_zero_strs_without_error():
    result = spot_then_recognise([VIDEO_2, ({"micro": [(0, 9, NEG)]}, {"micro": [(50, 59, NEG)]})], CLASSES)
    for name in ("micro", "macro", "overall"):
        assert (result[name]["f1_spot"], result[name]["f1_analysis"], result[name]["strs"]) == (0.0, 0.0, 0.0)
        assert result[name]["pairs"] == 0


def test_one_kind_given_as_plain_lists_scores_as_the_dict_form():
    truths, predictions = VIDEO_1[0]["micro"], VIDEO_1[1]["micro"]
    assert spot_then_recognise([(truths, predictions)], CLASSES, kind="micro") \
        == spot_then_recognise([({"micro": truths}, {"micro": predictions})], CLASSES)
    with pytest.raises(ValueError, match="unknown kinds"):
        spot_then_recognise([({"mikro": truths}, {})], CLASSES)


def test_pooling_two_folds_equals_scoring_their_union():
    fold_a, fold_b = [VIDEO_1, VIDEO_2], [VIDEO_3, ({"macro": [(0, 50, NEG)]}, {"macro": [(0, 50, POS)]})]
    pooled = pool_spot_then_recognise([spot_then_recognise(fold_a, CLASSES), spot_then_recognise(fold_b, CLASSES)],
                                      CLASSES)
    assert pooled == spot_then_recognise(fold_a + fold_b, CLASSES)
    assert pooled["counts"]["macro"] == [2, 0, 0] and pooled["macro"]["pairs"] == 2
