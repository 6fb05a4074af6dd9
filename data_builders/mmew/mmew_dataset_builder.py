"""mmew: MMEW (Micro-and-Macro Expression Warehouse) micro-expression clips, from the user's licensed copy.

Only the micro-expressions are read: MMEW's macro-expressions are images (one a sample), with no onset,
apex or offset to read.
"""

from __future__ import annotations

import tensorflow_datasets as tfds

from data_builders import clip_builder
from meint_jax.data.clips import annotations

SIZES = (128, 224, 256)
FRAME_ROOTS = ("Micro_Expression", "*/Micro_Expression")


class Builder(clip_builder.ClipDatasetBuilder):
    """MMEW micro-expression clips (90 fps) in the meint-jax clip schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    LAYOUT = annotations.MMEW
    SHEET_GLOBS = ("MMEW_Micro_Exp*.xls*", "*/MMEW_Micro_Exp*.xls*")
    BUILDER_CONFIGS = [
        clip_builder.ClipBuilderConfig(
            name=f"dlib_{size}", frame_size=size, crop="dlib", frame_roots=FRAME_ROOTS,
            description=f"Faces cropped by dlib landmarks (one box per clip), {size}x{size}.")
        for size in SIZES
    ] + [
        clip_builder.ClipBuilderConfig(
            name=f"whole_{size}", frame_size=size, crop="none", frame_roots=FRAME_ROOTS,
            description=f"Whole frames resized to {size}x{size} (for frames that are already the face).")
        for size in SIZES
    ]
    # dlib by default: on frames that are already faces it fails loudly (clips skipped, "no face found"), where
    # whole frames of a wider view would pass silently with a small face.
    DEFAULT_CONFIG_NAME = "dlib_224"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    MMEW is licensed: request it from its authors, then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed (MMEW_Final/ itself or its parent):
      MMEW_Micro_Exp.xlsx                               the micro-expression sheet
      Micro_Expression/<emotion>/S01-01-001/N.jpg      the frames (a copy unpacked per subject first,
                                                        Micro_Expression/S01/<emotion>/S01-01-001/, is read too)
    """
    CITATION = """@article{ben2022mmew,
      title={Video-Based Facial Micro-Expression Analysis: A Survey of Datasets, Features and Algorithms},
      author={Ben, Xianye and Ren, Yi and Zhang, Junping and Wang, Su-Jing and Kpalma, Kidiyo and Meng, Weixiao and
              Liu, Yong-Jin},
      journal={IEEE Transactions on Pattern Analysis and Machine Intelligence}, volume={44}, number={9},
      pages={5826--5846}, year={2022}, doi={10.1109/TPAMI.2021.3067464}}"""
