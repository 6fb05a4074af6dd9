"""Leave-one-subject-out: fold choice, disjointness, pooling, and a run split over two invocations."""

import json
import os

import numpy as np
import pytest
from scipy import stats

from configs.intensity import synthetic as synthetic_config
from meint_jax import tasks
from meint_jax.common import errors
from meint_jax.tasks.intensity import results as intensity_results
from meint_jax.training import loso

SUBJECTS = ["s01", "s02", "s03", "s04", "s05"]


def test_every_subject_is_held_out_once_and_never_trained_on():
    folds = loso.loso_folds(SUBJECTS)
    assert [held_out for _, held_out in folds] == SUBJECTS
    for training, held_out in folds:
        assert held_out not in training and sorted(training + [held_out]) == SUBJECTS


def test_leaving_a_dataset_out_holds_out_all_its_subjects_and_trains_on_every_other_dataset(tmp_path):
    subjects = ["casme2_01", "casme2_02", "samm_006", "smic_s1", "smic_s2"]
    assert loso.held_out_groups(subjects, "lodo") == {"casme2": ["casme2_01", "casme2_02"], "samm": ["samm_006"],
                                                     "smic": ["smic_s1", "smic_s2"]}
    assert loso.held_out_groups(subjects, "loso") == {s: [s] for s in subjects}
    seen = []

    class Config:
        class eval:   # noqa: N801  (a stand-in for config.eval)
            protocol, folds = "lodo", "samm,2"

    loso.run_loso(Config, str(tmp_path), None, subjects, lambda c, d, data, train, test: seen.append(
        (os.path.basename(d), train, test)), lambda workdir, folds: folds)
    assert seen == [("fold_samm", ["casme2_01", "casme2_02", "smic_s1", "smic_s2"], ["samm_006"]),
                    ("fold_smic", ["casme2_01", "casme2_02", "samm_006"], ["smic_s1", "smic_s2"])]


@pytest.mark.parametrize("subjects, reason", [(["casme2_01", "06"], "subjects 06 name no dataset"),
                                              (["samm_006", "samm_007"], "come from one dataset")])
def test_leaving_a_dataset_out_of_what_is_not_a_composite_is_refused_in_one_line(subjects, reason):
    with pytest.raises(errors.ConfigError, match=reason) as error:
        loso.held_out_groups(subjects, "lodo")
    assert "\n" not in str(error.value)


def test_fold_selection_by_code_index_and_range():
    assert loso.select_folds(SUBJECTS, None) == SUBJECTS
    assert loso.select_folds(SUBJECTS, "s04,0-1,s04") == ["s04", "s01", "s02"]
    assert loso.select_folds(SUBJECTS, "4") == ["s05"]
    with pytest.raises(errors.ConfigError, match="fold 5 does not exist"):
        loso.select_folds(SUBJECTS, "5-7")
    with pytest.raises(errors.ConfigError, match="neither a subject"):
        loso.select_folds(SUBJECTS, "s99")
    with pytest.raises(errors.ConfigError, match=r"folds='2-0': the range 2-0 runs backwards \(write it 0-2\)"):
        loso.select_folds(SUBJECTS, "2-0")
    with pytest.raises(errors.ConfigError, match="selects no fold"):
        loso.select_folds(SUBJECTS, " , ")


def _fold(rng, num_clips):
    per_clip = {"clip_id": [f"c{i}" for i in range(num_clips)],
                "spearman": rng.uniform(0, 1, num_clips).tolist(), "kendall": rng.uniform(0, 1, num_clips).tolist()}
    summary = {k: float(np.mean(v)) for k, v in per_clip.items() if k != "clip_id"}
    return {"trimmed": {"model": {**summary, "per_clip": per_clip}}}


def test_aggregation_pools_clips_over_folds():
    rng = np.random.default_rng(0)
    folds = {"s01": _fold(rng, 3), "s02": _fold(rng, 5), "s03": _fold(rng, 1)}
    got = intensity_results.aggregate(folds)["trimmed"]["model"]
    clips = np.concatenate([f["trimmed"]["model"]["per_clip"]["spearman"] for f in folds.values()])
    means = [f["trimmed"]["model"]["spearman"] for f in folds.values()]
    assert got["num_clips"] == 9 and got["spearman"]["clips"]["n"] == 9
    assert got["spearman"]["clips"]["mean"] == pytest.approx(np.mean(clips))
    assert got["spearman"]["clips"]["std"] == pytest.approx(stats.tstd(clips))
    assert got["spearman"]["folds"]["mean"] == pytest.approx(np.mean(means))
    assert got["spearman"]["folds"]["std"] == pytest.approx(stats.tstd(means))
    # The pooled clips themselves, in fold order, so that a table can pair two runs clip by clip.
    ids = [c for f in folds.values() for c in f["trimmed"]["model"]["per_clip"]["clip_id"]]
    assert got["per_clip"]["clip_id"] == ids
    assert got["per_clip"]["spearman"] == clips.tolist()


def test_model_is_compared_with_the_prior_over_the_pooled_clips():
    rng = np.random.default_rng(1)
    folds = {}
    for subject, num_clips in (("s01", 4), ("s02", 3)):
        fold = _fold(rng, num_clips)
        prior = {k: (np.asarray(v) - 0.1).tolist() if k != "clip_id" else v
                 for k, v in fold["trimmed"]["model"]["per_clip"].items()}
        prior["spearman"][0] += 0.5                       # one clip where the prior wins
        fold["trimmed"]["position_prior"] = {**{k: float(np.mean(v)) for k, v in prior.items() if k != "clip_id"},
                                             "per_clip": prior}
        folds[subject] = fold
    got = intensity_results.aggregate(folds)["trimmed"]["model"]["vs_prior"]
    assert got["spearman"]["clips_better"] == 5 and got["spearman"]["clips_worse"] == 2
    assert got["kendall"] == {"clips_better": 7, "clips_worse": 0, "wilcoxon_p": pytest.approx(2 / 2 ** 7)}


@pytest.mark.slow
def test_loso_split_over_two_invocations_aggregates_the_finished_folds(tiny_builder, tmp_path):
    config = synthetic_config.get_config("size=tiny")
    config.data.data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    config.train.update(num_steps=1, warmup_steps=0, checkpoint_every=1, log_every=1)
    config.eval.update(protocol="loso", folds="0", untrimmed_windows=1, plot_clips=1)
    workdir = str(tmp_path / "loso")
    first = tasks.train_and_evaluate(config, workdir)
    assert first["folds_done"] == ["s01"] and first["folds_missing"] == ["s02", "s03", "s04"]

    config.eval.folds = "s01,s02"   # s01 is finished: only s02 trains
    results = tasks.train_and_evaluate(config, workdir)
    assert results == json.load(open(os.path.join(workdir, "results.json")))
    assert results["folds_done"] == ["s01", "s02"] and results["folds_missing"] == ["s03", "s04"]
    folds = {}
    for held_out in results["folds_done"]:
        folds[held_out] = json.load(open(os.path.join(workdir, f"fold_{held_out}", "metrics.json")))
        assert folds[held_out]["test_subjects"] == [held_out] and held_out not in folds[held_out]["train_subjects"]
    assert results["trimmed"]["model"]["num_clips"] == 6   # 3 clips per held-out subject
    assert results == {**results, **intensity_results.aggregate(folds)}
