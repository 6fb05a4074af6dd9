"""Every config file loads and names a dataset config that a builder registers; argument values are checked."""

import glob
import importlib
import os

import pytest
import tensorflow_datasets as tfds

import data_builders
from configs.recognition import casme3 as casme3_recognition
from configs.recognition import megc2019 as megc2019_recognition
from configs.recognition import smic as smic_recognition

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_FILES = sorted(os.path.relpath(p, ROOT)[:-3].replace(os.sep, ".")
                      for p in glob.glob(os.path.join(ROOT, "configs", "*", "*.py"))
                      if os.path.basename(p) != "__init__.py")


@pytest.mark.parametrize("module", CONFIG_FILES)
def test_each_config_file_names_a_dataset_config_that_a_builder_registers(module):
    config = importlib.import_module(module).get_config()
    name, _, builder_config = config.data.name.partition("/")
    assert name in data_builders.NAMES, f"{module}: {config.data.name}"
    builder = tfds.builder_cls(name)
    assert builder_config in {c.name for c in builder.BUILDER_CONFIGS}, f"{module}: {config.data.name}"


@pytest.mark.parametrize("arg, data_name, labels, others", [
    ("", "casme3_clips/dlib_224", "three", "exclude"), ("classes=4", "casme3_clips/dlib_224", "three", "class"),
    ("classes=7", "casme3_clips/dlib_224", "native", "class")])
def test_cas_me_3_recognition_takes_its_three_class_sets(arg, data_name, labels, others):
    config = casme3_recognition.get_config(arg)
    assert (config.data.name, config.data.emotion_labels, config.data.others) == (data_name, labels, others)


def test_the_composite_and_smic_configs_take_their_arguments_and_refuse_others():
    assert megc2019_recognition.get_config("protocol=lodo").eval.protocol == "lodo"
    assert megc2019_recognition.get_config().eval.protocol == "loso"
    assert megc2019_recognition.get_config("data=synthetic").data.name == "megc2019/synthetic"
    assert smic_recognition.get_config("part=nir").data.name == "smic/nir_cropped_224"
    for module, arg in ((megc2019_recognition, "protocol=holdout"), (megc2019_recognition, "data=casme2"),
                        (smic_recognition, "part=ir"), (casme3_recognition, "classes=5")):
        with pytest.raises(ValueError, match="unknown"):
            module.get_config(arg)
