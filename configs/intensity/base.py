"""Every setting of an intensity run (paper 001), with the paper's values where it gives them.

    python -m meint_jax.main --config=configs/intensity/base.py --workdir=DIR

Dataset configs (`synthetic.py`, `casme2.py`, `samm.py`) start from `get_config()` here and change what
differs; `paper_config` holds the paper's settings on a real dataset. Args: `variant=` one of VARIANTS, the
paper's Table 2/3 ablations (`configs/intensity/casme2.py:variant=no_rank`); `inputs=` one of CLIP_INPUTS:
`flow` reads paper 002's 18 regions' motion through its flow stem instead of frames through ResNet18
(`apply_inputs`, which clip recognition's configs use too).
"""

import ml_collections
from ml_collections.config_dict import placeholder

from configs import common

VARIANTS = ("full", "framewise", "no_smooth", "no_rank")
CLIP_INPUTS = ("frames", "flow")    # what a model on clips reads (models.model.CLIP_INPUTS)


def apply_variant(config: ml_collections.ConfigDict, variant: str) -> ml_collections.ConfigDict:
    """The paper's Table 2/3 rows as config changes."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    if variant == "framewise":
        config.model.temporal = "none"
    elif variant == "no_smooth":
        config.loss.smooth_weight = 0.0
    elif variant == "no_rank":
        config.loss.rank_weight = 0.0
    config.variant = variant
    return config


def apply_inputs(config: ml_collections.ConfigDict, inputs: str) -> ml_collections.ConfigDict:
    """What a model on clips reads: `frames` (paper 001's ResNet18) or `flow`, paper 002's 18 regions' motion
    computed from the face crops (`data/clips/flow.py`) through its flow stem, with its augmentation (each
    window's motion scaled by U(0.9, 1.1)) in place of the image augmentations, which would move the regions."""
    if inputs not in CLIP_INPUTS:
        raise ValueError(f"unknown inputs {inputs!r}; choose one of {CLIP_INPUTS}")
    config.model.inputs = inputs
    if inputs == "flow":
        config.model.stem_features = 128        # paper 002's flow stem
        config.data.feature_scale = 0.1         # each window's motion x U(1 - s, 1 + s) (paper 002)
        config.data.clip_landmarks = "dlib"     # where the regions sit: dlib on the motion's first frame | template
        config.data.flow_size = 112             # the crops' side for the flow (pooled per region: 112 px suffices)
        config.model.frame_input = "frames"     # (residual frames are for ResNet18's input)
        config.data.flip = False
        config.data.min_crop = 1.0
        config.data.brightness = 0.0
        config.data.contrast = 0.0
    return config


def paper_config(data_name: str, variant: str = "full") -> ml_collections.ConfigDict:
    """The paper's settings on a real dataset: T=16, batch 8, Adam 1e-4, 224x224, trimmed windows."""
    config = get_config()
    config.data.name = data_name
    config.data.image_size = 224
    config.data.train_window = "trimmed"   # the paper's protocol
    config.train.num_steps = 3000
    config.train.checkpoint_every = 500          # also validates then, with eval.validation_subjects
    config.train.keep_checkpoints = 3           # the latest N are kept (checkpoints/); the best in best/
    config.eval.holdout_subjects = 5
    return apply_variant(config, variant)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = common.parse_arg(arg, variant="full", inputs="frames")
    config = ml_collections.ConfigDict()
    config.task = "intensity"                   # picks the model, the training loop and the metrics
    config.seed = 0
    config.seeds = 1                            # >1: that many runs, seeds 0..N-1, and their summary
    config.variant = "full"

    config.data = common.dataset("synthetic_me/default")
    config.data.image_size = 224
    config.data.num_steps = 16                  # T
    config.data.train_window = "trimmed"        # trimmed | untrimmed | mixed
    config.data.untrimmed_probability = 0.5     # for train_window=mixed
    config.data.max_margin = 1.0                # untrimmed reach outside onset/offset (ME durations)
    config.data.jitter = True                   # temporal augmentation
    config.data.flip = True
    config.data.min_crop = 1.0                  # random square crop, side in [min_crop, 1]; 1 = none
    config.data.brightness = 0.0                # per-window photometric jitter (fractions)
    config.data.contrast = 0.0
    config.data.pseudo_label = "triangular"
    # Recorded from the dataset when training starts (leave unset), so a checkpoint
    # alone tells prediction how to preprocess new video like the training data:
    config.data.frame_size = placeholder(int)           # side of the stored (face-cropped) frames
    config.data.expression_frames = placeholder(float)  # median onset-to-offset frames of training clips

    config.model = ml_collections.ConfigDict()
    config.model.temporal = "bigru"             # bigru | none (frame-wise baseline)
    config.model.gru_features = 256
    config.model.dtype = "float32"
    config.model.frame_input = "frames"         # frames (the paper) | residual (frame minus window mean)
    config.model.init_from = placeholder(str)   # ImageNet ResNet18 weights (.pth/.safetensors/orbax dir)
    config.model.inputs = "frames"              # frames | flow (paper 002's region motion, `apply_inputs`)

    config.loss = ml_collections.ConfigDict()
    config.loss.smooth_weight = 0.1
    config.loss.rank_weight = 0.1
    config.loss.rank_margin = 0.05

    config.train = common.training()

    config.eval = common.subjects("holdout", holdout_subjects=3, validation_subjects=0)  # >0: a best checkpoint
    config.eval.validation_protocol = "trimmed"  # which protocol's Spearman picks the best checkpoint
    config.eval.select = "last"                 # last | best: the checkpoint the test metrics come from
    config.eval.untrimmed_windows = 4           # windows per held-out clip
    config.eval.seed = 1234
    config.eval.plot_clips = 4
    return apply_inputs(apply_variant(config, args.variant), args.inputs)
