"""What a run reports, kept in its workdir by process 0.

TensorBoard events and console log lines through `clu.metric_writers` (as
flax's examples do); beside them two files of our own: `train_log.jsonl`
(one JSON line of training scalars per logged step, for scripts) and
`train.log` (plain text: steps, validation, results, errors).
"""

from __future__ import annotations

import json
import os
import time

import jax
from absl import logging
from clu import metric_writers

from meint_jax.common import files


class RunLog:
    def __init__(self, workdir: str, start_step: int):
        self.enabled = jax.process_index() == 0
        self._jsonl = os.path.join(workdir, "train_log.jsonl")
        self._text = os.path.join(workdir, "train.log")
        if self.enabled and os.path.exists(self._jsonl):  # A resumed run redoes the steps after its checkpoint.
            kept = []
            with open(self._jsonl) as f:
                for line in f:
                    try:
                        if json.loads(line)["step"] <= start_step:
                            kept.append(line)
                    except (json.JSONDecodeError, KeyError, TypeError):   # the half line of a killed run
                        continue
            files.write_text(self._jsonl, "".join(kept))
        self._writer = metric_writers.create_default_writer(
            os.path.join(workdir, "tensorboard"), just_logging=not self.enabled, asynchronous=False)

    def _append(self, path: str, line: str) -> None:
        with open(path, "a") as f:
            f.write(line + "\n")

    def text(self, message: str, *args) -> None:
        """A line in train.log and in the console log."""
        logging.info(message, *args)
        if self.enabled:
            self._append(self._text, f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message % args}")

    def scalars(self, step: int, values: dict, prefix: str = "train") -> None:
        """Scalars as `prefix/name` in TensorBoard and the console; training's also in the two files."""
        self._writer.write_scalars(step, {f"{prefix}/{name}": value for name, value in values.items()})
        self._writer.flush()
        if self.enabled and prefix == "train":
            self._append(self._jsonl, json.dumps({"step": step, **values}))
            self._append(self._text, f"{time.strftime('%Y-%m-%d %H:%M:%S')} step {step}: "
                         + ", ".join(f"{k} {v:.5g}" for k, v in values.items()))

    def close(self) -> None:
        self._writer.close()
