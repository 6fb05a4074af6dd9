"""Orbax checkpoints of the training state: the only module that imports orbax or knows its files.

Saves are atomic (orbax writes to a temporary directory and renames it), so a
run killed mid-save leaves the previous checkpoint intact and resumes from it.
The config travels with every checkpoint, so a checkpoint alone says how to
rebuild its model; inference reads a checkpoint's config and weights (never
the optimiser state) with `find_step` and `restore_variables`.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
import sys
import warnings
from typing import Any

import jax
import orbax.checkpoint as ocp
from absl import logging

from meint_jax.common import files
from meint_jax.common.errors import UserError, first_line

STATE, CONFIG = "state", "config"   # the items of every checkpoint


class CheckpointError(UserError):
    """A path is not a usable meint-jax checkpoint; the message names it and says why."""


# Saves run in the caller's thread: a failure (a full disk) is one exception where it happens, instead of
# tracebacks from orbax's background threads; a save of the 8x16x224 state takes about a second here.
ASYNC_SAVES = False

# What saving a checkpoint can raise (tensorstore's errors are ValueErrors). Reading can raise anything:
# orbax wraps some tensorstore errors in a bare `Exception`, so restores catch `Exception` and name its cause.
READ_ERRORS = (ValueError, OSError, KeyError)
# The marks of files deleted, truncated or corrupted: tensorstore's status codes, and JSON that no longer parses
# (FAILED_PRECONDITION is how tensorstore reports a compressed chunk cut short).
DAMAGE_CODES = ("NOT_FOUND", "OUT_OF_RANGE", "DATA_LOSS", "FAILED_PRECONDITION")


def _chain(error: BaseException):
    """The error and the errors it was raised from, outermost first."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def is_damage(error: Exception) -> bool:
    """Whether a read error says the checkpoint's files are damaged (not a passing I/O error, not a model
    that no longer fits): only then is a step set aside."""
    return any(isinstance(e, (json.JSONDecodeError, FileNotFoundError)) or any(code in str(e) for code in DAMAGE_CODES)
               for e in _chain(error))


def reason(error: BaseException) -> str:
    """One short line for a read error: the innermost tensorstore status where there is one (orbax's own
    wrapper says only "Encountered error while reading array index"), without its pages of spec."""
    status = [e for e in _chain(error) if any(code in str(e) for code in DAMAGE_CODES + ("UNAVAILABLE",))]
    text = first_line(status[-1] if status else error, limit=10_000)
    return text.split(" [tensorstore_spec")[0][:300]


def _quiet_orphaned_reads(unraisable) -> None:
    """When one array of a restore fails, orbax closes its event loop while tensorstore's other reads are
    still finishing; each then reports "Event loop is closed" (hundreds of tracebacks burying the one line
    that matters). Those reports, and only those, are dropped."""
    if isinstance(unraisable.exc_value, RuntimeError) and "Event loop is closed" in str(unraisable.exc_value):
        return
    _default_unraisablehook(unraisable)


def _abandon_pending_writes() -> None:
    """After a failed save, orbax's other writes fail too and are reported as the process ends ("exception
    was never retrieved", "coroutine ... was never awaited"): the save's own error says it all."""
    import logging as pylogging

    pylogging.getLogger("asyncio").disabled = True
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited")


def _abandon_pending_reads() -> None:
    """After a failed restore, from then on: the reads it left behind report nothing (`_quiet_orphaned_reads`)."""
    if sys.unraisablehook is not _quiet_orphaned_reads:
        sys.unraisablehook = _quiet_orphaned_reads
    warnings.filterwarnings("ignore", message="coroutine '_read_array_index_and_device_put' was never awaited")


_default_unraisablehook = sys.unraisablehook


class Checkpointer:
    """Keeps the latest `max_to_keep` checkpoints of a run under `directory`.

    With `best_metric`, keeps instead the `max_to_keep` with the highest value of
    that metric (saves must then pass `metrics`).
    """

    def __init__(self, directory: str, max_to_keep: int = 3, best_metric: str | None = None):
        self.directory = os.path.abspath(directory)
        self._best_metric = best_metric
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                               enable_async_checkpointing=ASYNC_SAVES)
        if best_metric:
            options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, best_mode="max",
                                                   best_fn=lambda metrics: metrics[best_metric],
                                                   enable_async_checkpointing=ASYNC_SAVES)
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=(STATE, CONFIG))

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def best(self) -> tuple[int, float] | None:
        """(step, metric value) of the best checkpoint kept, for a `best_metric` checkpointer."""
        self._manager.wait_until_finished()  # A pending save's metrics are not readable before.
        step = self._manager.best_step()
        if step is None:
            return None
        return step, float(self._manager.metrics(step)[self._best_metric])

    def step_dir(self, step: int) -> str:
        return os.path.join(self.directory, str(step))

    def save(self, step: int, state: Any, config: dict, metrics: dict | None = None) -> None:
        """Saves `state` and `config` as step `step`; a failed save leaves the last good checkpoint as it was."""
        last = self.latest_step()
        try:
            self._manager.save(step, args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config)), metrics=metrics, force=True)
        except READ_ERRORS as e:
            _abandon_pending_writes()
            for partial in glob.glob(f"{self.step_dir(step)}.orbax-checkpoint-tmp*"):
                shutil.rmtree(partial, ignore_errors=True)   # what the failed save wrote, to give the space back
            full = getattr(e, "errno", None) == errno.ENOSPC or "No space left on device" in str(e)
            kept = f"the last good checkpoint, {self.step_dir(last)}, is kept" if last is not None else "none saved yet"
            raise CheckpointError(f"{self.directory}: " + ("the disk is full" if full else first_line(e))
                                  + f" while saving step {step}; {kept}"
                                  + (": free some space and rerun the same command to resume" if full else "")) from e

    def saved_config(self) -> dict | None:
        """The config saved with the newest checkpoint whose config reads; None when there is no checkpoint.

        A step whose config file is damaged is set aside (`restore` says how); when
        every step was, the run must not quietly start over: CheckpointError.
        """
        steps = sorted(self._manager.all_steps(), reverse=True)
        for step in steps:
            try:
                return self._manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore())).config
            except Exception as e:  # noqa: BLE001  (see READ_ERRORS)
                _abandon_pending_reads()
                self._set_aside_or_raise(step, e)
        if steps:
            raise self._none_left()
        return None

    def restore(self, abstract_state: Any, step: int | None = None) -> tuple[Any, dict]:
        """(state, config) at `step`, laid out like `abstract_state`; by default the newest intact checkpoint.

        A newer checkpoint whose files are damaged (deleted, truncated: `is_damage`)
        is named in a warning and set aside as `<step>.damaged`, and the one before
        is restored. Any other read error (a passing I/O error, a state that does
        not fit) stops with CheckpointError and renames nothing. `abstract_state`
        must come from the checkpoint's own config (`saved_config`).
        """
        if step is not None:
            try:
                return self._restore(abstract_state, step)
            except Exception as e:  # noqa: BLE001  (see READ_ERRORS)
                _abandon_pending_reads()
                raise CheckpointError(f"{self.step_dir(step)}: cannot be restored ({reason(e)})") from e
        for step in sorted(self._manager.all_steps(), reverse=True):
            try:
                return self._restore(abstract_state, step)
            except Exception as e:  # noqa: BLE001  (see READ_ERRORS)
                _abandon_pending_reads()
                self._set_aside_or_raise(step, e)
        raise self._none_left()

    def _restore(self, abstract_state: Any, step: int) -> tuple[Any, dict]:
        restored = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_state), config=ocp.args.JsonRestore()))
        return restored.state, restored.config

    def _none_left(self) -> CheckpointError:
        return CheckpointError(f"{self.directory}: no intact checkpoint left (the damaged ones are set aside as "
                               "*.damaged): move the folder away to start over")

    def _set_aside_or_raise(self, step: int, error: Exception) -> None:
        """Renames a damaged step out of the manager's sight (nothing is deleted); raises for other errors.

        Process 0 renames (multi-host runs share the folder); every process then looks again.
        """
        if not is_damage(error):
            raise CheckpointError(f"{self.step_dir(step)}: cannot be read ({reason(error)}); nothing was "
                                  "changed: retry, or look at that folder") from error
        aside = f"{self.step_dir(step)}.damaged"
        suffix = 1
        while os.path.exists(aside):
            aside, suffix = f"{self.step_dir(step)}.damaged.{suffix}", suffix + 1
        logging.warning("%s is damaged (%s): set aside as %s; using the checkpoint before it",
                        self.step_dir(step), reason(error), aside)
        if jax.process_index() == 0:
            os.rename(self.step_dir(step), aside)
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            multihost_utils.sync_global_devices(f"set aside {self.step_dir(step)}")
        self._manager.reload()

    def close(self) -> None:
        """Waits for pending asynchronous saves; call before the process exits."""
        self._manager.wait_until_finished()
        self._manager.close()


def save_tree(path: str, tree: Any) -> None:
    """Writes one pytree of arrays (e.g. converted pretrained weights) as an orbax checkpoint."""
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(os.path.abspath(path), tree)
    checkpointer.wait_until_finished()


def load_tree(path: str) -> Any:
    """Reads a pytree written by `save_tree`, as host arrays."""
    return ocp.StandardCheckpointer().restore(os.path.abspath(path))


def _checkpoint_dir(path: str) -> str:
    """The CheckpointManager directory for a workdir, its checkpoints/ folder, or a step folder."""
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(path):
        raise CheckpointError(f"{path}: no such checkpoint directory")
    if os.path.isdir(os.path.join(path, "checkpoints")):
        return os.path.join(path, "checkpoints")
    return path


def find_step(path: str, step: int | None = None) -> tuple[str, dict, int]:
    """(step folder, training config dict, step) of a training workdir, its checkpoints/ folder or a
    step folder (default: the latest step); the step is -1 for a step folder not named by its number."""
    directory = _checkpoint_dir(path)
    step_dir = directory
    if not os.path.isdir(os.path.join(directory, STATE)):
        steps = sorted(int(n) for n in os.listdir(directory) if n.isdigit()
                       and os.path.isdir(os.path.join(directory, n, STATE)))
        if not steps:
            raise CheckpointError(f"{directory}: no meint-jax checkpoint here (expected a training workdir, its "
                                  "checkpoints/ folder, or one step folder of it)")
        if step is not None and step not in steps:
            raise CheckpointError(f"{directory}: no checkpoint at step {step}; steps saved: {steps}")
        step_dir = os.path.join(directory, str(step if step is not None else steps[-1]))
    config_path = os.path.join(step_dir, CONFIG, "metadata")   # where orbax's JsonSave puts it
    if not os.path.isfile(config_path):
        raise CheckpointError(f"{step_dir}: the checkpoint has no training config, so it is not a meint-jax "
                              "training checkpoint (an encoder converted by meint_jax.convert_weights is used "
                              "through config.model.init_from, not for prediction)")
    config = files.read_json(config_path, CheckpointError, "a damaged checkpoint config",
                             "an earlier step can be chosen with --step")
    name = os.path.basename(step_dir)
    return step_dir, config, int(name) if name.isdigit() else -1


def restore_variables(step_dir: str, target: dict) -> dict:
    """The items of `target` ({"params", "batch_stats"} of abstract arrays) from a step folder, on this
    host's first device, whatever layout they were saved from."""
    sharding = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    restore_args = jax.tree_util.tree_map(
        lambda x: ocp.ArrayRestoreArgs(sharding=sharding, global_shape=x.shape, dtype=x.dtype), target)
    try:
        restored = ocp.PyTreeCheckpointer().restore(
            os.path.join(step_dir, STATE),
            args=ocp.args.PyTreeRestore(item=target, restore_args=restore_args, partial_restore=True))
    except Exception as e:  # noqa: BLE001  (see READ_ERRORS)
        _abandon_pending_reads()
        raise CheckpointError(f"{step_dir}: the saved weights cannot be read, or do not fit the model its config "
                              f"describes ({reason(e)}); an earlier step can be chosen with --step") from e
    got = dict(jax.tree_util.tree_leaves_with_path(restored))
    for path, leaf in jax.tree_util.tree_leaves_with_path(target):
        if path not in got:
            raise CheckpointError(f"{step_dir}: the checkpoint lacks {jax.tree_util.keystr(path)}")
        if tuple(got[path].shape) != tuple(leaf.shape):
            raise CheckpointError(f"{step_dir}: {jax.tree_util.keystr(path)} has shape {tuple(got[path].shape)}, "
                                  f"the model expects {tuple(leaf.shape)}: a checkpoint of another architecture")
    return restored
