"""Every setting of a meint-jax run, with the paper's values where it gives them.

Dataset configs start from `get_config()` here and change what differs.
Variants (`configs/casme2.py:variant=no_rank`) are the paper's ablations.
`task=recognition` (`configs/casme2.py:task=recognition`) turns a config into clip-level emotion
recognition (`recognition` below).
"""

import ml_collections
from ml_collections.config_dict import placeholder

VARIANTS = ("full", "framewise", "no_smooth", "no_rank")
TASKS = ("intensity", "recognition")
CLIP_INPUTS = ("frames", "flow")                 # what clip recognition reads (models.model.CLIP_INPUTS)
RECOGNITION_VARIANTS = ("full", "framewise")   # the others change the intensity loss, which recognition lacks


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
    """'variant=no_rank,size=112' or 'no_rank' -> ConfigDict over `defaults`."""
    parsed = ml_collections.ConfigDict(defaults)
    for item in filter(None, (arg or "").split(",")):
        key, _, value = item.partition("=")
        if not value:
            key, value = "variant", key
        if key not in defaults:
            raise ValueError(f"unknown config argument {key!r}; known: {sorted(defaults)}")
        parsed[key] = type(defaults[key])(value) if defaults[key] is not None else value
    return parsed


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


def recognition(config: ml_collections.ConfigDict, inputs: str = "frames") -> ml_collections.ConfigDict:
    """A clip config -> emotion recognition on trimmed clips (the field's UF1/UAR benchmark).

    Paper 001's ResNet18 + BiGRU (or frame-wise) with a Dense(classes) head, its per-frame logits averaged
    over the clip, trained with class-weighted cross-entropy on trimmed windows (onset to offset, T frames);
    no pseudo-intensity loss. Classes and their weights are recorded from the training subjects' clips when
    training starts (`training/recognition_run.py`). Validation subjects (eval.validation_subjects > 0) are
    split off the training subjects and pick the best checkpoint by UF1; none by default.

    `inputs=flow` trains on paper 002's 18 regions' motion computed from the face crops (`data/clip_flow.py`)
    through its flow stem instead of ResNet18, with its augmentation (features scaled by U(0.9, 1.1)) in
    place of the image augmentations, which would move the regions.
    """
    if inputs not in CLIP_INPUTS:
        raise ValueError(f"unknown inputs {inputs!r}; choose one of {CLIP_INPUTS}")
    if config.variant not in RECOGNITION_VARIANTS:
        raise ValueError(f"variant {config.variant!r} changes the intensity loss, which recognition does not "
                         f"have: use one of {RECOGNITION_VARIANTS} with task=recognition")
    config.task = "recognition"
    config.model.task = "recognition"
    config.data.train_window = "trimmed"
    config.data.emotion_labels = "three"        # three (negative/positive/surprise, MEGC) | native
    config.data.others = "exclude"              # exclude (never trained on, never scored) | class
    config.data.emotion_classes = placeholder(tuple)  # recorded from the training clips (leave unset)
    config.model.emotion_outputs = placeholder(int)   # recorded: len(emotion_classes)
    config.loss.smooth_weight = 0.0             # no pseudo-intensity loss: these terms are not computed
    config.loss.rank_weight = 0.0
    config.loss.balance_classes = True          # each class weighted by 1 / its share of the training clips
    config.loss.emotion_weights = placeholder(tuple)  # recorded: each class's weight (leave unset)
    config.eval.chance_runs = 20                # draws of the class-prior baseline (its scores are their mean)
    config.model.inputs = inputs                # frames (paper 001's ResNet18) | flow (paper 002's region motion)
    if inputs == "flow":
        config.model.stem_features = 128        # paper 002's flow stem
        config.data.feature_scale = 0.1         # each window's motion x U(1 - s, 1 + s) (paper 002)
        config.data.clip_landmarks = "dlib"     # where the regions sit: dlib on each clip's onset frame | template
        config.data.flow_size = 112             # the crops' side for the flow (pooled per region: 112 px suffices)
        config.model.frame_input = "frames"     # (residual frames are for ResNet18's input)
        config.data.flip = False
        config.data.min_crop = 1.0
        config.data.brightness = 0.0
        config.data.contrast = 0.0
    return config


def apply_task(config: ml_collections.ConfigDict, task: str, inputs: str = "frames") -> ml_collections.ConfigDict:
    """`task=intensity` (the config as it is) or `task=recognition` (on `inputs`: frames or flow)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {TASKS}")
    if task != "recognition" and inputs != "frames":
        raise ValueError(f"inputs={inputs!r} is for task=recognition; the intensity model reads frames")
    return recognition(config, inputs) if task == "recognition" else config


def paper_config(data_name: str, arg: str | None) -> ml_collections.ConfigDict:
    """The paper's settings on a real dataset: T=16, batch 8, Adam 1e-4, 224x224, trimmed windows.

    With `task=recognition`, leave-one-subject-out, the field's protocol for UF1/UAR
    (`--config.eval.protocol=holdout` for one subject-disjoint split)."""
    args = parse_arg(arg, variant="full", task="intensity", inputs="frames")
    config = get_config()
    config.data.name = data_name
    config.data.image_size = 224
    config.data.train_window = "trimmed"   # the paper's protocol
    config.train.num_steps = 3000
    config.train.checkpoint_every = 500          # also validates then, with eval.validation_subjects
    config.train.keep_checkpoints = 3           # the latest N are kept (checkpoints/); the best in best/
    config.eval.holdout_subjects = 5
    config = apply_task(apply_variant(config, args.variant), args.task, args.inputs)
    if args.task == "recognition":
        config.eval.protocol = "loso"
    return config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(arg, variant="full")
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.variant = "full"

    config.data = ml_collections.ConfigDict()
    config.data.name = "synthetic_me/default"   # TFDS name[/config]
    config.data.data_dir = placeholder(str)     # TFDS data_dir; unset: ~/tensorflow_datasets
    config.data.manual_dir = placeholder(str)   # licensed datasets: the folder as distributed
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

    config.loss = ml_collections.ConfigDict()
    config.loss.smooth_weight = 0.1
    config.loss.rank_weight = 0.1
    config.loss.rank_margin = 0.05

    config.train = ml_collections.ConfigDict()
    config.train.batch_size = 8
    config.train.num_steps = 2000
    config.train.learning_rate = 1e-4
    config.train.warmup_steps = 0
    config.train.schedule = "constant"          # constant | cosine
    config.train.log_every = 50
    config.train.checkpoint_every = 500          # also validates then, with eval.validation_subjects
    config.train.keep_checkpoints = 3           # the latest N are kept (checkpoints/); the best in best/
    config.train.cpu_convolutions = "xla"       # on CPU: xla (faster to train, see xla_options.py) | ynnpack

    config.eval = ml_collections.ConfigDict()
    config.eval.protocol = "holdout"            # holdout | loso (leave one subject out, one model per fold)
    config.eval.folds = placeholder(str)        # loso: the folds this run trains, e.g. "s01,s02" or "0-4"
    config.eval.holdout_subjects = 3            # subject-disjoint hold-out
    config.eval.validation_subjects = 0         # taken from the training subjects; >0 keeps a best checkpoint
    config.eval.validation_protocol = "trimmed"  # which protocol's Spearman picks the best checkpoint
    config.eval.select = "last"                 # last | best: the checkpoint the test metrics come from
    config.eval.untrimmed_windows = 4           # windows per held-out clip
    config.eval.seed = 1234
    config.eval.plot_clips = 4
    return apply_variant(config, args.variant)
