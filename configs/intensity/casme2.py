"""CASME II with the paper's settings: T=16, batch 8, Adam 1e-4, 224x224 frames.

    python -m meint_jax.main --config=configs/casme2.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME2

Variants: the paper's Table 3 rows (`configs/casme2.py:variant=framewise`,
`no_smooth`, `no_rank`). `configs/casme2.py:task=recognition` (with `variant=full` or `framewise`) trains
emotion recognition on the trimmed clips instead, leave-one-subject-out, scored by UF1/UAR beside the
majority-class and class-prior baselines.
"""

from configs import default


def get_config(arg=None):
    return default.paper_config("casme2/cropped_224", arg)
