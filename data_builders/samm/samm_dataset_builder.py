"""samm: SAMM spontaneous micro-facial movements, from the user's licensed copy."""

from __future__ import annotations

import tensorflow_datasets as tfds

from data_builders import clip_builder
from meint_jax.data.clips import annotations

SIZES = (128, 224, 256)


class Builder(clip_builder.ClipDatasetBuilder):
    """SAMM clips (200 fps, 2040x1088) in the meint-jax clip schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    LAYOUT = annotations.SAMM
    SHEET_GLOBS = ("SAMM*Micro_FACS*.xlsx", "SAMM*.xlsx", "*.xlsx", "*/SAMM*Micro_FACS*.xlsx", "*/SAMM*.xlsx")
    BUILDER_CONFIGS = [
        clip_builder.ClipBuilderConfig(
            name=f"dlib_{size}", frame_size=size, crop="dlib", frame_roots=("SAMM", "*/SAMM"),
            description=f"Faces cropped by dlib landmarks (one box per clip), {size}x{size}.")
        for size in SIZES
    ] + [
        clip_builder.ClipBuilderConfig(
            name=f"whole_{size}", frame_size=size, crop="none", frame_roots=("SAMM", "*/SAMM"),
            description=f"Whole frames resized to {size}x{size} (for copies that are already face-cropped).")
        for size in SIZES
    ]
    DEFAULT_CONFIG_NAME = "dlib_224"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    SAMM is licensed: request it from its authors, then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed:
      SAMM_Micro_FACS_Codes_v2.xlsx (or your release's .xlsx)   the annotation sheet
      SAMM/006/006_1_2/006_05562.jpg                            the frames
    """
    CITATION = """@article{davison2018samm,
      title={SAMM: A Spontaneous Micro-Facial Movement Dataset},
      author={Davison, Adrian K. and Lansley, Cliff and Costen, Nicholas and Tan, Kevin and Yap, Moi Hoon},
      journal={IEEE Transactions on Affective Computing}, volume={9}, number={1}, pages={116--129}, year={2018}}"""
