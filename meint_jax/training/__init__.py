"""Training: the state and its pure steps, the one loop, checkpoints, sharding, config checks.

- `steps.py`: TrainState and the jitted train/predict steps (no TensorFlow).
- `losses.py`: MSE, smoothness, apex ranking. `checkpoint.py`: orbax (its only user).
- `sharding.py`: the data-parallel mesh. `config_checks.py`: settings that cannot work.
- `run_log.py`: TensorBoard, console, train_log.jsonl, train.log. `loop.py`: `train_and_evaluate`.

Imports `common`, `data`, `models`, `evaluation` and `data_builders.lookup` (the loop
only); inference imports `steps`/`checkpoint` from here, never the loop.
"""
