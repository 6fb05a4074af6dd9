"""Every setting of a spotting run (paper 002's task), with paper 002's values where its code gives them.

    python -m meint_jax.main --config=configs/spotting/base.py --workdir=DIR

Dataset configs (`synthetic.py`, `casme3.py`, `samm_lv.py`, `casme_sq.py`) start from `get_config()` here;
`paper_config` holds paper 002's settings on a real long-video dataset. Args: `variant=` one of VARIANTS,
the ablations: `full` (flow stem + slow-fast Mamba network), `bigru` (paper 001's temporal model in its
place), `framewise` (no temporal model), `soft_targets` (a raised-cosine target inside each expression
instead of paper 002's hard 1), `spotting_only` (no emotion head), `separate` (the joint model's two tasks
trained as two models, each for the whole step budget: does sharing help?), `paper` (paper 002's training
choices all at once: `apply_paper`; on a real dataset also its window, sampling, batch, epochs and flow
features, `PaperSettings`).

Each of paper 002's choices is also a setting of its own, ours the default: `model.weight_init='paper'`,
`model.drop_path`, `train.schedule='onecycle'` (torch's OneCycleLR with its beta1 cycle), `loss.class_weights=
'paper'` (scikit-learn's balanced weights x 6 for neutral, from the training windows) with `loss.emotion_reduction=
'mean'` (their cross-entropy's average), `data.macro_frames='neutral'`, `data.window_grid='paper'` (their fixed
set of windows on a k/2 grid), `eval.window_merge='first'` and `eval.decoder='paper'`. Still ours under
`variant=paper` (which trains on `<dataset>/features_paper`, paper 002's flow features, the synthetic data's
too): the augmentation's draw (a continuous U(0.9, 1.1), theirs in steps of 0.01), epochs counted from an estimate of
their windows (`PaperSettings.me_windows`, not from the fold), batches that run on across an epoch's end (theirs
ends each epoch with a short one), every video (theirs drops videos without a micro-expression), intervals
labelled onset to offset (theirs one frame in at each end), and the whole video scored at test time (theirs
stops at its last whole half window).
"""

import dataclasses
import math

import ml_collections
from ml_collections.config_dict import placeholder

from configs import common

VARIANTS = ("full", "bigru", "framewise", "soft_targets", "spotting_only", "separate", "paper")
PAPER_EPOCHS = 50
PAPER_WARMUP = 0.3          # their one-cycle schedule's rising share of the steps (pct_start)


@dataclasses.dataclass(frozen=True)
class PaperSettings:
    """Paper 002's settings that depend on the dataset (their main.py: frame_skip, k, ratio, batch_size), for
    `variant=paper`. Their `ratio` (windows without an ME kept per window with one) is `me_fraction`
    1 / (1 + ratio). `me_windows` estimates how many windows of their grid (k rows every k/2) hold an ME, from
    the dataset's published ME count and typical length: with it their 50 epochs become steps (`steps`)."""

    window: int
    frame_step: int
    batch_size: int
    me_fraction: float
    me_windows: int

    @property
    def steps(self) -> int:
        """50 epochs of every ME window plus their share of windows without one, in batches (the last partial)."""
        return PAPER_EPOCHS * math.ceil(round(self.me_windows / self.me_fraction) / self.batch_size)


def apply_paper(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Paper 002's choices that hold on every dataset: its initialisation and drop-path, its loss (micro-
    expressions only: their labels hold no macro-expression, whose frames are neutral; 0.9 spotting + 0.1
    emotions over four classes with `others`, their class weights and average), Adam at 3e-4 under their
    one-cycle schedule rising over 30% of the steps, their grid of training windows, the first window's
    scores per frame at test time, and its interval selection (fixed p, so no validation subjects: every
    training subject trains)."""
    config.model.weight_init = "paper"
    config.model.drop_path = 0.2
    config.data.target_shape = "hard"
    config.data.feature_scale = 0.1
    config.data.emotion_labels = "three"
    config.data.others = "class"
    config.loss.micro_weight = 1.0
    config.loss.macro_weight = 0.0
    config.loss.spotting_weight = 0.9
    config.loss.emotion_weight = 0.1
    config.data.macro_frames = "neutral"
    config.data.window_grid = "paper"
    config.loss.class_weights = "paper"
    config.loss.emotion_reduction = "mean"
    config.train.learning_rate = 3e-4
    config.train.schedule = "onecycle"
    config.train.warmup_steps = round(PAPER_WARMUP * config.train.num_steps)
    config.eval.window_merge = "first"
    config.eval.decoder = "paper"
    config.eval.paper_samm = False
    config.eval.validation_subjects = 0
    config.eval.emotion_pooling = "vote"
    return config


def apply_variant(config: ml_collections.ConfigDict, variant: str) -> ml_collections.ConfigDict:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    if variant == "paper":
        apply_paper(config)
    elif variant == "bigru":
        config.model.temporal = "bigru"
    elif variant == "framewise":
        config.model.temporal = "none"
    elif variant == "soft_targets":
        config.data.target_shape = "raised_cosine"
    elif variant == "spotting_only":
        config.model.emotion_head = False
    elif variant == "separate":
        config.train.separate = True
    config.variant = variant
    return config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = common.parse_arg(arg, variant="full")
    config = ml_collections.ConfigDict()
    config.task = "spotting"                    # picks the model, the training loop and the metrics
    config.seed = 0
    config.seeds = 1                            # >1: that many runs, seeds 0..N-1, and their summary
    config.variant = "full"

    config.data = common.dataset("synthetic_long/default")   # a long-video dataset
    config.data.window = 50                     # frames per window (paper 002: 50; 30 on SAMM-LV)
    config.data.frame_step = 1                  # every k-th frame (paper 002: 7 on SAMM-LV)
    config.data.me_fraction = 0.5               # training windows holding a micro-expression; < 0: uniform
    config.data.target_shape = "hard"           # inside an expression: hard (paper 002) or a pseudo_labels shape
    config.data.feature_scale = 0.1             # augmentation: features x U(1 - s, 1 + s) per window (paper 002)
    config.data.window_grid = "any"             # training windows: any (a fresh start each draw) | paper (their
                                                # fixed set: k rows every k/2, with their me_fraction)
    config.data.macro_frames = "own"            # a macro-expression's frames' emotion: own class | neutral (paper)
    # Recorded from the dataset when training starts (leave unset):
    config.data.flow_size = placeholder(int)        # how the dataset's flow features were made, for `meint_jax.spot`
    config.data.anchor_every = placeholder(int)
    config.data.fps = placeholder(float)            # the training videos' rate: `meint_jax.spot` warns on another
    # Emotions (recognition): the field's three classes or the dataset's own; `others` (no class of the set,
    # e.g. macro-expressions annotated without an emotion) excluded (MEGC) or a class of its own.
    config.data.emotion_labels = "three"        # three | native
    config.data.others = "exclude"              # exclude | class
    config.data.emotion_classes = placeholder(tuple)  # recorded when training starts (leave unset)

    config.model = ml_collections.ConfigDict()
    config.model.inputs = "flow"                # flow (paper 002) | frames (ResNet18 on a frames_* build)
    config.model.temporal = "slow_fast"         # slow_fast (paper 002) | bigru (paper 001) | none
    config.model.stem_features = 128
    config.model.slow_features = 256
    config.model.stages = 3
    config.model.layers_per_stage = 4
    config.model.lateral_after = (1, 2)
    config.model.d_state = 64
    config.model.scan = "sequential"            # sequential (lax.scan) | associative (lax.associative_scan)
    config.model.weight_init = "ours"           # ours | mamba (mamba-ssm's Mamba) | paper (paper 002's re-init)
    config.model.drop_path = 0.0                # the slow-fast network's largest drop-path rate (paper 002: 0.2)
    config.model.gru_features = 128
    config.model.dtype = "float32"
    config.model.emotion_head = True            # per-frame emotions (classes + neutral) beside the spotting head
    config.model.emotion_outputs = placeholder(int)   # recorded: len(emotion_classes) + 1

    config.loss = ml_collections.ConfigDict()
    config.loss.micro_weight = 1.0
    config.loss.macro_weight = 1.0
    config.loss.spotting_weight = 0.9           # paper 002's mix: 0.9 spotting + 0.1 recognition
    config.loss.emotion_weight = 0.1
    config.loss.neutral_weight = 0.1            # the neutral class's cross-entropy weight (down-weighted)
    config.loss.balance_classes = True          # the emotion classes weighted by 1 / their share of training frames
    # ours: balance_classes and neutral_weight | paper: scikit-learn's balanced weights from the training windows'
    # frames, neutral's x 6 (recorded in emotion_weights and metrics.json)
    config.loss.class_weights = "ours"
    config.loss.emotion_reduction = "weighted_mean"   # the cross-entropy over the weights | mean: over frames (paper)
    config.loss.emotion_weights = placeholder(tuple)  # recorded: each class's weight, neutral last (leave unset)

    # Paper 002's batch and rate; schedule: cosine (ours) | onecycle (paper 002's, rising for warmup_steps).
    config.train = common.training(batch_size=32, num_steps=3000, learning_rate=3e-4, warmup_steps=300,
                                   schedule="cosine")
    config.train.separate = False               # the `separate` ablation: a spotting model and an emotion model

    # Leave-one-subject-out, the field's protocol; the validation subjects choose the decoder's settings.
    config.eval = common.subjects("loso", holdout_subjects=3, validation_subjects=2)
    config.eval.stride = placeholder(int)       # between whole-video windows; unset: half a window
    config.eval.p_grid = (0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8)   # thresholds tried on the validation subjects
    config.eval.nms_iou = 0.5
    # ours: the steps of tasks/spotting/decoding.py, threshold chosen on validation subjects | paper: paper 002's
    # released interval selection (fixed p, their extensible rule and NMS) | paper_peak: theirs without the
    # strategy (peak -+ k_p). k_p comes from the training subjects' expressions either way.
    config.eval.decoder = "ours"
    config.eval.compare_decoders = ()           # other decoders to score the same network's scores with (paper002)
    config.eval.paper_samm = False              # paper: their SAMM rule (released for the MEGC SAMM test set only)
    config.eval.chance_runs = 20
    config.eval.timelines = 4                   # test videos drawn as timelines
    config.eval.seed = 1234
    config.eval.emotion_pooling = "vote"        # an interval's emotion: vote (paper 002) | mean of probabilities
    config.eval.window_merge = "mean"           # a frame's score: mean over its windows | first (paper 002's)
    return apply_variant(config, args.variant)


def paper_config(data_name: str, variant: str = "full", *, window: int, frame_step: int, batch_size: int,
                 me_fraction: float, paper: PaperSettings) -> ml_collections.ConfigDict:
    """Paper 002's settings on a real long-video dataset, leave-one-subject-out (the base's protocol); with
    `variant=paper` its own flow features (`<dataset>/features_paper`) and `paper`'s settings instead."""
    config = get_config()
    config.data.name = data_name
    config.data.window = window
    config.data.frame_step = frame_step
    config.data.me_fraction = me_fraction
    config.train.batch_size = batch_size
    if variant == "paper":
        config.data.name = data_name.split("/")[0] + "/features_paper"
        config.data.window = paper.window
        config.data.frame_step = paper.frame_step
        config.data.me_fraction = paper.me_fraction
        config.train.batch_size = paper.batch_size
        config.train.num_steps = paper.steps
    return apply_variant(config, variant)
