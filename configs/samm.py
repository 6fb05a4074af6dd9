"""SAMM with the paper's settings: T=16, batch 8, Adam 1e-4, 224x224 frames.

    python -m meint_jax.main --config=configs/samm.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/SAMM_release

`whole_224` uses frames whole: give it a face-cropped copy of SAMM (its raw
frames are 2040x1088 with the face in the middle; the dlib crop is not built
yet). Variants: the paper's Table 2 rows (`:variant=framewise`, `no_smooth`, `no_rank`).
"""

from configs import default


def get_config(arg=None):
    args = default.parse_arg(arg, variant="full")
    config = default.get_config()
    config.data.name = "samm/whole_224"
    config.data.image_size = 224
    config.data.train_window = "trimmed"   # the paper's protocol
    config.train.num_steps = 3000
    config.train.checkpoint_every = 500
    config.eval.holdout_subjects = 5
    return default.apply_variant(config, args.variant)
