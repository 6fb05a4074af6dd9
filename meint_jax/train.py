"""Training and evaluation: `train_and_evaluate(config, workdir)`.

Pure, jit-compiled `train_step` and `predict_step` over a plain pytree state,
data-parallel over a device mesh; the loop around them feeds batches, logs
(TensorBoard, train.log, train_log.jsonl), checkpoints (the latest few and
the best on validation subjects), stops on a non-finite loss, and at the end
evaluates the model and the position prior on held-out subjects in both
protocols, writing `metrics.json` and `curves.png`. `config.eval.protocol`
chooses one subject-disjoint hold-out or leave-one-subject-out (protocols.py).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax
from absl import logging
from tqdm import tqdm

from meint_jax import allocator, checkpoint, evaluation, losses, plots, sharding, validation, xla_options
from meint_jax.models import create_model

@flax.struct.dataclass
class TrainState:
    step: jnp.ndarray
    params: Any
    batch_stats: Any
    opt_state: Any


def create_optimizer(train_config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    lr = train_config.learning_rate
    if train_config.schedule == "cosine":
        schedule = optax.warmup_cosine_decay_schedule(
            0.0, lr, max(train_config.warmup_steps, 1), max(train_config.num_steps, 2))
    elif train_config.warmup_steps:
        schedule = optax.join_schedules(
            [optax.linear_schedule(0.0, lr, train_config.warmup_steps), optax.constant_schedule(lr)],
            [train_config.warmup_steps])
    else:
        schedule = lr
    return optax.adam(schedule)


def init_state(model, tx, frames_shape, seed: int) -> TrainState:
    variables = jax.jit(functools.partial(model.init, train=False))(
        jax.random.PRNGKey(seed), jnp.zeros(frames_shape, jnp.uint8))
    params = variables["params"]
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      batch_stats=variables["batch_stats"], opt_state=tx.init(params))


def load_pretrained_encoder(state: TrainState, tx, init_from: str | None) -> TrainState:
    """The state with the encoder's weights from `init_from` (for a run that starts, not resumes)."""
    from meint_jax import pretrained

    if not init_from:
        logging.warning("config.model.init_from is unset: the encoder starts from random initialisation "
                        "(the paper starts from ImageNet weights).")
        return state
    path = os.path.expanduser(init_from)
    variables = pretrained.merge_encoder({"params": state.params, "batch_stats": state.batch_stats},
                                         pretrained.load_encoder_weights(path), path)
    return state.replace(params=variables["params"], batch_stats=variables["batch_stats"],
                         opt_state=tx.init(variables["params"]))


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the message names the step, the clips and the last good checkpoint."""


def train_step(state: TrainState, batch: dict, *, model, tx, loss_config) -> tuple[TrainState, dict]:
    """One Adam step on the loss of DESIGN.md: MSE + smoothness + apex ranking.

    A step whose loss or gradient is not finite changes nothing and reports
    `finite` 0, so the state the loop stops with is the last good one.
    """

    def loss_fn(params):
        pred, updates = model.apply({"params": params, "batch_stats": state.batch_stats},
                                    batch["frames"], train=True, mutable=["batch_stats"])
        pred = pred[0]
        loss, terms = losses.total_loss(pred, batch["targets"], loss_config.smooth_weight,
                                        loss_config.rank_weight, loss_config.rank_margin)
        return loss, (terms, updates["batch_stats"])

    (loss, (terms, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    grad_norm = optax.global_norm(grads)
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    new_state = TrainState(step=state.step + 1, params=params, batch_stats=batch_stats, opt_state=opt_state)
    new_state = jax.tree_util.tree_map(lambda new, old: jnp.where(finite, new, old), new_state, state)
    return new_state, dict(terms, loss=loss, grad_norm=grad_norm, finite=finite)


def predict_step(state: TrainState, frames: jnp.ndarray, *, model) -> jnp.ndarray:
    pred, _ = model.apply({"params": state.params, "batch_stats": state.batch_stats}, frames, train=False)
    return pred


def jit_steps(model, tx, config: ml_collections.ConfigDict, *, out_sharding=None, donate: bool = True):
    """(train step, forward pass), jit-compiled with `xla_options` for `config.train.cpu_convolutions`.

    The train step donates the state (`donate=True`; the caller must use the returned one). With
    `out_sharding` both steps place their outputs there (train_and_evaluate: replicated over the mesh).
    The benchmarks build theirs here too, so they time the program training runs.
    """
    placed = lambda outputs: {} if out_sharding is None else {"out_shardings": outputs}
    cpu_convolutions = config.train.cpu_convolutions
    step_fn = jax.jit(functools.partial(train_step, model=model, tx=tx, loss_config=config.loss),
                      compiler_options=xla_options.step_options(cpu_convolutions, step="train"),
                      donate_argnums=0 if donate else (), **placed((out_sharding, out_sharding)))
    predict_fn = jax.jit(functools.partial(predict_step, model=model), **placed(out_sharding),
                         compiler_options=xla_options.step_options(cpu_convolutions, step="predict"))
    return step_fn, predict_fn


def _write_atomically(path: str, text: str) -> None:
    """Writes `text` to `path` through a temporary file, so a crash never leaves half a file."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _log_results(results: dict, log) -> None:
    for protocol, by_predictor in results.items():
        for predictor, r in by_predictor.items():
            truth = f", vs truth {r['true_spearman']:.3f}/{r['true_kendall']:.3f}" if "true_spearman" in r else ""
            paired = r.get("vs_prior", {}).get("spearman")
            versus = (f"; better than the prior on {paired['clips_better']}/{r['num_clips']} clips, "
                      f"Wilcoxon p={paired['wilcoxon_p']:.2g}") if paired else ""
            log("%-9s %-14s Spearman/Kendall %.3f/%.3f%s (%d clips)%s", protocol, predictor,
                r["spearman"], r["kendall"], truth, r["num_clips"], versus)



def _record_dataset_facts(config, builder, train_subjects):
    """A copy of `config` with what prediction on new video needs to know of the training data."""
    from meint_jax import input_pipeline

    config = copy.deepcopy(config)
    stored = builder.info.features["frames"].shape[1]
    if config.data.frame_size not in (None, stored):
        raise validation.ConfigError(f"config.data.frame_size={config.data.frame_size} but {builder.info.full_name} "
                                     f"stores {stored}px frames: leave data.frame_size unset")
    config.data.frame_size = stored
    if config.data.expression_frames is None:
        config.data.expression_frames = input_pipeline.expression_frames(builder, train_subjects)
    return config


def _augmentation(data_config):
    from meint_jax import input_pipeline

    return input_pipeline.Augmentation(flip=data_config.flip, min_crop=data_config.min_crop,
                                       brightness=data_config.brightness, contrast=data_config.contrast)


class _RunLog:
    """What a run reports, kept in its workdir (process 0 writes): train_log.jsonl (training scalars),
    TensorBoard events, and train.log, plain text: steps, validation, results, errors."""

    def __init__(self, workdir: str, start_step: int):
        self.enabled = jax.process_index() == 0
        self._jsonl = os.path.join(workdir, "train_log.jsonl")
        self._text = os.path.join(workdir, "train.log")
        self._writer = None
        if not self.enabled:
            return
        if os.path.exists(self._jsonl):  # A resumed run redoes the steps after its checkpoint.
            with open(self._jsonl) as f:
                kept = [line for line in f if line.strip() and json.loads(line)["step"] <= start_step]
            _write_atomically(self._jsonl, "".join(kept))
        from flax.metrics import tensorboard

        self._writer = tensorboard.SummaryWriter(os.path.join(workdir, "tensorboard"))

    def text(self, message: str, *args) -> None:
        """A line in train.log and in the console log."""
        logging.info(message, *args)
        if self.enabled:
            with open(self._text, "a") as f:
                f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message % args}\n")

    def scalars(self, step: int, values: dict, prefix: str = "train") -> None:
        if not self.enabled:
            return
        for name, value in values.items():
            self._writer.scalar(f"{prefix}/{name}", value, step)
        self._writer.flush()
        if prefix == "train":
            with open(self._jsonl, "a") as f:
                f.write(json.dumps({"step": step, **values}) + "\n")
            with open(self._text, "a") as f:
                f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} step {step}: "
                        + ", ".join(f"{k} {v:.5g}" for k, v in values.items()) + "\n")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains and evaluates by `config.eval.protocol`; returns metrics.json's (or results.json's) content."""
    from meint_jax import datasets, input_pipeline, protocols

    validation.check_config(config)
    workdir = validation.prepare_workdir(workdir)
    if jax.default_backend() == "cpu" and allocator.current() == "glibc":
        logging.warning("On glibc's malloc, XLA:CPU faults in fresh memory every step (0.5-0.9 s of kernel time "
                        "per 8x16x112 train step). "
                        "With tcmalloc installed (apt install libtcmalloc-minimal4) the command runs on it "
                        "(meint_jax/allocator.py).")
    builder = datasets.get_builder(config.data)
    subjects = input_pipeline.list_subjects(builder)
    if config.eval.protocol == "loso":
        return protocols.run_loso(config, workdir, builder, subjects, run_fold)
    try:
        train_subjects, test_subjects = input_pipeline.split_subjects(
            subjects, config.eval.holdout_subjects, config.seed)
    except ValueError as e:
        raise validation.ConfigError(str(e)) from e
    return run_fold(config, workdir, builder, train_subjects, test_subjects)


def run_fold(config, workdir: str, builder, train_subjects: list[str], test_subjects: list[str]) -> dict:
    """Trains on `train_subjects` (less any validation subjects), tests on `test_subjects`."""
    from meint_jax import input_pipeline

    os.makedirs(workdir, exist_ok=True)
    validation_subjects = []
    if config.eval.validation_subjects:
        try:
            train_subjects, validation_subjects = input_pipeline.split_subjects(
                train_subjects, config.eval.validation_subjects, config.seed + 1)
        except ValueError as e:
            raise validation.ConfigError(f"config.eval.validation_subjects: {e}") from e
    logging.info("Subjects: %d train, %d validation, %d test (%s).", len(train_subjects), len(validation_subjects),
                 len(test_subjects), ", ".join(test_subjects))
    config = _record_dataset_facts(config, builder, train_subjects)
    t = config.train
    ckpt = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=t.keep_checkpoints)
    if ckpt.latest_step() is not None:
        validation.check_same_run(workdir, config)
    if jax.process_index() == 0:
        _write_atomically(os.path.join(workdir, "config.json"), config.to_json_best_effort(indent=2))

    mesh = sharding.data_mesh()
    model = create_model(config.model)
    tx = create_optimizer(config.train)
    d = config.data
    state = init_state(model, tx, (1, d.num_steps, d.image_size, d.image_size, 3), config.seed)
    best_ckpt = None
    if validation_subjects:
        best_ckpt = checkpoint.Checkpointer(os.path.join(workdir, "best"), max_to_keep=1,
                                            best_metric="validation_spearman")
    if ckpt.latest_step() is not None:
        state, _ = ckpt.restore(state)
    else:
        state = load_pretrained_encoder(state, tx, config.model.init_from)
    state = sharding.replicate(state, mesh)
    start_step = int(state.step)

    step_fn, predict_fn = jit_steps(model, tx, config, out_sharding=sharding.replicated(mesh))
    batches = input_pipeline.train_batches(
        builder, train_subjects, evaluation.window_spec(config, d.train_window, d.jitter), batch_size=t.batch_size,
        image_size=d.image_size, label_shape=d.pseudo_label, augment=_augmentation(d), seed=config.seed,
        start_step=start_step, process_index=jax.process_index(), process_count=jax.process_count())
    run_log = _RunLog(workdir, start_step)
    if start_step:
        run_log.text("resumed from %s", ckpt.step_dir(start_step))

    def check_finite(step, finite, clip_ids):
        if not bool(finite):
            last = ckpt.latest_step()
            message = (
                f"the loss became NaN or infinite at step {step}, on clips {', '.join(c.decode() for c in clip_ids)}; "
                f"stopped without applying that step. Last good checkpoint: "
                f"{ckpt.step_dir(last) if last is not None else 'none (no checkpoint yet)'}. Rerunning resumes "
                "from it; lower --config.train.learning_rate or check those clips.")
            run_log.text("%s", message)
            raise TrainingDiverged(message)

    train_start = time.time()
    progress = tqdm(range(start_step, t.num_steps), initial=start_step, total=t.num_steps, desc="train",
                    unit="step", dynamic_ncols=True, disable=jax.process_index() != 0)
    pending = None
    try:
        for step in progress:
            batch = next(batches)
            state, step_metrics = step_fn(state, sharding.shard_batch(
                {"frames": batch["frames"], "targets": batch["targets"]}, mesh))
            if pending is not None:  # Checked one step late, so the host never waits on the device here.
                check_finite(*pending)
            pending = (step + 1, step_metrics["finite"], batch["clip_id"])
            done = step + 1 == t.num_steps
            if (step + 1) % t.log_every == 0 or done:
                check_finite(*pending)
                values = {k: float(v) for k, v in jax.device_get(step_metrics).items() if k != "finite"}
                progress.set_postfix(loss=f"{values['loss']:.4f}")
                run_log.scalars(step + 1, values)
            if (step + 1) % t.checkpoint_every == 0 or done:
                check_finite(*pending)
                ckpt.save(step + 1, state, config.to_dict())
                if best_ckpt is not None:
                    _validate(config, builder, predict_fn, state, train_subjects, validation_subjects, mesh,
                              best_ckpt, run_log, step + 1)
        if pending is not None:
            check_finite(*pending)
    finally:
        progress.close()
        ckpt.close()
        if best_ckpt is not None:
            best_ckpt.close()
    train_seconds = time.time() - train_start

    selected = "last"
    if config.eval.select == "best" and best_ckpt is not None and best_ckpt.best() is not None:
        best_step, _ = best_ckpt.best()
        state, _ = best_ckpt.restore(state, best_step)
        selected = f"best (step {best_step})"
    results, panels = evaluation.evaluate(config, builder, predict_fn, state, train_subjects, test_subjects, mesh)
    _log_results(results, run_log.text)
    for protocol, by_predictor in evaluation.without_per_clip(results).items():
        for predictor, r in by_predictor.items():
            run_log.scalars(int(state.step), {k: v for k, v in r.items() if isinstance(v, float)},
                            prefix=f"test/{protocol}/{predictor}")
    compilations = {"train_step": step_fn._cache_size(), "predict_step": predict_fn._cache_size()}
    if max(compilations.values()) > 1:
        run_log.text("warning: a step was compiled more than once (%s): some input changed shape or type",
                     compilations)
    run_log.close()
    summary = {
        "dataset": d.name, "variant": config.variant, "pseudo_label": d.pseudo_label,
        "train_steps": int(state.step), "evaluated_checkpoint": selected, "compilations": compilations,
        "train_seconds_this_run": round(train_seconds, 1), "train_subjects": train_subjects,
        "validation_subjects": validation_subjects, "test_subjects": test_subjects, **results,
    }
    if jax.process_index() == 0:
        _write_atomically(os.path.join(workdir, "metrics.json"), json.dumps(summary, indent=2))
        plots.plot_curves(os.path.join(workdir, "curves.png"), panels,
                          f"{d.name} ({config.variant}), held-out subjects, step {int(state.step)}")
        logging.info("Wrote %s and %s.", os.path.join(workdir, "metrics.json"), os.path.join(workdir, "curves.png"))
    return summary


def _validate(config, builder, predict_fn, state, train_subjects, validation_subjects, mesh, best_ckpt, run_log,
              step: int) -> None:
    """Scores the model on the validation subjects and keeps the checkpoint if it is the best so far."""
    protocol = config.eval.validation_protocol
    results, _ = evaluation.evaluate(config, builder, predict_fn, state, train_subjects, validation_subjects, mesh,
                                     protocols=(protocol,))
    score = results[protocol]["model"]["spearman"]
    run_log.scalars(step, {"spearman": score, "kendall": results[protocol]["model"]["kendall"]},
                    prefix=f"validation/{protocol}")
    best_ckpt.save(step, state, config.to_dict(), metrics={"validation_spearman": score})
    best = best_ckpt.best()
    run_log.text("step %d: validation %s Spearman %.3f (best %.3f at step %d)", step, protocol, score,
                 best[1] if best else score, best[0] if best else step)
