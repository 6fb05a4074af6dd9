"""The task-free training engine every task's fold runs on.

- `state.py`: TrainState, the optimiser, the finite-guarded update, `jit_steps` (no TensorFlow).
- `fit.py`: the one loop (steps, logs, checkpoints, the NaN guard, resumption).
- `run.py`: the one fold skeleton (subjects, train or resume, best checkpoint, summary, metrics.json).
- `loso.py`: leave-one-subject-out folds, a subset per machine, every finished fold pooled into results.json.
- `checkpoint.py`: orbax (its only user). `sharding.py`: the data-parallel mesh. `run_log.py`: TensorBoard,
  console, train_log.jsonl, train.log. `config_checks.py`: settings that cannot work, in one line.
- `losses.py`: the losses more than one task uses (weighted emotion cross-entropy).

Imports `common`, `data`, `models`, `metrics` and `data_builders.lookup`; never `inference` or `tasks`
(a task hands in its steps).
"""
