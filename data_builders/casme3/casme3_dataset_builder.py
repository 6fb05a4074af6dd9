"""casme3: CAS(ME)^3 part A long videos, from the user's licensed copy."""

from __future__ import annotations

import os
import re

import tensorflow_datasets as tfds
from absl import logging

from data_builders import long_video_builder
from meint_jax.data.clips.annotations import AnnotationError
from meint_jax.data.long import annotations as long_annotations


def _annotation_file(folder: str, pattern: str, kind: str, required: bool = True) -> str | None:
    """The one file in `folder` whose name matches `pattern` ignoring case (copies differ in case)."""
    names = [n for n in sorted(os.listdir(folder)) if re.fullmatch(pattern, n, re.IGNORECASE)
             and not n.startswith("~$")]
    if len(names) > 1:
        raise AnnotationError(f"{folder}: {len(names)} candidates for the {kind} ({', '.join(names)}): "
                              "keep the one to build from")
    if not names and required:
        raise FileNotFoundError(f"{folder}: no {kind} (a file named like {pattern})")
    return os.path.join(folder, names[0]) if names else None


class Builder(long_video_builder.ManualLongVideoBuilder):
    """CAS(ME)^3 part A long videos (30 fps, colour frames) in the meint-jax long-video schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = long_video_builder.real_configs()
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    CAS(ME)^3 is licensed: request it from its authors, then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed:
      annotation/CAS(ME)3_part_A_v2.xls                      sheets AU+Emotion and eye blink
      annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   sheet label: the MEs' emotions (optional)
      part_A/data/part_A/spNO.1/a/color/0.jpg ...            the colour frames (depth/ is not read)
    """
    CITATION = """@article{li2022casme3,
      title={CAS(ME)^3: A Third Generation Facial Spontaneous Micro-Expression Database with Depth Information
             and High Ecological Validity},
      author={Li, Jingting and Dong, Zizhao and Lu, Shaoyuan and Wang, Su-Jing and Yan, Wen-Jing and Ma, Yinhuan
              and Liu, Ye and Huang, Changbing and Fu, Xiaolan},
      journal={IEEE Transactions on Pattern Analysis and Machine Intelligence}, year={2022}}"""

    def _parse(self, manual_dir: str):
        folder = self._manual_file(manual_dir, ("annotation", "*/annotation"), "annotation folder")
        workbook = _annotation_file(folder, r"cas\(me\)3_part_a.*\.xls", "part A workbook (.xls)")
        labels = _annotation_file(folder, r"cas\(me\)3_part_a_me_label.*\.xlsx", "ME label workbook", False)
        if labels is None:
            logging.warning("%s: no ME label workbook: every micro-expression gets emotion 'others'", folder)
        data_root = self._manual_file(manual_dir, ("part_A/data/part_A", "*/part_A/data/part_A", "data/part_A"),
                                      "frames folder (part_A/data/part_A/)")
        return long_annotations.parse_casme3(workbook, labels, data_root), data_root
