"""SAMM with the paper's settings: T=16, batch 8, Adam 1e-4, 224x224 frames.

    python -m meint_jax.main --config=configs/samm.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/SAMM_release

Frames are 2040x1088 with the face in the middle: `dlib_224` crops one box
per clip from dlib's landmarks (`samm/whole_224` for copies already cropped). Variants: the paper's Table 2 rows (`:variant=framewise`, `no_smooth`, `no_rank`).
"""

from configs import default


def get_config(arg=None):
    args = default.parse_arg(arg, variant="full")
    config = default.get_config()
    config.data.name = "samm/dlib_224"
    config.data.image_size = 224
    config.data.train_window = "trimmed"   # the paper's protocol
    config.train.num_steps = 3000
    config.train.checkpoint_every = 500
    config.eval.holdout_subjects = 5
    return default.apply_variant(config, args.variant)
