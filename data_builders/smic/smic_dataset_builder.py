"""smic: SMIC spontaneous micro-expressions (HS, VIS, NIR; and SMIC-E), from the user's licensed copy."""

from __future__ import annotations

import dataclasses
import os

import tensorflow_datasets as tfds
from absl import logging

from data_builders import clip_builder
from meint_jax.data.clips import smic

SIZES = (128, 224, 256)
FPS = {"HS": 100, "VIS": 25, "NIR": 25}
APEX_SHEET_GLOBS = ("smic_apex.xlsx", "smic_apex.csv", "*/smic_apex.xlsx", "*/smic_apex.csv")
DEPTHS = ("", "*/", "*/*/", "*/*/*/")   # manual_dir may be SMIC/, SMIC-E_raw image/, HS_long/, ...
APEX_NOTE = ("Intensity (paper 001) should use an apex sheet: without smic_apex.xlsx the apex is placed on the "
             "middle frame (counted in build_summary.json as 'apex placed'); recognition needs no apex.")


@dataclasses.dataclass
class SmicConfig(clip_builder.ClipBuilderConfig):
    sub_dataset: str = "HS"     # HS (100 fps), VIS or NIR (25 fps)
    extended: bool = False      # SMIC-E: longer folders; its workbook gives onset and offset


def workbook_globs(sub: str) -> tuple[str, ...]:
    """The camera's own SMIC-E workbook, else (VIS, NIR) SMIC-HS-E_annotation.xlsx, which holds a VIS sheet too."""
    names = [f"SMIC-{sub}-E_annotation*.xlsx"] + (["SMIC-HS-E_annotation*.xlsx"] if sub != "HS" else [])
    return tuple(depth + name for name in names for depth in DEPTHS)


def _configs() -> list[SmicConfig]:
    configs = []
    for sub in smic.SUB_DATASETS:
        s, apex = sub.lower(), APEX_NOTE if sub == "HS" else "The apex is placed on the middle frame (counted)."
        for size in SIZES:
            configs += [
                SmicConfig(name=f"{s}_cropped_{size}", frame_size=size, crop="none", sub_dataset=sub,
                           frame_roots=(f"SMIC_all_cropped/{sub}", f"*/SMIC_all_cropped/{sub}", sub),
                           description=f"SMIC-{sub} ({FPS[sub]} fps): the released face crops (SMIC_all_cropped/"
                                       f"{sub}), {size}x{size}; a clip folder is the expression. {apex}"),
                SmicConfig(name=f"{s}_dlib_{size}", frame_size=size, crop="dlib", sub_dataset=sub,
                           frame_roots=(f"SMIC_all_raw/{sub}", f"*/SMIC_all_raw/{sub}", sub),
                           description=f"SMIC-{sub} whole frames (SMIC_all_raw/{sub}) cropped by dlib landmarks "
                                       f"(one box per clip), {size}x{size}. {apex}"),
            ]
            configs.append(SmicConfig(
                name=f"{s}_e_dlib_{size}", frame_size=size, crop="dlib", sub_dataset=sub, extended=True,
                frame_roots=tuple(depth + f"SMIC[-_]{sub}[-_]E" for depth in DEPTHS[:3]),
                description=f"SMIC-E-{sub}: longer folders, onset/offset from SMIC-{sub}-E_annotation.xlsx, a "
                            f"record per expression with its folder's frames up to the subject's other "
                            f"expressions, cropped by dlib, {size}x{size}. {apex}"))
    return configs


class Builder(clip_builder.ClipDatasetBuilder):
    """SMIC clips (HS 100 fps; VIS, NIR 25 fps) in the meint-jax clip schema: negative, positive, surprise."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    LAYOUT = smic.APEX_SHEET
    SHEET_GLOBS = APEX_SHEET_GLOBS
    BUILDER_CONFIGS = _configs()
    DEFAULT_CONFIG_NAME = "hs_cropped_224"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    SMIC is licensed: request it from its authors (University of Oulu), then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed:
      SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image559740.bmp   face crops (the *_cropped_* configs;
                                                                            VIS/ and NIR/ alike), and/or
      SMIC_all_raw/HS/s1/micro/negative/s1_ne_01/image559740.bmp           whole frames (the *_dlib_* configs)
    or the extended release (the *_e_dlib_* configs):
      SMIC-E_raw image/HS_long/SMIC-HS-E/s01/s1_ne_01/image559700.jpg     (VIS_long/SMIC-VIS-E/, NIR_long/...)
      SMIC-E_raw image/HS_long/SMIC-HS-E_annotation.xlsx                  onset/offset (sheets HS, VIS; and
                                                                           SMIC-VIS-E_, SMIC-NIR-E_annotation.xlsx)
    and optionally, for HS, the apex sheet (smic_apex.xlsx or smic_apex.csv: subject, clip, label,
    onset_frame, apex_frame, offset_frame): without it each clip's apex is placed on its middle frame.
    """
    CITATION = """@inproceedings{li2013smic,
      title={A Spontaneous Micro-expression Database: Inducement, collection and baseline},
      author={Li, Xiaobai and Pfister, Tomas and Huang, Xiaohua and Zhao, Guoying and Pietik{\\"a}inen, Matti},
      booktitle={10th IEEE International Conference and Workshops on Automatic Face and Gesture Recognition (FG)},
      pages={1--6}, year={2013}}
    @article{li2018smice,
      title={Towards Reading Hidden Emotions: A Comparative Study of Spontaneous Micro-Expression Spotting and
             Recognition Methods},
      author={Li, Xiaobai and Hong, Xiaopeng and Moilanen, Antti and Huang, Xiaohua and Pfister, Tomas and
              Zhao, Guoying and Pietik{\\"a}inen, Matti},
      journal={IEEE Transactions on Affective Computing}, volume={9}, number={4}, pages={563--577}, year={2018}}"""

    @classmethod
    def parse_manual(cls, manual_dir: str, config: SmicConfig) -> tuple[smic.SmicParseResult, dict]:
        """SMIC has no coding sheet: clips come from the folder tree (or SMIC-E's workbook), the apex from the
        apex sheet where there is one (HS frame numbers: HS configs only)."""
        root = clip_builder.unnested(cls._manual_file(manual_dir, config.frame_roots, "frames folder"))
        if config.crop == "none" and "SMIC_all_raw" in os.path.abspath(root).split(os.sep):
            raise FileNotFoundError(f"{root}: whole frames (SMIC_all_raw) for the face-crop config {config.name}: "
                                    f"use a *_dlib_* config, or point manual_dir at SMIC_all_cropped."
                                    f"\n{cls.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        apex_sheet = None
        if config.sub_dataset == "HS":
            apex_sheet = clip_builder.manual_file(manual_dir, APEX_SHEET_GLOBS, "apex sheet", required=False)
        if config.extended:
            workbook = cls._manual_file(manual_dir, workbook_globs(config.sub_dataset), "SMIC-E annotation workbook")
            parsed = smic.parse_extended(root, workbook, config.sub_dataset, apex_sheet)
            sheets = [workbook]
        else:
            parsed = smic.parse_tree(root, apex_sheet)
            sheets = []
        sheets += [apex_sheet] if apex_sheet else []
        logging.info("%s: frames in %s, sheets %s: %d clips, %d skipped, %d repaired", cls.__name__, root, sheets,
                     len(parsed.clips), len(parsed.skipped), len(parsed.repaired))
        return parsed, {**clip_builder.sources_of(manual_dir, sheets, root), **smic.repairs_summary(parsed.repaired)}
