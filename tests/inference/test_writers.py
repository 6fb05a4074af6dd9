"""Prediction outputs never replace another input's results: same-named inputs are refused, and emotions.csv
keeps every run's rows."""

import csv
import json

import numpy as np
import pytest

from meint_jax.common.errors import PredictError
from meint_jax.data.clips.clip import Clip
from meint_jax.inference import writers

CLASSES = ("negative", "positive", "surprise")


def recognised(output, source, name="clip", probabilities=(0.2, 0.7, 0.1)):
    clip = Clip(clip_id=name, frame_numbers=np.arange(4), source=source)
    return writers.write_emotion(str(output), clip, np.asarray(probabilities), CLASSES, np.arange(4), {})


def test_a_second_input_of_the_same_name_is_refused_and_the_first_results_stay(tmp_path):
    first = recognised(tmp_path, "/a/clip.mp4")
    with pytest.raises(PredictError, match=r"clip.json holds the results of /a/clip.mp4; those of /b/clip.mp4 would "
                                           r"replace them: choose another --output"):
        recognised(tmp_path, "/b/clip.mp4", probabilities=(0.9, 0.05, 0.05))
    assert json.load(open(tmp_path / "clip.json"))["emotion"] == first["emotion"] == "positive"
    assert recognised(tmp_path, "/a/clip.mp4", probabilities=(0.9, 0.05, 0.05))["emotion"] == "negative"  # a rerun
    (tmp_path / "other.json").write_text("{not json")
    with pytest.raises(PredictError, match="other.json holds the results of an unreadable file"):
        recognised(tmp_path, "/c/other.mp4", name="other")


def test_emotions_csv_keeps_earlier_runs_rows_and_a_rerun_replaces_its_own(tmp_path):
    writers.write_emotion_table(str(tmp_path), [recognised(tmp_path, "/a/one.mp4", "one"),
                                                recognised(tmp_path, "/a/two.mp4", "two")])
    writers.write_emotion_table(str(tmp_path), [recognised(tmp_path, "/a/three.mp4", "three", (0.1, 0.1, 0.8)),
                                                recognised(tmp_path, "/a/one.mp4", "one", (0.8, 0.1, 0.1))])
    with open(tmp_path / "emotions.csv") as f:
        table = [(row["name"], row["emotion"]) for row in csv.DictReader(f)]
    assert table == [("two", "positive"), ("three", "surprise"), ("one", "negative")]


def test_emotions_csv_of_another_models_classes_is_refused_not_rewritten(tmp_path):
    (tmp_path / "emotions.csv").write_text("name,emotion,probability,p_happiness,p_others\nx,others,0.6,0.4,0.6\n")
    with pytest.raises(PredictError, match=r"emotions.csv: its columns \(name, emotion, probability, p_happiness, "
                                           r"p_others\) are not this model's"):
        writers.write_emotion_table(str(tmp_path), [recognised(tmp_path, "/a/one.mp4", "one")])
    assert "x,others" in (tmp_path / "emotions.csv").read_text()
