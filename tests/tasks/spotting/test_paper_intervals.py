"""Paper 002's interval selection as released (meint_jax.tasks.spotting.decoding.paper_intervals).

Every curve is worked by hand in its comments. k_p is 2 or 4 (3 once, where no two sums are close) so the
smoothing box (1 / 2 k_p) and every smoothed value (s) are exact binary fractions and plateaus are true ties.
With curves at least 2 k_p rows long, s at row t is the sum of raw rows t - k_p .. t + k_p - 1 over 2 k_p, zeros
past the ends (k_p 2: rows t-2..t+1 over 4; k_p 4: rows t-4..t+3 over 8). "mean" is the raw mean unless it says s.
A last test checks random curves against `released_reference`, a line-by-line port of their code.
"""

import numpy as np
import pytest
from scipy.signal import find_peaks

from meint_jax.tasks.spotting.decoding import paper_intervals


def curve(length, values):
    scores = np.zeros(length)
    for row, value in values.items():
        scores[row] = value
    return scores


def test_the_extensible_rule_starts_before_the_first_rise_and_ends_after_the_last_fall_above_mean_over_1_5():
    # k_p 3 (box 1/6: these sums are far apart, no ties). Raw sum 16 over 16 rows: mean 1, mean / 1.5 = 0.667.
    scores = curve(16, {3: 0.25, 4: 0.5, 5: 3, 6: 9.75, 7: 2, 8: 0.5})
    # s x 6 = rows t-3..t+2: t=4: 13.5, t=5: 15.5, t=6: 16, t=7: 15.75, t=8: 15.25: one peak, row 6 (s 2.67,
    # threshold s mean 1 + 0.55 x 1.67 = 1.92). peak -+ k_p = 3..9.
    # Rise search, rows 4..5: row 4 rises (0.5 > 0.25) but not above 0.667; row 5 rises to 3 -> start 4.
    # Fall search, rows 8 down to 7: row 8 falls (0.5 > 0) but not above 0.667; row 7 falls 2 > 0.5 -> end 8.
    # Extension: rows 3 and 2 (0.25, 0) are both below the mean -> start stays 4; rows 9, 10 (0, 0) -> end 8.
    assert paper_intervals(scores, 3) == [(4, 8, 6)]
    assert paper_intervals(scores, 3, strategy=False) == [(3, 9, 6)]


def test_the_extension_runs_over_single_dips_to_two_rows_in_a_row_below_the_mean():
    # k_p 2. Raw sum 30 over 40 rows: mean 0.75. A shoulder of 1.5 (one dip to 0.5 at row 15) around a bump.
    scores = curve(40, {14: 1.5, 15: 0.5, 16: 1.5, 17: 1.5, 18: 2, 19: 4, 20: 8, 21: 4, 22: 1,
                        23: 1.5, 24: 1.5, 25: 1.5, 26: 1.5})
    # s x 4 = rows t-2..t+1: t=19: 15.5, t=20: 18, t=21: 17 -> peak 20 (s 4.5; threshold 0.75 + 0.55 x 3.75
    # = 2.81; the shoulder's small s maximum at row 25, 1.5, is under it). Searches within 18..22 keep 18..22.
    # Leftwards from row 17: 17, 16 above; 15 below but 14 above (a single dip goes on); 13 and 12 both 0
    # -> start 14. Rightwards from row 23: 23..26 above; 27 and 28 both 0 -> end 26. Peak: raw max, row 20.
    assert paper_intervals(scores, 2) == [(14, 26, 20)]


def test_a_curve_that_never_falls_back_below_the_mean_is_not_extended_at_all():
    # k_p 2: the extension looks 5 k_p = 10 rows out, rows 10..30. Those are all 1, with a bump on 18..21;
    # raw sum 35 over 40: mean 0.875, so no row from 10 to 30 is below it.
    scores = curve(40, {row: 1 for row in range(10, 31)} | {18: 2, 19: 4, 20: 8, 21: 4})
    # s x 4: t=19: 15, t=20: 18, t=21: 17 -> peak 20 (threshold 0.875 + 0.55 x 3.625 = 2.87). Within 18..22,
    # row 19 rises and row 21 falls above 0.583 -> 18..22. No two rows below the mean within 10 rows: their
    # loops end without a break and the interval stays 18..22 (it is not taken out to the 5 k_p limit).
    assert paper_intervals(scores, 2) == [(18, 22, 20)]


def test_a_spike_on_samm_stops_at_the_near_low_pair_on_the_left_and_the_far_pair_on_the_right():
    # k_p 2; s x 4 = rows t-2..t+1, so a spike of 2 at row 10 gives s 0.5 on rows 9..12 and 0 elsewhere.
    # Plateau 9..12 -> peak (9 + 12) // 2 = 10 (s mean 0.1, threshold 0.1 + 0.65 x 0.4 = 0.36).
    # Start: near rows 9, 8: row 9 is 0.5; rows 8 and 7 are both below 0.2 -> start 8 (the pair's row nearer the
    # peak). End: the near search covers row 11 only (range(peak + 1, peak + k_p)): 0.5; the far search row 13
    # only (range(peak + k_p + 1, peak + 2 k_p)): rows 13 and 14 are below 0.8 -> end 14 (the farther row).
    # Peak: the first maximum of s on 8..14 is row 9, not the detected 10.
    assert paper_intervals(curve(20, {10: 2}), 2, samm=True) == [(8, 14, 9)]


def test_samm_finds_a_near_low_pair_after_the_peak():
    # k_p 2: raw 4 at row 8, 0.4 at row 11. s x 4: t=7..9: 4 (s 1), t=10: 4.4 (s 1.1), t=11..13: 0.4 (s 0.1).
    # Peak 10 (threshold s mean 0.22 + 0.65 x 0.88 = 0.79; the plateau 7..9 climbs into 10 and is no peak).
    # Start: near rows 9, 8 are 1; far rows 7 (1) and 6 (0, with row 5 0 < 0.8) -> start 6.
    # End: near row 11: rows 11 and 12 are 0.1 < 0.2 -> end 12.
    assert paper_intervals(curve(20, {8: 4, 11: 0.4}), 2, samm=True) == [(6, 12, 10)]


def test_samm_never_looks_at_the_row_k_p_after_the_peak():
    # k_p 2: raw 2 at rows 8 and 9, 0.4 at row 11. s: t=7: 0.5, t=8, 9: 1, t=10: 1.1, t=11: 0.6, t=12, 13: 0.1.
    # Peak 10. Start: near rows 9, 8 are 1; far row 7 (0.5) with row 6 (0) below 0.8 -> start 7.
    # End: rows 12 and 13 are both below 0.2, but the near search looks at row 11 only (0.6) and the far one
    # starts at row 13: rows 13, 14 below 0.8 -> end 14 (a search including row 12 would give 13).
    assert paper_intervals(curve(20, {8: 2, 9: 2, 11: 0.4}), 2, samm=True) == [(7, 14, 10)]


def test_samm_falls_back_to_pairs_below_0_8_from_k_p_to_2_k_p_out():
    # k_p 4; s x 8 = rows t-4..t+3. A pedestal of 0.5 on rows 10..30 (s 0.5 on rows 14..27) and row 20 at 4.5
    # (+0.5 on s rows 17..24): s 1 on 17..24 -> peak (17 + 24) // 2 = 20 (threshold s mean 0.3625
    # + 0.65 x 0.6375 = 0.78). Nothing is below 0.2 near the peak (rows 16..19, 21..23).
    # Start: far rows 15 down to 12: rows 15 and 14 are 0.5 < 0.8 -> start 15.
    # End: far rows 25..27: rows 25 and 26 are 0.5 -> end 26. Peak: first s maximum on 15..26, row 17.
    scores = curve(40, {row: 0.5 for row in range(10, 31)} | {20: 4.5})
    assert paper_intervals(scores, 4, samm=True) == [(15, 26, 17)]


def test_on_samm_a_curve_above_0_8_takes_peak_plus_minus_2_k_p_clipped_and_overlaps_are_all_kept():
    # k_p 2: raw 1 everywhere, 3 at rows 2 and 9. s x 4 = [2, 5, 6, 6, 6, 4, 4, 4, 6, 6, 6, 5]: plateaus
    # 2..4 -> peak 3 and 8..10 -> peak 9 (s mean 1.25, threshold 1.25 + 0.65 x 0.25 = 1.41).
    # Peak 3: rows 2, 1 are 1.5, 1.25; row 0 never ends a pair (i > 0) -> start max(0, 3 - 4) = 0; rows 4, 6
    # are 1.5, 1 -> end 3 + 4 = 7; peak: first s maximum on 0..7, row 2.
    # Peak 9: rows 8..5 are all >= 1 -> start 5; row 10 is 1.5, the far search is empty -> end min(11, 13) = 11.
    scores = np.ones(12)
    scores[[2, 9]] = 3
    assert paper_intervals(scores, 2, samm=True) == [(0, 7, 2), (5, 11, 8)]


def test_nms_drops_an_interval_that_overlaps_a_kept_one_by_iou_although_its_peak_is_far():
    # k_p 2. Raw 1 on rows 0..13, 5 at row 5, 3 at row 10, 0 after: sum 20 over 30, mean 0.667.
    scores = curve(30, {row: 1 for row in range(14)} | {5: 5, 10: 3})
    # s x 4: rows 4..7 are 8, row 8 is 4, rows 9..12 are 6 -> peaks 5 and 10 (threshold s mean 0.658
    # + 0.55 x 1.342 = 1.40).
    # Peak 5: 3..7; leftwards rows 2, 1 are 1 and row 0 never ends a pair -> start 3; rightwards rows 8..13
    # are >= 1, rows 14, 15 are 0 -> end 13. (3, 13), raw peak 5.
    # Peak 10: 8..12; leftwards nothing before row 0 -> start 8; rightwards rows 14, 15 -> end 13. (8, 13, 10).
    # Their IoU: (13 - 8) / (13 - 3) = 0.5 >= 0.2 -> dropped, though the peaks are 5 > k_p apart.
    assert paper_intervals(scores, 2) == [(3, 13, 5)]


def test_nms_drops_an_interval_whose_peak_is_k_p_from_a_kept_one_and_keeps_the_earlier_start_not_the_best():
    # k_p 4 (peaks must be more than 4 apart). A: 2 on rows 8..14, 3 at row 15. Three zero rows. B: 3 at
    # row 19, 2.5 on rows 20..26. Raw sum 37.5 over 40: mean 0.9375, mean / 1.5 = 0.625.
    scores = curve(40, {row: 2 for row in range(8, 15)} | {15: 3, 19: 3} | {row: 2.5 for row in range(20, 27)})
    # s x 8 = rows t-4..t+3: t=11: 14, t=12: 17, t=13: 15; t=22: 18, t=23: 20.5, t=24: 17.5 -> peaks 12 and
    # 23 (threshold 0.9375 + 0.55 x (2.5625 - 0.9375) = 1.83; the small maximum at row 19, 13.5 / 8 = 1.69,
    # is under it). B's peak is the higher one.
    # A, within 8..16: no rise on 9..11 (flat 2) -> start 8; from row 15 down, row 15 falls 3 > 0 -> end 16.
    # Rows 7, 6 and 17, 18 are 0 -> no extension. (8, 16), raw peak 15.
    # B, within 19..27: rows 20..22 do not rise (3 -> 2.5 -> 2.5) -> start 19; row 26 falls -> end 27; rows
    # 18, 17 and 28, 29 are 0 -> (19, 27), raw peak 19.
    # NMS by start: A first. B: IoU 0 (they do not overlap) but |19 - 15| = 4 is not more than k_p -> dropped.
    assert paper_intervals(scores, 4) == [(8, 16, 15)]


def test_a_maximum_at_row_0_is_never_a_peak_but_the_row_after_it_is_and_its_interval_is_clipped():
    # k_p 2: raw 8, 4, 2 on rows 0..2 (sum 14 over 12, mean 1.17, mean / 1.5 = 0.78). s x 4 = rows t-2..t+1
    # = [12, 14, 14, 6, 2, 0, ...]: plateau 1..2 -> peak 1 (s mean 1, threshold 1 + 0.55 x 2.5 = 2.38).
    scores = curve(12, {0: 8, 1: 4, 2: 2})
    # Without the strategy: 1 -+ 2, not clipped.
    assert paper_intervals(scores, 2, strategy=False) == [(-1, 3, 1)]
    # Extensible: l0 = max(0, -1) = 0; no rows between 0 and the peak; from row 2 down, row 2 falls 2 > 0
    # -> end 3. Leftwards nothing; rows 4, 5 are 0 -> end 3. Peak: raw max on 0..3, row 0.
    assert paper_intervals(scores, 2) == [(0, 3, 0)]


def test_a_curve_rising_to_the_last_row_has_no_peak_and_one_just_before_it_is_clipped():
    # k_p 2: raw 2, 4, 8 on rows 9..11: s x 4 = [..., 2, 6, 14, 14] on rows 8..11: the plateau 10..11 runs into
    # the end, so find_peaks finds nothing.
    assert paper_intervals(curve(12, {9: 2, 10: 4, 11: 8}), 2) == []
    # Raw 1, 4, 8, 4, 2 on rows 7..11 (sum 19 over 12, mean 1.58): s x 4 on rows 7..11 = 5, 13, 17, 18, 14 ->
    # peak 10 (threshold s mean 1.417 + 0.55 x 3.083 = 3.11).
    scores = curve(12, {7: 1, 8: 4, 9: 8, 10: 4, 11: 2})
    assert paper_intervals(scores, 2, strategy=False) == [(8, 12, 10)]       # row 12 is past the end
    # Extensible: 8..min(11, 12); row 9 rises -> start 8; no rows between the peak and 11 -> end 11. Rows 7
    # (1) and 6 (0) are below the mean -> start 8. Peak: raw max on 8..11, row 9.
    assert paper_intervals(scores, 2) == [(8, 11, 9)]


def test_a_constant_curve_is_a_plateau_with_a_peak_and_only_an_all_zero_one_is_empty():
    # k_p 2: the zero padding makes s x 4 = [2, 3, 4, ..., 4, 3] (rows 2..18 are 4): peak (2 + 18) // 2 = 10.
    ones = np.ones(20)
    assert paper_intervals(ones, 2, strategy=False) == [(8, 12, 10)]
    # Extensible: nothing rises or falls -> 8..12; no row is below the mean 1 -> no extension; peak: first
    # maximum, row 8.
    assert paper_intervals(ones, 2) == [(8, 12, 8)]
    # SAMM: s is 1 on rows 6..9 and 11..14 -> nothing below 0.2 or 0.8 -> 10 -+ 4; first maximum row 6.
    assert paper_intervals(ones, 2, samm=True) == [(6, 14, 6)]
    # At 0.5 (s 0.5 on 2..18): the far pairs are below 0.8: rows 7, 6 -> start 7; rows 13, 14 -> end 14.
    assert paper_intervals(ones / 2, 2, samm=True) == [(7, 14, 7)]
    for samm, strategy in [(False, True), (True, True), (False, False)]:
        assert paper_intervals(np.zeros(20), 2, samm=samm, strategy=strategy) == []
        assert paper_intervals(np.zeros(0), 2, samm=samm, strategy=strategy) == []


def test_a_curve_shorter_than_the_box_keeps_their_result_and_refuses_where_theirs_reads_past_the_end():
    # k_p 2, three rows 1, 3, 2: their np.convolve returns 4 values, s x 4 = [4, 6, 6, 5] -> peak 1.
    scores = [1.0, 3.0, 2.0]
    assert paper_intervals(scores, 2, strategy=False) == [(-1, 3, 1)]
    # SAMM on the 4-row s: start max(0, -3) = 0 (row 0 never ends a pair); the near end search is row 2 (1.5),
    # the far one empty -> end min(3, 5) = 3, a row the video does not have.
    assert paper_intervals(scores, 2, samm=True) == [(0, 3, 1)]
    # Extensible: their fall search starts at row 2 and compares it with raw row 3, which does not exist.
    with pytest.raises(ValueError, match="shorter than 2 k_p"):
        paper_intervals(scores, 2)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="k_p"):
        paper_intervals(np.ones(10), 0)
    with pytest.raises(ValueError, match="1-D"):
        paper_intervals(np.ones((2, 10)), 2)


def released_reference(scores, k_p, samm, strategy):
    """REFERENCE: a literal, line-by-line port of paper 002's released `smooth`, `iou`, `nms` and the body of
    `spotting` for one video (`dataset_name` 'SAMM_test' for `samm`, `interval_strategy` 1 for `strategy`),
    returning (start, end, peak) from each of their [start, 0, end, 0, 0, 0, peak] rows."""
    def smooth(y, box_pts):
        y = [each_y for each_y in y]
        box = np.ones(box_pts) / box_pts
        y_smooth = np.convolve(y, box, mode='same')
        return y_smooth

    def iou(b1, b2):
        s1, e1 = b1[0], b1[2]
        s2, e2 = b2[0], b2[2]
        inter = max(0, min(e1, e2) - max(s1, s2))
        union = max(e1, e2) - min(s1, s2)
        return inter / union if union else 0.0

    def nms(boxes, k_p, iou_th=0.2):
        if len(boxes) == 0:
            return boxes
        boxes = sorted(boxes, key=lambda x: x[0])
        keep = [boxes[0]]
        for b in boxes[1:]:
            if all(iou(b, k) < iou_th and abs(b[-1] - k[-1]) > k_p for k in keep):
                keep.append(b)
        return keep

    dataset_name = 'SAMM_test' if samm else 'CASME_3'
    interval_strategy = 1 if strategy else 0
    pred_interval, videoIndex = [scores], 0
    preds = []
    p = 0.55
    if dataset_name == 'SAMM_test':
        p = 0.65
    score_plot = np.array(pred_interval[videoIndex])
    score_plot = smooth(score_plot, k_p * 2)
    score_plot_agg = score_plot.copy()
    thr = score_plot_agg.mean() + p * (score_plot_agg.max() - score_plot_agg.mean())
    peaks, _ = find_peaks(score_plot_agg, height=thr, distance=k_p)
    for peak in peaks:
        if interval_strategy == 1:
            n = len(score_plot_agg)
            l0 = max(0, peak - k_p)
            r0 = min(n - 1, peak + k_p)

            if dataset_name == 'SAMM_test':
                low_threshold = 0.2
                high_threshold = 0.8
                n = len(score_plot_agg)
                start = max(0, peak - 2 * k_p)
                end = min(n - 1, peak + 2 * k_p)
                found = False
                near_start = max(0, peak - k_p)
                for i in range(peak - 1, near_start - 1, -1):
                    if i > 0 and score_plot_agg[i] < low_threshold and score_plot_agg[i - 1] < low_threshold:
                        start = i
                        found = True
                        break
                if not found:
                    far_start = max(0, peak - 2 * k_p)
                    for i in range(near_start - 1, far_start - 1, -1):
                        if i > 0 and score_plot_agg[i] < high_threshold and score_plot_agg[i - 1] < high_threshold:
                            start = i
                            break
                found = False
                near_end = min(n - 1, peak + k_p)
                for i in range(peak + 1, near_end):
                    if i + 1 < n and score_plot_agg[i] < low_threshold and score_plot_agg[i + 1] < low_threshold:
                        end = i + 1
                        found = True
                        break
                if not found:
                    far_end = min(n - 1, peak + 2 * k_p)
                    for i in range(near_end + 1, far_end):
                        if i + 1 < n and score_plot_agg[i] < high_threshold and score_plot_agg[i + 1] < high_threshold:
                            end = i + 1
                            break
            else:
                score_plot_agg = np.array(pred_interval[videoIndex])
                global_mean = score_plot_agg.mean()
                threshold1 = global_mean / 1.5
                threshold2 = global_mean
                start = next((i - 1 for i in range(l0 + 1, peak)
                              if score_plot_agg[i] > score_plot_agg[i - 1] and
                              score_plot_agg[i] > threshold1), l0)
                end = next((i + 1 for i in range(r0 - 1, peak, -1)
                            if score_plot_agg[i] > score_plot_agg[i + 1] and
                            score_plot_agg[i] > threshold1), r0)
                l_ext = max(0, peak - k_p * 5)
                r_ext = min(n - 1, peak + k_p * 5)
                for i in range(start - 1, l_ext - 1, -1):
                    if i > 0 and score_plot_agg[i] < threshold2 and score_plot_agg[i - 1] < threshold2:
                        start = i + 1
                        break
                for j in range(end + 1, r_ext + 1):
                    if j < n - 1 and score_plot_agg[j] < threshold2 and score_plot_agg[j + 1] < threshold2:
                        end = j - 1
                        break
            peak_new = np.argmax(score_plot_agg[start:end + 1]) + start
            preds.append([start, 0, end, 0, 0, 0, peak_new])
        else:
            preds.append([peak - k_p, 0, peak + k_p, 0, 0, 0, peak])
    if interval_strategy == 1 and dataset_name != 'SAMM_test':
        preds = nms(preds, k_p)
    return [(int(b[0]), int(b[2]), int(b[-1])) for b in preds]


def test_random_curves_give_the_released_codes_intervals():
    rng = np.random.default_rng(0)
    modes = [(False, True), (True, True), (False, False)]
    for trial in range(400):
        length, k_p = int(rng.integers(1, 80)), int(rng.integers(1, 8))
        kind = trial % 4
        if kind == 0:
            scores = rng.random(length)                                           # noise
        elif kind == 1:
            scores = rng.integers(-1, 3, length).astype(float)                  # integer steps: plateaus
        elif kind == 2:
            scores = np.convolve(rng.random(length) ** 4, np.ones(5) / 5)[:length]   # smooth bumps
        else:
            scores = (rng.random(length) < 0.1) * rng.random(length) * 3        # sparse spikes
        for samm, strategy in modes:
            try:
                expected = released_reference(scores, k_p, samm, strategy)
            except IndexError:                                                   # theirs reads past the end
                with pytest.raises(ValueError, match="shorter than 2 k_p"):
                    paper_intervals(scores, k_p, samm=samm, strategy=strategy)
                continue
            assert paper_intervals(scores, k_p, samm=samm, strategy=strategy) == expected, (trial, samm, strategy)
