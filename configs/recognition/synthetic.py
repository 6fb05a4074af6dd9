"""Emotion recognition on the embedded synthetic clips, CPU-sized: the README's recognition commands.

    python -m meint_jax.main --config=configs/recognition/synthetic.py --workdir=/tmp/meint-recognise
    python -m meint_jax.main --config=configs/recognition/synthetic.py:inputs=flow --workdir=/tmp/meint-recognise-flow

Args: `variant=` full | framewise; `inputs=` frames | flow (`configs/recognition/base.py`); `size=tiny` for
tests and smoke runs. The intensity run's data, schedule and model sizes (`configs/intensity/synthetic.py`),
then recognition's changes on top.
"""

from configs import common
from configs.intensity import synthetic
from configs.recognition import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", size="default", inputs="frames")
    config = base.recognition(synthetic.get_config(f"variant={args.variant},size={args.size}"), args.inputs)
    if args.inputs == "flow":
        config.data.clip_landmarks = "template"     # dlib misreads the procedural faces (data/clips/flow.py)
        if args.size == "tiny":
            config.data.flow_size = 32                  # the tiny set stores 32-px frames
    return config
