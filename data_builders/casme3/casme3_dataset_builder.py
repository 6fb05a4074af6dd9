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
    """The one file in `folder` or a folder in it (the 2023 update's `annotation/partA/`) whose name matches
    `pattern` ignoring case (copies differ in case). Of several, the one named `..._final` where exactly one
    is; otherwise which was meant is a guess, and the build is refused."""
    folders = [folder] + [os.path.join(folder, d) for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d))]
    paths = sorted(os.path.join(root, name) for root in folders for name in os.listdir(root)
                   if re.fullmatch(pattern, name, re.IGNORECASE) and not name.startswith("~$"))
    final = [p for p in paths if re.search(r"final", os.path.basename(p), re.IGNORECASE)]
    if len(paths) > 1 and len(final) == 1:
        logging.info("%s: %d candidates for the %s; using the final one, %s", folder, len(paths), kind, final[0])
        return final[0]
    if len(paths) > 1:
        raise AnnotationError(f"{folder}: {len(paths)} candidates for the {kind} "
                              f"({', '.join(os.path.relpath(p, folder) for p in paths)}): keep the one to build from")
    if not paths and required:
        raise FileNotFoundError(f"{folder}: no {kind} (a file named like {pattern})")
    return paths[0] if paths else None


# Where copies unpack the colour frames: as distributed, split (part_A_split) or the compressed version.
FRAME_FOLDERS = ("part_A/data/part_A", "*/part_A/data/part_A", "data/part_A", "part_A/data/part_A_split/part_A",
                 "*/part_A/data/part_A_split/part_A", "data/part_A_split/part_A", "part_A_split/part_A",
                 "part_A/data/Compressed_version1_seperate_compress", "data/Compressed_version1_seperate_compress")


class Builder(long_video_builder.ManualLongVideoBuilder):
    """CAS(ME)^3 part A long videos (30 fps, colour frames) in the meint-jax long-video schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = long_video_builder.real_configs()
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    CAS(ME)^3 is licensed: request it from its authors, then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed:
      annotation/CAS(ME)3_part_A_v2.xls                      the expressions (and a sheet of eye blinks)
      annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   the MEs' emotions (optional; also in annotation/partA/)
      part_A/data/part_A/spNO.1/a/color/0.jpg ...            the colour frames (depth/ is not read; part_A_split/
                                                             part_A and Compressed_version1_seperate_compress too)
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
        data_root = self._manual_file(manual_dir, FRAME_FOLDERS, "frames folder (part_A/data/part_A/)")
        return long_annotations.parse_casme3(workbook, labels, data_root), data_root
