"""The papers' tables from one command: paper 001's Tables 2/3 with the prior and the label-shape ablation,
and paper 002's joint-against-separate ablation of spotting and recognition.

    python -m meint_jax.paper_tables --dataset=synthetic --workdir=DIR
    python -m meint_jax.paper_tables --dataset=casme2 --workdir=DIR --manual_dir=/data/CASME2
    python -m meint_jax.paper_tables --dataset=synthetic_spotting --workdir=DIR

Each row is one run of `tasks.train_and_evaluate` in `DIR/<row>/` (LOSO on the
real datasets, the quick hold-out on the synthetic one, unless --protocol says
otherwise). A finished row is not rerun and an interrupted one resumes, so the
command can be repeated until the table is complete; `DIR/table.md` and
`DIR/table.json` are rewritten after every row, next to the paper's figures.
"""

from __future__ import annotations

from meint_jax.common import cli

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

import importlib
import json
import os
from typing import NamedTuple

from absl import flags, logging

from meint_jax.common import files
from meint_jax.common.errors import ConfigError

FLAGS = flags.FLAGS


class Row(NamedTuple):
    name: str            # its folder under --workdir
    variant: str         # the config's variant=...
    label_shape: str     # config.data.pseudo_label
    label: str           # in the table


ROWS = (
    Row("framewise", "framewise", "triangular", "ResNet18 frame-wise baseline"),
    Row("full", "full", "triangular", "ResNet18 + BiGRU (full)"),
    Row("no_smooth", "no_smooth", "triangular", "w/o smoothness"),
    Row("no_rank", "no_rank", "triangular", "w/o apex ranking"),
    Row("gaussian", "full", "gaussian", "full, gaussian target"),
    Row("raised_cosine", "full", "raised_cosine", "full, raised-cosine target"),
    Row("trapezoid", "full", "trapezoid", "full, trapezoid target"),
)
# The paper's Spearman / Kendall (docs/design.md, "Paper 001's figures").
PAPER = {
    "framewise": {"samm": (0.8130, 0.6697), "casme2": (0.9172, 0.7957)},
    "full": {"samm": (0.9789, 0.9222), "casme2": (0.9884, 0.9468)},
    "no_smooth": {"samm": (0.9804, 0.9252), "casme2": (0.9876, 0.9446)},
    "no_rank": {"samm": (0.9791, 0.9221), "casme2": (0.9894, 0.9487)},
}
# Paper 002: one network with a spotting and an emotion head, against two networks with one each.
SPOTTING_ROWS = (
    Row("joint", "full", "", "joint: one network, spotting + emotion heads"),
    Row("separate", "separate", "", "separate spotting and emotion networks"),
)
# Paper 002's ME spotting F1, F1_analysis and STRS (its abstract; docs/results.md, spotting).
PAPER_002 = {"CAS(ME)^3": (0.0997, 0.5638, 0.0562), "SAMM-LV": (0.2906, 0.6882, 0.2000)}
SPOTTING_DATASETS = ("synthetic_spotting", "casme3_spotting", "samm_lv_spotting", "casme_sq_spotting",
                     "smic_e_spotting")
# Paper 001 reports CASME II and SAMM; its tables run on every clip dataset with annotated apexes.
DATASETS = ("synthetic", "casme2", "samm", "casme", "mmew", "casme3") + SPOTTING_DATASETS
# --dataset -> its config module (configs/<task>/<dataset>.py).
CONFIGS = {"synthetic": "configs.intensity.synthetic", "casme2": "configs.intensity.casme2",
           "samm": "configs.intensity.samm", "casme": "configs.intensity.casme", "mmew": "configs.intensity.mmew",
           "casme3": "configs.intensity.casme3", "synthetic_spotting": "configs.spotting.synthetic",
           "casme3_spotting": "configs.spotting.casme3", "samm_lv_spotting": "configs.spotting.samm_lv",
           "casme_sq_spotting": "configs.spotting.casme_sq", "smic_e_spotting": "configs.spotting.smic_e"}


def rows_of(dataset: str) -> tuple[Row, ...]:
    return SPOTTING_ROWS if dataset in SPOTTING_DATASETS else ROWS



def define_flags():
    flags.DEFINE_enum("dataset", None, DATASETS, "Which dataset's config to run.")
    flags.DEFINE_string("workdir", None, "One subfolder per row, and table.md / table.json.")
    flags.DEFINE_string("size", None, "Synthetic only: 'tiny' for a smoke run (CI).")
    flags.DEFINE_enum("protocol", None, ["holdout", "loso"], "Default: loso on casme2/samm, holdout on synthetic.")
    flags.DEFINE_list("rows", None, f"A subset of rows: {', '.join(r.name for r in ROWS + SPOTTING_ROWS)} "
                      "(default: all of the dataset's).")
    flags.DEFINE_string("data_dir", None, "TFDS data_dir.")
    flags.DEFINE_string("manual_dir", None, "The licensed dataset's folder as distributed (any real dataset).")
    flags.DEFINE_integer("num_steps", None, "Training steps per run (default: the config's).")
    flags.DEFINE_string("folds", None, "LOSO: the folds to run here (e.g. 0-12); others can run elsewhere.")
    flags.mark_flags_as_required(["dataset", "workdir"])


def load_config(dataset: str, arg: str | None):
    """The dataset's config file's get_config(arg) (the installed `configs` package, as --config= reads it)."""
    return importlib.import_module(CONFIGS[dataset]).get_config(arg)


def row_config(dataset: str, variant: str, shape: str, *, size=None, protocol=None, data_dir=None,
               manual_dir=None, num_steps=None, folds=None):
    arg = f"variant={variant}" + (f",size={size}" if size else "")
    config = load_config(dataset, arg)
    if shape:
        config.data.pseudo_label = shape
    config.eval.protocol = protocol or ("holdout" if dataset.startswith("synthetic") else "loso")
    if data_dir:
        config.data.data_dir = data_dir
    if manual_dir:
        config.data.manual_dir = manual_dir
    if num_steps:
        config.train.num_steps = num_steps
    if folds:
        config.eval.folds = folds
    return config


def _scores(result: dict, protocol: str, predictor: str, name: str) -> tuple[float, float | None]:
    """(mean, std or None) of a metric from metrics.json (hold-out) or results.json (LOSO)."""
    value = result[protocol][predictor][name]
    if isinstance(value, dict):
        return value["clips"]["mean"], value["clips"]["std"]
    return value, None


def _cell(result, protocol, predictor) -> str:
    (rho, rho_std), (tau, _) = (_scores(result, protocol, predictor, m) for m in ("spearman", "kendall"))
    return f"{rho:.4f} / {tau:.4f}" + (f" (±{rho_std:.3f})" if rho_std is not None else "")


def make_table(dataset: str, results: dict[str, dict]) -> str:
    """Markdown in the paper's layout: our Spearman / Kendall per row, the paper's beside them."""
    synthetic = dataset == "synthetic"
    header = ["Row", "trimmed (paper's protocol)", "untrimmed"]
    if synthetic:
        header.append("trimmed vs true intensity")
    header += ["paper SAMM", "paper CASME II"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def line(label, result, predictor, paper):
        cells = [label, _cell(result, "trimmed", predictor), _cell(result, "untrimmed", predictor)]
        if synthetic:
            rho, _ = _scores(result, "trimmed", predictor, "true_spearman")
            tau, _ = _scores(result, "trimmed", predictor, "true_kendall")
            cells.append(f"{rho:.4f} / {tau:.4f}")
        for name in ("samm", "casme2"):
            cells.append(f"{paper[name][0]:.4f} / {paper[name][1]:.4f}" if paper else "-")
        lines.append("| " + " | ".join(cells) + " |")

    for row in ROWS:
        if row.name in results:
            line(row.label, results[row.name], "model", PAPER.get(row.name))
            if row.name == "full":
                line("position prior (no pixels)", results[row.name], "position_prior", None)
    note = ("Spearman / Kendall, per-clip means" + (" over all LOSO folds (± std over clips)"
            if any("folds_done" in r for r in results.values()) else " on the held-out subjects") + ". "
            "Each row is scored against its own pseudo-target; the label-shape rows compare fairly only "
            "against the true intensity (synthetic set).")
    return "\n".join(lines) + "\n\n" + note + "\n"


def _spotting_cells(result: dict, predictor: str) -> list[str]:
    rec = result[predictor]["recognition"]
    micro, overall = rec["micro"], rec["overall"]
    return [f"{micro['f1_spot']:.4f}", f"{micro['f1_analysis']:.4f}", f"{micro['strs']:.4f}",
            f"{micro['uf1']:.4f} / {micro['uar']:.4f}", f"{overall['strs']:.4f}"]


def make_spotting_table(dataset: str, results: dict[str, dict]) -> str:
    """Markdown: ME spotting F1, F1_analysis, STRS, UF1 / UAR of the spotted MEs, overall STRS (MEs and MaEs)
    per row, with the chance spotter and the majority class beside the joint row, paper 002's figures below."""
    header = ["Row", "ME F1_spot", "ME F1_analysis", "ME STRS", "ME UF1 / UAR", "overall STRS"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in SPOTTING_ROWS:
        if row.name not in results:
            continue
        lines.append("| " + " | ".join([row.label] + _spotting_cells(results[row.name], "model")) + " |")
        if row.name == "joint":
            for predictor, label in (("majority", "joint's intervals, training majority class"),
                                     ("class_prior", "joint's intervals, class prior at random"),
                                     ("chance", "chance spotter, class prior at random")):
                lines.append("| " + " | ".join([label] + _spotting_cells(results[row.name], predictor)) + " |")
    for name, (f1, analysis, score) in PAPER_002.items():
        lines.append(f"| paper 002 on {name} | {f1:.4f} | {analysis:.4f} | {score:.4f} | - | - |")
    loso = any("folds_done" in r for r in results.values())
    note = (f"{dataset}: counts and label pairs pooled over {'all LOSO folds' if loso else 'the held-out subjects'}; "
            "emotions scored over the spotted true positives, `others` left out; the chance row is a mean over "
            "its runs.")
    return "\n".join(lines) + "\n\n" + note + "\n"


def _spotting_summary(result: dict) -> dict:
    keep = ("f1_spot", "f1_analysis", "strs", "uf1", "uar")
    return {p: {k: {m: result[p]["recognition"][k][m] for m in keep} for k in ("micro", "macro", "overall")}
            for p in ("model", "model_neutral_dropped", "majority", "class_prior", "chance")
            if "recognition" in result.get(p, {})}


def run(dataset: str, workdir: str, *, rows=None, **overrides) -> str:
    from meint_jax import tasks
    from meint_jax.tasks.intensity import evaluate as intensity
    from meint_jax.training import config_checks, loso

    spotting = dataset in SPOTTING_DATASETS
    known = rows_of(dataset)
    wanted = [r for r in known if not rows or r.name in rows]
    unknown = set(rows or ()) - {r.name for r in known}
    if unknown:
        raise ConfigError(f"--rows: unknown rows {sorted(unknown)}; choose from {[r.name for r in known]}")
    workdir = files.writable_folder(workdir, "--workdir")
    results = {}
    for row in wanted:
        row_dir = os.path.join(workdir, row.name)
        try:
            config = row_config(dataset, row.variant, row.label_shape, **overrides)
        except ValueError as e:   # the config refuses an unknown size or variant
            raise ConfigError(str(e)) from e
        done = os.path.join(row_dir, "results.json" if config.eval.protocol in loso.PROTOCOLS else "metrics.json")
        finished = None
        if os.path.exists(done):
            config_checks.check_same_run(row_dir, config)
            with open(done) as f:
                finished = json.load(f)
        if finished is not None and not (config.eval.protocol in loso.PROTOCOLS and finished["folds_missing"]):
            logging.info("Row %r is done (%s).", row.name, done)
            results[row.name] = finished
        else:
            logging.info("Row %r: %s.", row.name, row.label)
            results[row.name] = tasks.train_and_evaluate(config, row_dir)
        table = make_spotting_table(dataset, results) if spotting else make_table(dataset, results)
        files.write_text(os.path.join(workdir, "table.md"), table)
        files.write_text(os.path.join(workdir, "table.json"), json.dumps(
            {n: _spotting_summary(r) if spotting else
             intensity.without_per_clip({p: r[p] for p in ("trimmed", "untrimmed") if p in r})
             for n, r in results.items()}, indent=1))
    return table


def main(argv):
    del argv
    if FLAGS.size and not FLAGS.dataset.startswith("synthetic"):
        raise ConfigError("--size applies to the synthetic datasets only")
    print(run(FLAGS.dataset, FLAGS.workdir, rows=FLAGS.rows, size=FLAGS.size, protocol=FLAGS.protocol,
              data_dir=FLAGS.data_dir, manual_dir=FLAGS.manual_dir, num_steps=FLAGS.num_steps, folds=FLAGS.folds))


if __name__ == "__main__":
    define_flags()
    cli.run(main, "meint_jax.paper_tables")
