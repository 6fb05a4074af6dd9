"""casme2: CASME II spontaneous micro-expressions, from the user's licensed copy."""

from __future__ import annotations

import tensorflow_datasets as tfds

from data_builders import clip_builder
from meint_jax.data.clips import annotations

SIZES = (128, 224, 256)


class Builder(clip_builder.ClipDatasetBuilder):
    """CASME II clips (200 fps) in the meint-jax clip schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    LAYOUT = annotations.CASME2
    SHEET_GLOBS = ("CASME2-coding-*.xlsx", "*/CASME2-coding-*.xlsx")
    BUILDER_CONFIGS = [
        clip_builder.ClipBuilderConfig(
            name=f"cropped_{size}", frame_size=size, crop="none",
            frame_roots=("Cropped", "*/Cropped", "Cropped_original", "*/Cropped_original"),   # never RAW: not faces
            description=f"The dataset's registered face crops (Cropped/), resized to {size}x{size}.")
        for size in SIZES
    ] + [
        clip_builder.ClipBuilderConfig(
            name=f"dlib_{size}", frame_size=size, crop="dlib",
            frame_roots=("CASME2_RAW_selected", "*/CASME2_RAW_selected"),
            description=f"CASME2_RAW_selected/ cropped by dlib landmarks (one box per clip), {size}x{size}.")
        for size in SIZES
    ]
    DEFAULT_CONFIG_NAME = "cropped_224"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    CASME II is licensed: request it from its authors, then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed:
      CASME2-coding-20140508.xlsx             the coding sheet
      Cropped/subXX/EPxx_xx/reg_imgN.jpg      the registered face crops (the cropped_* configs), and/or
      CASME2_RAW_selected/subXX/EPxx_xx/imgN.jpg   the whole frames (the dlib_* configs crop them with
                                                   dlib's face landmarks)
    """
    CITATION = """@article{yan2014casme2,
      title={CASME II: An Improved Spontaneous Micro-Expression Database and the Baseline Evaluation},
      author={Yan, Wen-Jing and Li, Xiaobai and Wang, Su-Jing and Zhao, Guoying and Liu, Yong-Jin and
              Chen, Yu-Hsin and Fu, Xiaolan},
      journal={PLoS ONE}, volume={9}, number={1}, pages={e86041}, year={2014}}"""
