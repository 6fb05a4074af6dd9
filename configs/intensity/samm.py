"""SAMM with the paper's settings: T=16, batch 8, Adam 1e-4, 224x224 frames.

    python -m meint_jax.main --config=configs/samm.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/SAMM_release

Frames are 2040x1088 with the face in the middle: `dlib_224` crops one box
per clip from dlib's landmarks (`samm/whole_224` for copies already cropped).
Variants: the paper's Table 2 rows (`:variant=framewise`, `no_smooth`, `no_rank`).
`:task=recognition` (with `variant=full` or `framewise`) trains emotion recognition on the trimmed clips
instead, leave-one-subject-out, scored by UF1/UAR beside the majority-class and class-prior baselines.
"""

from configs import default


def get_config(arg=None):
    return default.paper_config("samm/dlib_224", arg)
