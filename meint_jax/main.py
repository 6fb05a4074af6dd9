"""Entry point: `python -m meint_jax.main --config=configs/synthetic.py --workdir=DIR`."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up banner.
if __name__ == "__main__":
    from meint_jax import allocator

    allocator.preload_tcmalloc()  # First of all: it restarts this command on tcmalloc (allocator.py says why).

from absl import app, flags, logging
from ml_collections import config_flags

from meint_jax import console, pretrained, train, validation

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/synthetic.py[:variant].",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics.json and plots.")
flags.DEFINE_bool("distributed", False, "Multi-host (GPU clusters, TPU pods): call jax.distributed.initialize() "
                  "first; every process runs this same command and feeds its own rows of each batch.")
flags.mark_flags_as_required(["config", "workdir"])


def parse_flags(argv):
    """absl's flag parsing, with any error (a bad --config argument included) on one line."""
    try:
        remaining = FLAGS(argv)
        FLAGS.config.to_dict()  # Config files load lazily: load now so errors surface here.
        return remaining
    except (flags.Error, OSError) as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        sys.exit(f"meint_jax: error: {lines[-1] if lines else e}")
    except (AttributeError, KeyError) as e:
        sys.exit(f"meint_jax: error: a --config.* override names a field the config does not have: {e}")


def main(argv):
    del argv
    console.quiet_library_logs()
    if FLAGS.distributed:
        import jax

        jax.distributed.initialize()
    try:
        train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
    except (validation.ConfigError, pretrained.PretrainedError, train.TrainingDiverged) as e:
        logging.flush()
        sys.exit(f"meint_jax: error: {e}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
