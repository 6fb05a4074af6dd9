"""The transfer table (`paper_tables --dataset=semireal`): models trained on what the repository generates,
scored on semi-real footage of a face they never saw, beside the motion detector, chance and the position
prior; and a finished spotting run scored on another dataset's folds (`tasks/spotting/transfer.py`)."""

import importlib
import json
import os
import shutil
import subprocess
import sys

import ml_collections
import pytest

from meint_jax import paper_tables
from meint_jax.common.errors import ConfigError
from meint_jax.tasks.spotting import transfer
from tests import REPO


def spotting_run(model, motion=(0.1, 0.2), chance=(0.05, 0.1), folds=3) -> dict:
    """A pooled spotting result as results.json holds it: (ME F1, MaE F1) per predictor."""
    def kinds(me, mae):
        return {"micro": {"f1": me}, "macro": {"f1": mae}, "overall": {"f1": (me + mae) / 2}}
    return {"model": kinds(*model), "motion": kinds(*motion), "chance": kinds(*chance),
            "folds_done": [f"s{k}" for k in range(folds)]}


def intensity_run(model, prior, better=30, worse=18, p=0.04) -> dict:
    """A pooled intensity result: (untrimmed, trimmed) true-intensity Spearman of the model and of the prior."""
    def cell(value):
        return {"true_spearman": {"clips": {"mean": value, "std": 0.1, "n": 48}}}
    versus = {"true_spearman": {"clips_better": better, "clips_worse": worse, "wilcoxon_p": p}}
    return {"untrimmed": {"model": {**cell(model[0]), "vs_prior": versus}, "position_prior": cell(prior[0])},
            "trimmed": {"model": cell(model[1]), "position_prior": cell(prior[1])}, "folds_done": ["a", "b", "c"]}


def line_of(table: str, label: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| {label} |"))


def test_the_transfer_table_gives_each_rows_f1_the_baselines_of_the_first_row_and_the_intensity_beside_the_prior():
    results = {"semireal": [spotting_run((0.4, 0.3))],
               "synthetic": [spotting_run((0.2, 0.25), motion=(0.9, 0.9), chance=(0.9, 0.9))],
               "intensity": [intensity_run((0.61, 0.7), (0.52, 0.8))]}
    table = paper_tables.make_transfer_table("semireal", results)
    assert line_of(table, "model trained on semi-real videos of another face") == \
        "| model trained on semi-real videos of another face | 0.4000 | 0.3000 | 0.3500 |"
    assert line_of(table, "model trained on synthetic videos only") == \
        "| model trained on synthetic videos only | 0.2000 | 0.2500 | 0.2250 |"
    # The baselines come from the first spotting row: the folds every row shares.
    assert line_of(table, "motion detector (no learning), our decoder").endswith("| 0.1000 | 0.2000 | 0.1500 |")
    assert line_of(table, "chance spotter").endswith("| 0.0500 | 0.1000 | 0.0750 |")
    assert line_of(table, "ResNet18 + BiGRU trained on the two other faces").endswith("| 0.6100 | 0.7000 |")
    assert line_of(table, "position prior (no pixels)").endswith("| 0.5200 | 0.8000 |")
    assert "3 of 3 folds done" in table and "better on 30, worse on 18 (Wilcoxon p = 0.040)" in table
    assert "Paired" not in table                                      # one seed: nothing to pair

    alone = paper_tables.make_transfer_table("semireal", {"synthetic": results["synthetic"]})
    assert line_of(alone, "chance spotter").endswith("| 0.9000 | 0.9000 | 0.9000 |") and "Intensity" not in alone


def test_over_seeds_the_transfer_table_gives_mean_and_sd_and_pairs_every_line_with_the_semireal_model():
    semireal = [spotting_run((me, 0.3)) for me in (0.3, 0.4, 0.5)]
    synthetic = [spotting_run((me, 0.2)) for me in (0.1, 0.2, 0.3)]
    intensity = [intensity_run((m, 0.7), (0.5, 0.8)) for m in (0.6, 0.7, 0.8)]
    table = paper_tables.make_transfer_table("semireal", {"semireal": semireal, "synthetic": synthetic,
                                                          "intensity": intensity})
    assert "| 0.4000 ± 0.1000 |" in line_of(table, "model trained on semi-real videos of another face")
    assert "| 0.7000 ± 0.1000 |" in line_of(table, "ResNet18 + BiGRU trained on the two other faces")
    assert "mean ± sd over 3 seeds" in table
    # Three differences of one sign: the exact two-sided Wilcoxon p is 2 / 2^3 = 0.25.
    assert "synthetic - semireal: ME F1 -0.2000 (p = 0.250, 3 seeds)" in table
    assert "motion - semireal: ME F1 -0.3000" in table and "chance - semireal" in table
    assert "position prior - intensity: untrimmed true Spearman -0.2000" in table


def test_over_seeds_the_intensity_row_is_set_against_the_prior_per_seed_and_on_every_seeds_clips_pooled():
    def run(model, prior, better, worse):
        result = intensity_run((sum(model) / 3, 0.9), (prior, 0.9), better=better, worse=worse, p=0.25)
        for predictor, scores in (("model", model), ("position_prior", [prior] * 3)):
            result["untrimmed"][predictor]["per_clip"] = {"clip_id": ["a", "b", "c"], "true_spearman": scores}
        return result
    # Seed k's model against seed k's prior (binary-exact eighths): +1/8, +2/8, +3/8, then +4/8, +5/8, -1/16.
    runs = [run([0.625, 0.75, 0.875], 0.5, 3, 0), run([0.75, 0.875, 0.1875], 0.25, 2, 1)]
    table = paper_tables.make_transfer_table("semireal", {"intensity": runs})
    assert ("clip by clip: per seed better on 3, worse on 0 (Wilcoxon p = 0.250); better on 2, worse on 1 "
            "(Wilcoxon p = 0.250)") in table
    # Pooled: mean 1.8125 / 6; the one worse clip has the smallest |difference|, so W- = 1 and the exact
    # two-sided p is 2 * 2 / 2^6 = 0.0625.
    assert "the seeds' clips pooled: +0.3021, better on 5/6, worse on 1 (Wilcoxon p = 0.062)." in table
    # A seed recorded without its clips: no pooled figure rather than one over the other seed's clips alone.
    del runs[1]["untrimmed"]["model"]["per_clip"]
    assert "pooled" not in paper_tables.make_transfer_table("semireal", {"intensity": runs})


def test_semireal_has_the_transfer_table_and_paper_002s_choices_and_no_other_dataset_has_the_transfer_table():
    assert paper_tables.table_of("semireal") == "transfer"
    assert [r.name for r in paper_tables.rows_of("semireal")] == ["semireal", "synthetic", "intensity",
                                                                 "intensity_flow"]
    assert paper_tables.table_of("semireal", "paper002") == "paper002"
    with pytest.raises(ConfigError, match="--table=joint: semireal has the tables transfer, paper002"):
        paper_tables.table_of("semireal", "joint")
    with pytest.raises(ConfigError, match="--table=transfer: synthetic_spotting has the tables joint, paper002"):
        paper_tables.table_of("synthetic_spotting", "transfer")
    with pytest.raises(ConfigError, match="unknown rows"):
        paper_tables.run("semireal", "/tmp/never", rows=["full"])


def test_paper_002s_choices_on_semireal_train_each_row_on_its_own_features_leaving_one_face_out():
    configs = {row.name: paper_tables.row_config("semireal", row.variant, row.label_shape, overrides=row.overrides,
                                                 size="tiny", seed=1)
               for row in paper_tables.rows_of("semireal", "paper002")}
    names = {name: c.data.name for name, c in configs.items()}
    assert names == {"ours": "semireal_long/samples_tiny", "paper_init": "semireal_long/samples_tiny",
                     "paper_features": "semireal_long/samples_tiny_features_paper",
                     "paper": "semireal_long/samples_tiny_features_paper"}
    assert {c.eval.protocol for c in configs.values()} == {"loso"} and {c.seed for c in configs.values()} == {1}
    assert tuple(configs["ours"].eval.compare_decoders) == ("paper", "paper_peak")
    assert (configs["paper_init"].model.weight_init, configs["ours"].model.weight_init) == ("paper", "ours")
    assert configs["paper"].eval.decoder == "paper" and configs["paper_features"].eval.decoder != "paper"
    with pytest.raises(ValueError, match="unknown features 'theirs'"):
        importlib.import_module("configs.spotting.semireal").get_config("features=theirs")


def test_a_transfer_rows_config_takes_the_commands_overrides_where_they_apply():
    semireal = paper_tables.transfer_config("configs.spotting.semireal", size="tiny", seed=2, data_dir="/d",
                                            manual_dir="/m", num_steps=5, folds="0")
    assert (semireal.data.name, semireal.seed, semireal.data.data_dir) == ("semireal_long/samples_tiny", 2, "/d")
    assert (semireal.data.manual_dir, semireal.train.num_steps, semireal.eval.folds) == ("/m", 5, "0")
    synthetic = paper_tables.transfer_config("configs.spotting.synthetic", size="tiny", manual_dir="/m", folds="0")
    assert synthetic.data.name == "synthetic_long/tiny" and synthetic.eval.protocol == "holdout"
    assert synthetic.data.manual_dir is None and synthetic.eval.folds is None   # neither applies to a hold-out run
    intensity = paper_tables.transfer_config("configs.intensity.semireal")
    assert intensity.data.name == "semireal_me/samples_many" and intensity.eval.protocol == "loso"
    assert intensity.model.inputs == "frames"
    # A row's `module:arg` reaches its get_config, joined with the command's size.
    flow = paper_tables.transfer_config("configs.intensity.semireal:inputs=flow", size="tiny", seed=1)
    assert (flow.model.inputs, flow.data.clip_landmarks, flow.data.name) == ("flow", "dlib", "semireal_me/samples_tiny")
    assert (flow.data.flow_size, flow.seed) == (32, 1)
    assert paper_tables.transfer_config("configs.intensity.semireal:inputs=flow").data.flow_size == 112
    with pytest.raises(ConfigError, match="--protocol"):
        paper_tables.transfer_config("configs.spotting.semireal", protocol="holdout")


def test_a_transferred_network_keeps_its_window_and_classes_and_takes_the_targets_data_folds_and_seed():
    from configs.spotting import semireal, synthetic

    trained = synthetic.get_config()
    trained.data.emotion_classes = ("negative", "positive", "surprise")
    target = semireal.get_config()
    target.seed, target.data.data_dir = 3, "/data"
    config = transfer.scoring_config(target, json.loads(trained.to_json_best_effort()))
    assert (config.data.window, config.model.stem_features) == (trained.data.window, trained.model.stem_features)
    assert config.data.window != target.data.window
    assert tuple(config.data.emotion_classes) == ("negative", "positive", "surprise")
    assert (config.data.name, config.data.data_dir, config.seed) == ("semireal_long/samples_many", "/data", 3)
    assert config.eval.protocol == "loso" and config.eval.validation_subjects == 1
    assert isinstance(config, ml_collections.ConfigDict)
    own = json.loads(semireal.get_config("size=tiny").to_json_best_effort())
    with pytest.raises(ConfigError, match="trained on semireal_long/samples_tiny: scored on semireal_long/samples_m"):
        transfer.scoring_config(target, own)


@pytest.mark.slow
def test_tiny_transfer_table_scores_every_row_on_a_held_out_face_with_the_same_baselines(
        real_samples, tiny_spotting_run, tmp_path):
    """One fold of each spotting row at tiny size. The synthetic row is the suite's tiny spotting run, copied in:
    the command finds it trained and only scores it on the semi-real folds. (The intensity row trains paper 001's
    network like any intensity run, whose tests are elsewhere; its table lines are checked by hand above.)"""
    run_dir, _ = tiny_spotting_run
    workdir, data_dir = tmp_path / "tables", tmp_path / "tfds"
    data_dir.mkdir()
    shutil.copytree(run_dir, workdir / "synthetic")
    command = [sys.executable, "-m", "meint_jax.paper_tables", "--dataset=semireal", "--size=tiny",
               f"--workdir={workdir}", f"--data_dir={data_dir}", "--num_steps=3", "--folds=0",
               "--rows=semireal,synthetic",
               f"--manual_dir={os.path.dirname(real_samples['single_face.mp4'])}"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (workdir / "table.md").read_text()
    assert table.strip() in result.stdout and "Row 'synthetic' is done" in result.stderr

    semireal = json.load(open(workdir / "semireal" / "results.json"))
    scored = json.load(open(workdir / "synthetic" / paper_tables.TRANSFER_SCORED / "results.json"))
    fold = json.load(open(workdir / "synthetic" / paper_tables.TRANSFER_SCORED / "fold_face_noface" / "metrics.json"))
    trained_fold = json.load(open(workdir / "semireal" / "fold_face_noface" / "metrics.json"))
    # The held-out face is one recording, all its renditions; the threshold's face is another.
    assert fold["test_subjects"] == ["face_noface"] and fold["validation_subjects"] != ["face_noface"]
    assert {r["video_id"].split("/")[0] for r in fold["per_video"]} == {"face_noface"}
    assert len(fold["per_video"]) == 2 and fold["trained_on"] == "synthetic_long/tiny"
    # Both rows split the subjects alike, so the baselines (no network) score the same.
    assert fold["validation_subjects"] == trained_fold["validation_subjects"]
    for predictor in ("motion", "chance"):
        assert scored[predictor]["micro"]["f1"] == semireal[predictor]["micro"]["f1"]
    lines = {"model trained on semi-real videos of another face": semireal["model"],
             "model trained on synthetic videos only": scored["model"],
             "chance spotter": semireal["chance"]}
    for label, pooled in lines.items():
        assert line_of(table, label) == "| " + " | ".join(
            [label] + [f"{pooled[k]['f1']:.4f}" for k in ("micro", "macro", "overall")]) + " |"
