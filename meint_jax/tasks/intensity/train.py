"""An intensity fold: paper 001's model trained on the engine, then both protocols beside the position prior.

`run` lists the subjects and runs the hold-out fold or the LOSO folds (`training/run.py`); each fold
(`run_fold`) trains on windows of its training subjects' clips, keeps the best checkpoint by validation
Spearman where it has validation subjects, and writes `metrics.json` and `curves.png`.

With model.inputs='flow' the model reads paper 002's region motion instead of frames: each clip's trajectories
over all its stored frames (untrimmed windows reach past onset and offset), computed once per process
(`training/clips.py`), and each window's motion since its first frame, as clip recognition's flow runs read it.
"""

from __future__ import annotations

import os

from absl import logging

from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.metrics import plots
from meint_jax.tasks.intensity import TASK, evaluate, results
from meint_jax.training import clips, sharding
from meint_jax.training import run as fold


def run(config, workdir: str, builder) -> dict:
    """The hold-out fold or the LOSO folds of `config` on the clips of `builder`."""
    return fold.run_folds(config, workdir, builder, input_pipeline.list_subjects(builder), run_fold,
                          results.write_results)


def _log_results(by_protocol: dict, log) -> None:
    for protocol, by_predictor in by_protocol.items():
        for predictor, r in by_predictor.items():
            truth = f", vs truth {r['true_spearman']:.3f}/{r['true_kendall']:.3f}" if "true_spearman" in r else ""
            paired = r.get("vs_prior", {}).get("spearman")
            versus = (f"; better than the prior on {paired['clips_better']}/{r['num_clips']} clips, "
                      f"Wilcoxon p={paired['wilcoxon_p']:.2g}") if paired else ""
            log("%-9s %-14s Spearman/Kendall %.3f/%.3f%s (%d clips)%s", protocol, predictor,
                r["spearman"], r["kendall"], truth, r["num_clips"], versus)


def _validation(config, builder, train_subjects, validation_subjects, mesh, motions: dict) -> fold.Validation:
    """Spearman on the validation subjects in eval.validation_protocol picks the best checkpoint
    (`motions["motions"]`: a flow run's region motion, computed when training starts)."""
    protocol = config.eval.validation_protocol

    def score(step, state, predict_fn, run_log):
        predict_batch = fold.batch_predictor(predict_fn, state, mesh, config.train.batch_size)
        scores, _ = evaluate.evaluate(config, builder, predict_batch, train_subjects, validation_subjects,
                                      protocols=(protocol,), motions=motions["motions"])
        spearman = scores[protocol]["model"]["spearman"]
        run_log.scalars(step, {"spearman": spearman, "kendall": scores[protocol]["model"]["kendall"]},
                        prefix=f"validation/{protocol}")
        return spearman, f"{protocol} Spearman {spearman:.3f}"

    return fold.Validation("validation_spearman", score)


def run_fold(config, workdir: str, builder, train_subjects: list[str], test_subjects: list[str]) -> dict:
    """Trains on `train_subjects` (less any validation subjects), tests on `test_subjects`."""
    os.makedirs(workdir, exist_ok=True)
    train_subjects, validation_subjects = fold.split_validation(config, train_subjects, test_subjects)
    config = clips.record_dataset_facts(config, builder, train_subjects)
    d = config.data
    mesh = sharding.data_mesh()
    flow = config.model.get("inputs", "frames") == "flow"     # runs saved before the field read frames
    motions = {"motions": None}     # a flow run's region motion, once the run is opened (not before it is refused)

    def batches(start_step, run_log):
        if flow:
            motions["motions"] = clips.clip_motions(config, builder,
                                                    train_subjects + validation_subjects + test_subjects, span="clip")
            clips.log_motions(run_log.text, motions["motions"], d)
        windows = clips.clip_batches(config, builder, train_subjects, start_step, decode=not flow)
        return clips.flow_batches(windows, motions["motions"], config, start_step) if flow else windows

    trained = fold.train(
        config, workdir, TASK, TASK.example_input(config), batches,
        to_device=lambda batch: sharding.shard_batch({"frames": batch["frames"], "targets": batch["targets"]}, mesh),
        example_ids=clips.clip_ids, mesh=mesh, pretrained=not flow,   # the flow stem has no pretrained weights
        validation=(_validation(config, builder, train_subjects, validation_subjects, mesh, motions)
                    if validation_subjects else None))
    state, selected = fold.select_checkpoint(config, trained)
    run_log = trained.run_log
    scores, panels = evaluate.evaluate(
        config, builder, fold.batch_predictor(trained.predict_fn, state, mesh, config.train.batch_size),
        train_subjects, test_subjects, motions=motions["motions"])
    _log_results(scores, run_log.text)
    for protocol, by_predictor in evaluate.without_per_clip(scores).items():
        for predictor, r in by_predictor.items():
            run_log.scalars(int(state.step), {k: v for k, v in r.items() if isinstance(v, float)},
                            prefix=f"test/{protocol}/{predictor}")
    compilations = fold.count_compilations(trained.step_fn, trained.predict_fn, run_log)
    run_log.close()
    summary = fold.summary(TASK.name, config, state, trained.seconds, compilations, train_subjects, validation_subjects,
                           test_subjects, pseudo_label=d.pseudo_label, evaluated_checkpoint=selected)
    summary.update(scores)
    title = f"{d.name} ({config.variant}), held-out subjects, step {int(state.step)}"
    fold.finish(workdir, summary, {"curves.png": lambda path: plots.plot_curves(path, panels, title)})
    logging.info("Fold done: %s.", workdir)
    return summary
