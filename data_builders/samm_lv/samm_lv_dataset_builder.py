"""samm_lv: SAMM long videos, from the user's licensed copy."""

from __future__ import annotations

import tensorflow_datasets as tfds
from absl import logging

from data_builders import long_video_builder
from meint_jax.data.long import annotations as long_annotations


class Builder(long_video_builder.ManualLongVideoBuilder):
    """SAMM-LV long videos (200 fps, 2040x1088) in the meint-jax long-video schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = long_video_builder.real_configs()
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    SAMM-LV is licensed: request SAMM (long videos) from its authors, then point
    --manual_dir (or config.data.manual_dir) at the folder holding, as distributed:
      SAMM_LongVideos_V3_Release.xlsx          the long-video workbook
      SAMM_Micro_FACS_Codes_v2.xlsx            SAMM's micro sheet: the emotions of micro rows
                                               (optional: without it they are all 'others')
      SAMM_longvideos/006_1/006_1_0001.jpg ... the frames of each long video
    """
    CITATION = """@inproceedings{yap2020samm,
      title={SAMM Long Videos: A Spontaneous Facial Micro- and Macro-Expressions Dataset},
      author={Yap, Chuin Hong and Kendrick, Connah and Yap, Moi Hoon},
      booktitle={IEEE International Conference on Automatic Face and Gesture Recognition (FG)}, year={2020}}"""

    def _parse(self, manual_dir: str):
        workbook = self._manual_file(manual_dir, ("SAMM_LongVideos*.xlsx", "*/SAMM_LongVideos*.xlsx"),
                                     "long-video workbook")
        micro = self._manual_file(manual_dir, ("SAMM_Micro_FACS_Codes*.xlsx", "*/SAMM_Micro_FACS_Codes*.xlsx"),
                                  "SAMM micro sheet", required=False)
        if micro is None:
            logging.warning("%s: no SAMM_Micro_FACS_Codes*.xlsx: every micro-expression gets emotion 'others'",
                            manual_dir)
        frames_root = self._manual_file(manual_dir, ("SAMM_longvideos", "SAMM_LongVideos", "*/SAMM_longvideos",
                                                     "*/SAMM_LongVideos"), "frames folder (SAMM_longvideos/)")
        return long_annotations.parse_samm_lv(workbook, micro, frames_root), frames_root
