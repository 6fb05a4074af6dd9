"""casme_sq: CAS(ME)^2 long videos (part A), from the user's licensed copy."""

from __future__ import annotations

import tensorflow_datasets as tfds

from data_builders import long_video_builder
from meint_jax.data.long import annotations as long_annotations


class Builder(long_video_builder.ManualLongVideoBuilder):
    """CAS(ME)^2 long videos (30 fps) in the meint-jax long-video schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = long_video_builder.real_configs()
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    CAS(ME)^2 is licensed: request it from its authors, then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed:
      CAS(ME)^2code_final.xlsx                  the coding workbook (any name: it is found
                                                by its sheets CASFEcode_final, naming rule1/2)
      rawpic/s15/15_0101disgustingteeth/img1.jpg ...   the frames of each long video
    """
    CITATION = """@article{qu2018casme2,
      title={CAS(ME)^2: A Database for Spontaneous Macro-Expression and Micro-Expression Spotting and Recognition},
      author={Qu, Fangbing and Wang, Su-Jing and Yan, Wen-Jing and Li, He and Wu, Shuhang and Fu, Xiaolan},
      journal={IEEE Transactions on Affective Computing}, volume={9}, number={4}, pages={424--436}, year={2018}}"""

    def _parse(self, manual_dir: str):
        workbook = long_annotations.find_casme_sq_workbook(manual_dir)
        rawpic = self._manual_file(manual_dir, ("rawpic", "*/rawpic"), "frames folder (rawpic/)")
        return long_annotations.parse_casme_sq(workbook, rawpic), rawpic
