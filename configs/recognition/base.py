"""Clip-level emotion recognition on trimmed clips: the field's UF1/UAR benchmark.

    python -m meint_jax.main --config=configs/recognition/base.py --workdir=DIR

The intensity model's parts (`configs/intensity/base.py`) with a Dense(classes) head: paper 001's ResNet18 +
BiGRU (or frame-wise), its per-frame logits averaged over the clip, trained with class-weighted cross-entropy
on trimmed windows (onset to offset, T frames); no pseudo-intensity loss. Classes and their weights are
recorded from the training subjects' clips when training starts (`tasks/recognition/train.py`). Validation
subjects (eval.validation_subjects > 0) are split off the training subjects and pick the best checkpoint by
UF1; none by default.

Args: `variant=` full | framewise (RECOGNITION_VARIANTS: the intensity ablations' other rows change the
intensity loss, which recognition does not have); `inputs=` frames | flow (CLIP_INPUTS). `inputs=flow` trains
on paper 002's 18 regions' motion computed from the face crops (`data/clips/flow.py`) through its flow stem
instead of ResNet18, with its augmentation (features scaled by U(0.9, 1.1)) in place of the image
augmentations, which would move the regions.
"""

import ml_collections
from ml_collections.config_dict import placeholder

from configs import common
from configs.intensity import base as intensity

CLIP_INPUTS = intensity.CLIP_INPUTS             # what clip recognition reads (models.model.CLIP_INPUTS)
RECOGNITION_VARIANTS = ("full", "framewise")   # the others change the intensity loss, which recognition lacks


def recognition(config: ml_collections.ConfigDict, inputs: str = "frames") -> ml_collections.ConfigDict:
    """An intensity config (its dataset and variant set) -> emotion recognition on its trimmed clips."""
    if inputs not in CLIP_INPUTS:
        raise ValueError(f"unknown inputs {inputs!r}; choose one of {CLIP_INPUTS}")
    if config.variant not in RECOGNITION_VARIANTS:
        raise ValueError(f"variant {config.variant!r} changes the intensity loss, which recognition does not "
                         f"have: use one of {RECOGNITION_VARIANTS}")
    config.task = "recognition"
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
    return intensity.apply_inputs(config, inputs)   # frames (paper 001's ResNet18) | flow (paper 002's motion)


def paper_config(data_name: str, variant: str = "full", inputs: str = "frames") -> ml_collections.ConfigDict:
    """Paper 001's settings on CASME II or SAMM (`intensity.paper_config`), leave-one-subject-out: the field's
    protocol for UF1/UAR (`--config.eval.protocol=holdout` for one subject-disjoint split)."""
    config = recognition(intensity.paper_config(data_name, variant), inputs)
    config.eval.protocol = "loso"
    return config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = common.parse_arg(arg, variant="full", inputs="frames")
    return recognition(intensity.get_config(f"variant={args.variant}"), args.inputs)
