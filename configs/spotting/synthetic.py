"""Spotting on the embedded synthetic long videos: the README's spotting command, CPU-sized.

    python -m meint_jax.main --config=configs/spotting/synthetic.py --workdir=/tmp/meint-spot

Args: `variant=` as in `configs/spotting/base.py`; `size=tiny` a seconds-long smoke run (tests);
`inputs=frames` trains ResNet18 on the face frames (synthetic_long/default_frames) instead of the flow
features (`inputs=flow`, the default); `data=hard` the videos whose emotions are drawn as synthetic_me/hard's are
(synthetic_long/hard: CASME II's imbalance, shared AU sets, per-subject AU styles, 5% label noise), so
F1_analysis and STRS no longer saturate; flow features only. `features=paper` trains on paper 002's own flow
features (synthetic_long/features_paper, or hard_features_paper with `data=hard`; the default under
`variant=paper`, `features=ours` keeps ours there).
"""

from configs import common
from configs.spotting import base

# data= -> size= -> the synthetic_long config; `default` keeps the sizes' own below.
DATASETS = {"hard": {"default": "synthetic_long/hard", "tiny": "synthetic_long/hard_tiny"}}
# features=paper -> data= -> size= -> the synthetic_long config holding paper 002's flow features.
PAPER_FEATURES = {"default": {"default": "synthetic_long/features_paper", "tiny": "synthetic_long/tiny_features_paper"},
                  "hard": {"default": "synthetic_long/hard_features_paper",
                           "tiny": "synthetic_long/hard_tiny_features_paper"}}
FEATURES = ("ours", "paper")


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", size="default", inputs="flow", data="default", features="")
    features = args.features or ("paper" if (args.variant, args.inputs) == ("paper", "flow") else "ours")
    if features not in FEATURES:
        raise ValueError(f"unknown features {features!r}; use one of {FEATURES}")
    config = base.get_config()
    config.data.name = "synthetic_long/default"
    # A CPU-sized slow-fast network: paper 002's shape (two paths, laterals), a quarter of its width.
    config.model.stem_features = 32
    config.model.slow_features = 64
    config.model.layers_per_stage = 1
    config.model.d_state = 16
    config.eval.protocol = "holdout"
    config.eval.holdout_subjects = 5
    config.eval.validation_subjects = 3
    config.train.batch_size = 16
    config.train.num_steps = 1500
    config.train.learning_rate = 1e-3
    config.train.warmup_steps = 100
    config.train.log_every = 50
    config.train.checkpoint_every = 500
    if args.size == "tiny":
        config.data.name = "synthetic_long/tiny"
        config.data.window = 16
        config.model.stem_features = 8
        config.model.slow_features = 8
        config.model.stages = 2
        config.model.lateral_after = (1,)
        config.model.d_state = 4
        config.model.gru_features = 8
        config.eval.validation_subjects = 1
        config.eval.chance_runs = 3
        config.eval.timelines = 1
        common.tiny_training(config)
    elif args.size != "default":
        raise ValueError(f"unknown size {args.size!r}; use 'default' or 'tiny'")
    if args.inputs == "frames":     # paper 001's ResNet18 on the face frames instead of flow features
        config.model.inputs = "frames"
        config.data.name += "_frames"
    elif args.inputs != "flow":
        raise ValueError(f"unknown inputs {args.inputs!r}; use 'flow' or 'frames'")
    if args.data in DATASETS:
        if args.inputs != "flow":
            raise ValueError(f"data={args.data} has flow features only: use inputs=flow")
        config.data.name = DATASETS[args.data][args.size]
    elif args.data != "default":
        raise ValueError(f"unknown data {args.data!r}; use 'default' or one of {sorted(DATASETS)}")
    if features == "paper":
        if args.inputs != "flow":
            raise ValueError("features=paper: paper 002's flow features replace ours, so inputs=flow only")
        config.data.name = PAPER_FEATURES[args.data][args.size]
    return base.apply_variant(config, args.variant)
