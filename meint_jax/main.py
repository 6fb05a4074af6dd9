"""Entry point: `python -m meint_jax.main --config=configs/intensity/synthetic.py --workdir=DIR`.

Parses flags and calls `tasks.train_and_evaluate(config, workdir)` (the config's task runs), as
flax's examples do; any `--config.*` field can be overridden on the command line.
"""

import os

from meint_jax.common import cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up banner.
cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

from absl import flags
from ml_collections import config_flags

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/intensity/synthetic.py[:variant].",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics.json and plots.")
flags.DEFINE_bool("distributed", False, "Multi-host (GPU clusters, TPU pods): call jax.distributed.initialize() "
                  "first; every process runs this same command and feeds its own rows of each batch.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    del argv
    from meint_jax import tasks  # here, not above: a build's worker processes re-import this module

    if FLAGS.distributed:
        import jax

        jax.distributed.initialize()
    tasks.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
    cli.run(main, "meint_jax.main")
