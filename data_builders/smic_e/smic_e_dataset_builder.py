"""smic_e: SMIC-E's high-speed long videos, from the user's licensed copy."""

from __future__ import annotations

import os
import re

import tensorflow_datasets as tfds

from data_builders import clip_builder, long_video_builder
from meint_jax.data.clips.annotations import AnnotationError
from meint_jax.data.long import smic_e

# The annotation sheet, in HS_long/ or beside the frames (copies differ), as .xlsx, .xls or a .csv export.
SHEET_NAME = re.compile(r"smic[-_ ]hs[-_ ]e[-_ ]?annotation.*\.(xlsx|xls|csv)", re.IGNORECASE)
SHEET_DEPTH = 4      # folders below manual_dir searched for it (manual_dir may be SMIC/, SMIC-E_raw image/, ...)
# Where the HS frames unpack, by where manual_dir points; an HS/ folder inside is descended into.
FRAME_FOLDERS = ("SMIC-HS-E", "SMIC_HS_E", "HS_long/SMIC-HS-E", "HS_long/SMIC_HS_E", "*/HS_long/SMIC-HS-E",
                 "*/HS_long/SMIC_HS_E", "*/*/HS_long/SMIC-HS-E", "*/*/HS_long/SMIC_HS_E", "HS")


class Builder(long_video_builder.ManualLongVideoBuilder):
    """SMIC-E HS long videos (100 fps, micro-expressions only) in the meint-jax long-video schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = long_video_builder.real_configs()
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    SMIC is licensed: request SMIC-E (its extended release) from its authors, then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed:
      HS_long/SMIC-HS-E_annotation.xlsx                   the annotation sheet (one row per video; a .csv
                                                          export, or the sheet beside the frames, is read too)
      HS_long/SMIC-HS-E/HS/s01/s1_ne_01/image559700.jpg   the frames of each long video (HS/ may be absent)
    (that is the SMIC-E_raw image/ folder; NIR_long/ and VIS_long/ are not read)
    """
    CITATION = """@inproceedings{li2013smic,
      title={A Spontaneous Micro-expression Database: Inducement, Collection and Baseline},
      author={Li, Xiaobai and Pfister, Tomas and Huang, Xiaohua and Zhao, Guoying and Pietik{\\"a}inen, Matti},
      booktitle={IEEE International Conference on Automatic Face and Gesture Recognition (FG)}, year={2013}}
    @article{tran2021smicelong,
      title={Micro-expression spotting: A new benchmark},
      author={Tran, Thuong-Khanh and Vo, Quang-Nhat and Hong, Xiaopeng and Li, Xiaobai and Zhao, Guoying},
      journal={Neurocomputing}, year={2021}}"""

    def _parse(self, manual_dir: str):
        sheet = self._sheet(manual_dir)
        found = self._manual_file(manual_dir, FRAME_FOLDERS, "HS frames folder (HS_long/SMIC-HS-E/)")
        frames_root = clip_builder.unnested(found)
        if os.path.isdir(os.path.join(frames_root, "HS")):
            frames_root = clip_builder.unnested(os.path.join(frames_root, "HS"))
        return smic_e.parse_smic_e(sheet, frames_root), frames_root

    def _sheet(self, manual_dir: str) -> str:
        """The one SMIC-HS-E annotation sheet within SHEET_DEPTH folders of manual_dir; two are refused."""
        found = []
        top = os.path.normpath(manual_dir).count(os.sep)
        for folder, dirs, names in os.walk(manual_dir):
            deeper = os.path.normpath(folder).count(os.sep) - top < SHEET_DEPTH
            dirs[:] = sorted(d for d in dirs if deeper and not re.fullmatch(r"s\d+", d, re.IGNORECASE))  # frames
            found += [os.path.join(folder, n) for n in names if SHEET_NAME.fullmatch(n) and not n.startswith("~$")]
        if len(found) > 1:
            raise AnnotationError(f"{manual_dir}: {len(found)} candidates for the SMIC-HS-E annotation sheet "
                                  f"({', '.join(sorted(os.path.relpath(p, manual_dir) for p in found))}): keep the "
                                  "one to build from and move the others out")
        if not found:
            raise FileNotFoundError(f"{manual_dir}: no SMIC-HS-E annotation sheet (SMIC-HS-E_annotation.xlsx, "
                                    f".xls or .csv).\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        return found[0]
