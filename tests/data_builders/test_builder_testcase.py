"""TFDS's own DatasetBuilderTestCase over generated fixture copies of CASME II and SAMM."""

import tempfile

import numpy as np
import tensorflow_datasets as tfds

from data_builders import clip_builder
from data_builders.casme2 import casme2_dataset_builder as casme2
from data_builders.samm import samm_dataset_builder as samm
from meint_jax.testing.fixtures import casme2_sheet, samm_sheet, write_jpeg


def casme2_fixture() -> str:
    root, rng = tempfile.mkdtemp(prefix="casme2_manual_"), np.random.default_rng(0)
    rows = []
    for subject, clip in ((1, "EP02_01f"), (4, "EP12_02f"), (4, "EP13_01")):
        for n in range(46, 56):
            write_jpeg(f"{root}/Cropped/sub{subject:02d}/{clip}/reg_img{n}.jpg", rng)
        rows.append((subject, clip, 46, 50, 55, "12", "happiness"))
    rows.append((4, "EP13_01", 46, "/", 55, "12", "happiness"))   # skipped: no apex
    casme2_sheet(f"{root}/CASME2-coding-20140508.xlsx", rows)
    return root


def samm_fixture() -> str:
    root, rng = tempfile.mkdtemp(prefix="samm_manual_"), np.random.default_rng(1)
    rows = []
    for subject, clip in (("006", "006_1_2"), ("011", "011_2_3")):
        for n in range(5560, 5570):
            write_jpeg(f"{root}/SAMM/{subject}/{clip}/{subject}_{n:05d}.jpg", rng)
        rows.append((subject, clip, 5561, 5564, 5568, "12", "Happiness"))
    samm_sheet(f"{root}/SAMM_Micro_FACS_Codes_v2.xlsx", rows)
    return root


class Casme2BuilderTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = casme2.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = [clip_builder.ClipBuilderConfig(
        name="cropped_32", frame_size=32, crop="none", frame_roots=("Cropped",))]
    EXAMPLE_DIR = casme2_fixture()
    SPLITS = {"train": 3}
    MOCK_OUT_FORBIDDEN_OS_FUNCTIONS = False   # the builders read the user's files with os/glob on purpose
    SKIP_CHECKSUMS = True                     # nothing is downloaded


class SammBuilderTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = samm.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = [clip_builder.ClipBuilderConfig(
        name="whole_32", frame_size=32, crop="none", frame_roots=("SAMM",))]
    EXAMPLE_DIR = samm_fixture()
    SPLITS = {"train": 2}
    MOCK_OUT_FORBIDDEN_OS_FUNCTIONS = False
    SKIP_CHECKSUMS = True
