"""Emotion recognition on CAS(ME)^3 part A's micro-expression clips (trimmed from the long videos by the ME label
workbook), leave-one-subject-out, UF1/UAR beside the majority-class and class-prior baselines; paper 001's
settings (`configs/recognition/base.py`).

    python -m meint_jax.main --config=configs/recognition/casme3.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME3
    python -m meint_jax.main --config=configs/recognition/casme3.py:classes=4 --workdir=DIR ...

Args: `classes=` 3 (negative / positive / surprise, the default) | 4 (the same and others, as CAS(ME)^3 reports)
| 7 (the workbook's own labels, others included); `variant=` full | framewise; `inputs=` frames | flow.
"""

from configs import common
from configs.recognition import base

CLASS_SETS = {3: ("three", "exclude"), 4: ("three", "class"), 7: ("native", "class")}   # labels, others


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", inputs="frames", classes=3)
    if args.classes not in CLASS_SETS:
        raise ValueError(f"unknown classes {args.classes}; use one of {sorted(CLASS_SETS)}")
    config = base.paper_config("casme3_clips/dlib_224", args.variant, args.inputs)
    config.data.emotion_labels, config.data.others = CLASS_SETS[args.classes]
    return config
