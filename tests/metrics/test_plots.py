"""The figures mark the frames without a face, the ones that are not scored."""

import matplotlib.axes
import numpy as np

from meint_jax.metrics import plots

NAN = np.nan


def test_unscored_spans_are_the_runs_of_all_nan_rows_in_frame_numbers():
    numbers = np.arange(10, 20)
    scores = np.array([[NAN, NAN], [NAN, NAN], [0.1, 0.2], [0.3, NAN], [NAN, NAN],
                       [0.2, 0.2], [0.2, 0.1], [NAN, NAN], [NAN, NAN], [NAN, NAN]])
    # Row 3 has one score, so it is scored; runs: rows 0-1, row 4, rows 7-9.
    assert plots.unscored_spans(numbers, scores) == [(9.5, 11.5), (13.5, 14.5), (16.5, 19.5)]
    assert plots.unscored_spans(numbers[2:7], scores[2:7, 0]) == [(13.5, 14.5)]
    assert plots.unscored_spans(numbers, np.zeros((10, 2))) == []


def test_the_timeline_and_the_curve_shade_each_run_without_the_face_once_with_one_legend_entry(tmp_path,
                                                                                                monkeypatch):
    drawn = []
    original = matplotlib.axes.Axes.axvspan

    def recording(self, start, stop, **kwargs):
        drawn.append((start, stop, kwargs.get("label")))
        return original(self, start, stop, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "axvspan", recording)
    numbers = np.arange(40)
    scores = np.full((40, 9), 0.2)
    scores[:5] = NAN
    scores[30:] = NAN
    panel = {"video_id": "v", "frame_numbers": numbers, "scores": scores, "truth": {}, "predicted": {}}
    plots.plot_timelines(str(tmp_path / "t.png"), [panel], "title")
    assert drawn == [(-0.5, 4.5, plots.NO_FACE), (29.5, 39.5, None)]
    drawn.clear()
    plots.plot_prediction(str(tmp_path / "p.png"), numbers, scores[:, 0], "title")
    assert drawn == [(-0.5, 4.5, plots.NO_FACE), (29.5, 39.5, None)]
    assert (tmp_path / "t.png").stat().st_size > 1000 and (tmp_path / "p.png").stat().st_size > 1000
