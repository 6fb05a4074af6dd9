"""The MEGC 2019 composite: CASME II + SAMM + SMIC-HS, negative / positive / surprise, leave-one-subject-out over
all of their subjects at once, UF1/UAR over the pooled clips and per dataset (the challenge's protocol), beside
the majority-class and class-prior baselines; paper 001's settings (`configs/recognition/base.py`).

    python -m meint_jax.main --config=configs/recognition/megc2019.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/folder_with_CASME2_SAMM_SMIC
    python -m meint_jax.main --config=configs/recognition/megc2019.py:protocol=lodo --workdir=DIR ...

Args: `protocol=` loso | lodo (leave one dataset out: train on two, test on the third); `variant=` full |
framewise; `inputs=` frames | flow; `data=` real | synthetic | synthetic_tiny. `synthetic` is a stand-in that
needs no licensed data (three generated parts, `data_builders/megc2019/`): it runs the protocol end to end,
and its figures say nothing about real micro-expressions.
"""

from configs import common
from configs.recognition import base
from configs.recognition import synthetic as synthetic_recognition

STANDINS = {"synthetic": ("megc2019/synthetic", "default"), "synthetic_tiny": ("megc2019/synthetic_tiny", "tiny")}


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", inputs="frames", protocol="loso", data="real")
    if args.data == "real":
        config = base.paper_config("megc2019/default_224", args.variant, args.inputs)
    elif args.data in STANDINS:
        name, size = STANDINS[args.data]
        config = synthetic_recognition.get_config(f"variant={args.variant},size={size},inputs={args.inputs}")
        config.data.name = name
    else:
        raise ValueError(f"unknown data {args.data!r}; use 'real' or one of {sorted(STANDINS)}")
    if args.protocol not in ("loso", "lodo"):
        raise ValueError(f"unknown protocol {args.protocol!r}; use 'loso' or 'lodo' (leave one dataset out)")
    config.eval.protocol = args.protocol
    return config
