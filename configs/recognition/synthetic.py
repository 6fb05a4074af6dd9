"""Emotion recognition on the embedded synthetic clips, CPU-sized: the README's recognition commands.

    python -m meint_jax.main --config=configs/recognition/synthetic.py --workdir=/tmp/meint-recognise
    python -m meint_jax.main --config=configs/recognition/synthetic.py:inputs=flow --workdir=/tmp/meint-recognise-flow
    python -m meint_jax.main --config=configs/recognition/synthetic.py:data=hard --workdir=/tmp/meint-recognise-hard

Args: `variant=` full | framewise; `inputs=` frames | flow (`configs/recognition/base.py`); `size=tiny` for
tests and smoke runs; `data=hard` the clips whose emotions are not one AU set each (synthetic_me/hard: CASME
II's imbalance, AU sets shared between classes, per-subject AU styles, 5% label noise; a reader of the AUs
would reach 3-class UF1 about 0.82), where `data=default` (each emotion one AU set) saturates at UF1 1.
The intensity run's data, schedule and model sizes (`configs/intensity/synthetic.py`), then recognition's
changes on top.
"""

from configs import common
from configs.intensity import synthetic
from configs.recognition import base

# data= -> size= -> the synthetic_me config; `default` keeps the intensity config's own.
DATASETS = {"hard": {"default": "synthetic_me/hard", "tiny": "synthetic_me/hard_tiny"}}


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", size="default", inputs="frames", data="default")
    config = base.recognition(synthetic.get_config(f"variant={args.variant},size={args.size}"), args.inputs)
    if args.data in DATASETS:
        config.data.name = DATASETS[args.data][args.size]
    elif args.data != "default":
        raise ValueError(f"unknown data {args.data!r}; use 'default' or one of {sorted(DATASETS)}")
    if args.inputs == "flow":
        config.data.clip_landmarks = "template"     # dlib misreads the procedural faces (data/clips/flow.py)
        if args.size == "tiny":
            config.data.flow_size = 32                  # the tiny set stores 32-px frames
    return config
