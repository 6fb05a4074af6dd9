"""casme: CASME (the first CASME) spontaneous micro-expressions, from the user's licensed copy.

CASME was filmed in two sections at 60 fps: A (subjects 1-7, 1280x720) and B (subjects 8-19, 640x480). They are
one dataset here, not two configs: one coding sheet codes both, the subjects are disjoint, and the face crop and
resize of every config leave no trace of the cameras' resolutions. The raw frames may still sit in the two
sections' folders, as their archives unpack; a clip is looked for in each.
"""

from __future__ import annotations

import dataclasses
import os

import tensorflow_datasets as tfds
from absl import logging

from data_builders import clip_builder
from meint_jax.data.clips import annotations

SIZES = (128, 224, 256)
SECTIONS = ("Section A", "Section B")
RAW_ROOTS = ("CASME_raw_selected", "*/CASME_raw_selected")


def clip_in_sections(sections: list[str]):
    """A `clip_dir` for frames split over the section folders: the section holding sub{XX}/{clip}."""
    def clip_dir(root, subject, filename):
        folders = [os.path.join(section, f"sub{subject}", filename) for section in sections]
        return next((f for f in folders if os.path.isdir(f)), folders[0])
    return clip_dir


class Builder(clip_builder.ClipDatasetBuilder):
    """CASME clips (60 fps) in the meint-jax clip schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    LAYOUT = annotations.CASME
    SHEET_GLOBS = ("CASME-coded-*.xls*", "*/CASME-coded-*.xls*")
    BUILDER_CONFIGS = [
        clip_builder.ClipBuilderConfig(
            name=f"cropped_{size}", frame_size=size, crop="none", frame_roots=("Cropped", "*/Cropped"),
            description=f"The dataset's registered face crops (Cropped/), resized to {size}x{size}.")
        for size in SIZES
    ] + [
        clip_builder.ClipBuilderConfig(
            name=f"dlib_{size}", frame_size=size, crop="dlib", frame_roots=RAW_ROOTS,
            description=f"The raw frames (Section A/ and Section B/, or CASME_raw_selected/) cropped by dlib "
                        f"landmarks (one box per clip), {size}x{size}.")
        for size in SIZES
    ]
    DEFAULT_CONFIG_NAME = "cropped_224"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    CASME is licensed: request it from its authors, then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed:
      CASME-coded-20190721.xls                    the coding sheet (both sections)
      Cropped/subXX/EPxx_x/reg_EPxx_x-N.jpg       the registered face crops (the cropped_* configs), and/or
      the raw frames (the dlib_* configs crop them with dlib's face landmarks), either as the sections unpack,
        CASME_A/Section A/subXX/EPxx_x/EPxx_x-N.jpg     subjects 1-7
        CASME_B/Section B/subXX/EPxx_x/EPxx_x-N.jpg     subjects 8-19
      or merged into CASME_raw_selected/subXX/EPxx_x/
    """
    CITATION = """@inproceedings{yan2013casme,
      title={CASME database: A dataset of spontaneous micro-expressions collected from neutralized faces},
      author={Yan, Wen-Jing and Wu, Qi and Liu, Yong-Jin and Wang, Su-Jing and Fu, Xiaolan},
      booktitle={10th IEEE International Conference and Workshops on Automatic Face and Gesture Recognition (FG)},
      pages={1--7}, year={2013}, doi={10.1109/FG.2013.6553799}}"""

    @classmethod
    def parse_manual(cls, manual_dir: str, config: clip_builder.ClipBuilderConfig):
        """As the base builder does, but the raw frames may be split over the two section folders: then every
        clip is looked for in both, and the sources name the folder holding them."""
        sections = [] if config.crop != "dlib" else [
            clip_builder.manual_file(manual_dir, (s, f"*/{s}"), f"{s} folder", required=False) for s in SECTIONS]
        merged = clip_builder.manual_file(manual_dir, config.frame_roots, "frames folder", required=False)
        if merged or not any(sections):
            return super().parse_manual(manual_dir, config)
        sections = [clip_builder.unnested(s) for s in sections if s]
        sheet = cls._manual_file(manual_dir, cls.SHEET_GLOBS, "coding sheet")
        frames_root = os.path.commonpath(sections) if len(sections) > 1 else sections[0]
        logging.info("%s: coding sheet %s, frames in %s", cls.__name__, sheet, ", ".join(sections))
        layout = dataclasses.replace(cls.LAYOUT, clip_dir=clip_in_sections(sections))
        parsed = annotations.parse(sheet, frames_root, layout)
        return parsed, clip_builder.sources_of(manual_dir, [sheet], frames_root)
