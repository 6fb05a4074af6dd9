"""Emotion recognition on SMIC's clips (negative / positive / surprise, as distributed), leave-one-subject-out,
UF1/UAR beside the majority-class and class-prior baselines; paper 001's settings (`configs/recognition/base.py`).

    python -m meint_jax.main --config=configs/recognition/smic.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/SMIC
    python -m meint_jax.main --config=configs/recognition/smic.py:part=vis --workdir=DIR ...

Args: `part=` hs (100 fps, the MEGC 2019 part; the default) | vis | nir (25 fps); `variant=` full | framewise;
`inputs=` frames | flow. Reads the cropped release (`smic/<part>_cropped_224`); recognition needs no apex.
"""

from configs import common
from configs.recognition import base

PARTS = ("hs", "vis", "nir")


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", inputs="frames", part="hs")
    if args.part not in PARTS:
        raise ValueError(f"unknown part {args.part!r}; use one of {PARTS}")
    return base.paper_config(f"smic/{args.part}_cropped_224", args.variant, args.inputs)
