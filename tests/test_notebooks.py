"""The Colab notebooks: stored without outputs, and run top to bottom headless on CPU with tiny parameters
(papermill's convention: a cell after the one tagged `parameters` overrides it), producing what they promise."""

import glob
import json
import os

import pytest

from tests import REPO

NOTEBOOKS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REPO, "notebooks", "*.ipynb")))


def read(name):
    nbformat = pytest.importorskip("nbformat")
    return nbformat.read(os.path.join(REPO, "notebooks", name), as_version=4)


def execute(name: str, parameters: dict, cwd: str):
    """The notebook run in a fresh kernel with `parameters` injected; returns it with its outputs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = read(name)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in parameters.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, injected)
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
    return nb


def text_of(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def images_in(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def data_dir_of(builder) -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(builder.data_dir)))


def test_there_are_the_four_notebooks_each_stored_without_outputs_with_a_parameters_cell_and_a_badge():
    assert NOTEBOOKS == ["predict_your_video.ipynb", "quickstart.ipynb", "reproduce_paper.ipynb",
                         "spot_long_video.ipynb"]
    for name in NOTEBOOKS:
        nb = read(name)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), f"{name}: strip its outputs"
        assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1, name
        assert f"colab.research.google.com/github/meint-jax/meint-jax/blob/main/notebooks/{name}" in nb.cells[0].source
        assert "pip" in code[0].source and "find_spec(\"meint_jax\")" in code[0].source   # installs only in Colab


@pytest.mark.slow
def test_the_quickstart_trains_evaluates_beside_the_prior_and_predicts_from_its_checkpoint(tiny_builder, tmp_path):
    workdir = tmp_path / "quickstart"
    nb = execute("quickstart.ipynb", {"SIZE": "tiny", "NUM_STEPS": 3, "WORKDIR": str(workdir),
                                      "DATA_DIR": data_dir_of(tiny_builder)}, str(tmp_path))
    metrics = json.load(open(workdir / "metrics.json"))
    assert metrics["train_steps"] == 3 and (workdir / "checkpoints" / "3").is_dir()
    out = text_of(nb)
    for protocol in ("trimmed", "untrimmed"):
        for predictor in ("model", "position_prior"):
            assert f"{protocol:9s} {predictor:14s} Spearman {metrics[protocol][predictor]['spearman']:.3f}" in out
    assert "3 steps in" in out and "compute float32" in out
    assert len(list((workdir / "predictions").glob("*.csv"))) == 1 and images_in(nb) == 2


@pytest.mark.slow
def test_predict_your_video_writes_a_curve_and_its_csv_for_each_input(tiny_builder, tiny_workdir, tmp_path):
    output = tmp_path / "out"
    nb = execute("predict_your_video.ipynb", {"CHECKPOINT": tiny_workdir, "INPUT": "tfds:synthetic_me/tiny:train",
                                              "OUTPUT": str(output), "DATA_DIR": data_dir_of(tiny_builder)},
                 str(tmp_path))
    csvs = sorted(output.glob("*.csv"))
    assert len(csvs) == 12 and len(list(output.glob("*.png"))) == 12
    out = text_of(nb)
    assert "CSV files:" in out and any(c.read_text()[:200] in out for c in csvs)     # the first one, shown
    assert images_in(nb) == 4


@pytest.mark.slow
def test_spot_long_video_reports_f1_and_strs_and_spots_with_emotions(tiny_spotting_run, tmp_path):
    workdir, data_dir = tiny_spotting_run
    output = tmp_path / "spotted"
    nb = execute("spot_long_video.ipynb", {"SIZE": "tiny", "CHECKPOINT": workdir, "OUTPUT": str(output),
                                           "DATA_DIR": data_dir}, str(tmp_path))
    out = text_of(nb)
    metrics = json.load(open(os.path.join(workdir, "metrics.json")))
    assert f"micro STRS {metrics['model']['recognition']['micro']['strs']:.3f}" in out
    assert "chance" in out and "motion" in out and "majority" in out
    assert len(list(output.glob("*.csv"))) == 6 and images_in(nb) == 2
    first = sorted(output.glob("*.json"))[0]
    for interval in json.load(open(first))["intervals"]:
        assert interval["emotion"] in ("negative", "positive", "surprise")


@pytest.mark.slow
def test_reproduce_paper_falls_back_to_the_synthetic_set_and_says_so(tiny_builder, tmp_path):
    workdir = tmp_path / "tables"
    nb = execute("reproduce_paper.ipynb", {"DATASET": "casme2", "WORKDIR": str(workdir), "ROWS": ["full"],
                                           "SIZE": "tiny", "NUM_STEPS": 3, "DATA_DIR": data_dir_of(tiny_builder)},
                 str(tmp_path))
    assert "No DRIVE_FOLDER: casme2 is licensed" in text_of(nb)
    table = (workdir / "table.md").read_text()
    metrics = json.load(open(workdir / "full" / "metrics.json"))
    assert metrics["dataset"] == "synthetic_me/tiny" and metrics["train_steps"] == 3
    assert "| ResNet18 + BiGRU (full) |" in table
    markdown = [o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
                if "text/markdown" in o.get("data", {})]
    assert markdown == [table]


def test_the_notebooks_fit_a_config_to_the_devices_bfloat16_on_a_tpu_only():
    from configs.intensity import synthetic
    from meint_jax.training import sharding

    config = synthetic.get_config("size=tiny")          # batch 4
    on_tpu = sharding.for_devices(config, devices=8, backend="tpu")
    assert on_tpu.train.batch_size == 8 and on_tpu.model.dtype == "bfloat16"
    on_gpu = sharding.for_devices(config, devices=3, backend="gpu")
    assert on_gpu.train.batch_size == 6 and on_gpu.model.dtype == "float32"
    assert config.train.batch_size == 4 and config.model.dtype == "float32"     # the config given is untouched
