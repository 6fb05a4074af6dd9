"""Intensity on paper 002's region motion (model.inputs='flow'): the config arguments, the whole clip's motion
that untrimmed windows read, a tiny run end to end with its resumption, old runs read as frames, and the
refusal of prediction on new recordings."""

import json
import os
import shutil

import jax
import numpy as np
import pytest

from configs.intensity import base as intensity_base
from configs.intensity import synthetic as synthetic_config
from configs.recognition import synthetic as recognition_config
from meint_jax import predict, tasks
from meint_jax.common.errors import ConfigError, PredictError
from meint_jax.data.clips import flow as clip_flow
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.tasks.intensity.predictor import IntensityEstimator
from meint_jax.training import clips, config_checks


def data_dir_of(builder):
    return os.path.dirname(os.path.dirname(os.path.dirname(builder.data_dir)))


def tiny_flow(builder, **train):
    config = synthetic_config.get_config("size=tiny,inputs=flow")
    config.data.data_dir = data_dir_of(builder)
    config.train.update(train)
    return config


def test_inputs_flow_sets_the_flow_stem_its_augmentation_and_the_template_as_recognitions_config_does():
    config = synthetic_config.get_config("inputs=flow,data=subtle")
    assert config.task == "intensity" and config.model.inputs == "flow" and config.data.name == "synthetic_me/subtle"
    assert config.data.clip_landmarks == "template" and config.data.flow_size == 112
    assert config.model.stem_features == 128 and config.data.feature_scale == 0.1
    assert config.model.frame_input == "frames" and not config.data.flip and config.data.min_crop == 1.0
    assert config.data.brightness == 0.0 and config.data.contrast == 0.0
    assert config.data.train_window == "mixed"       # the whole clip's motion serves untrimmed windows too
    config_checks.check_clip_config(config)
    # One function sets the flow fields for both tasks: recognition's flow config holds the same values.
    recognition = recognition_config.get_config("inputs=flow")
    for key in ("model.stem_features", "data.feature_scale", "data.flow_size", "data.clip_landmarks",
                "model.frame_input", "data.flip", "data.min_crop"):
        section, name = key.split(".")
        assert config[section][name] == recognition[section][name], key

    tiny = synthetic_config.get_config("size=tiny,inputs=flow,data=subtle")
    assert tiny.data.name == "synthetic_me/tiny" and tiny.data.flow_size == 32     # no tiny subtle set
    default = synthetic_config.get_config()
    assert default.model.inputs == "frames" and default.model.frame_input == "residual"
    assert "flow_size" not in default.data
    assert synthetic_config.get_config("data=subtle").data.name == "synthetic_me/subtle"
    assert intensity_base.get_config("inputs=flow").data.clip_landmarks == "dlib"
    with pytest.raises(ValueError, match="unknown inputs 'landmarks'"):
        synthetic_config.get_config("inputs=landmarks")
    with pytest.raises(ValueError, match="unknown data 'hard'"):
        synthetic_config.get_config("data=hard")


def test_a_flow_intensity_config_refuses_image_augmentations_and_recognition_alone_needs_trimmed_windows():
    config = synthetic_config.get_config("inputs=flow")
    config.data.min_crop = 0.85
    with pytest.raises(ConfigError, match="min_crop=0.85: image augmentations move the regions"):
        config_checks.check_clip_config(config)
    recognition = recognition_config.get_config("inputs=flow")
    recognition.data.train_window = "mixed"
    with pytest.raises(ConfigError, match="train_window='mixed': clip recognition's region motion"):
        config_checks.check_recognition_config(recognition)


def test_the_motion_of_a_whole_clip_covers_every_frame_an_untrimmed_window_reads(tiny_builder):
    config = tiny_flow(tiny_builder)
    subject = input_pipeline.list_subjects(tiny_builder)[0]
    whole = clips.clip_motions(config, tiny_builder, [subject], span="clip")
    trimmed = clips.clip_motions(config, tiny_builder, [subject])
    assert whole.keys() == trimmed.keys() and len(whole) == 3
    assert all(a is b for a, b in zip(whole.values(), clips.clip_motions(config, tiny_builder, [subject],
                                                                         "clip").values()))   # computed once
    spec = clips.window_spec(config, "untrimmed", jitter=True)
    windows = input_pipeline.eval_windows(tiny_builder, [subject], spec, windows_per_clip=8, image_size=32,
                                          label_shape="triangular", seed=3, decode=False)
    for clip in input_pipeline.clip_frames(tiny_builder, [subject]):
        key = clip_flow.motion_key(clip["clip_id"], clip["onset"])
        np.testing.assert_array_equal(whole[key].frame_numbers, clip["frame_numbers"])   # every stored frame
        inside = (clip["frame_numbers"] >= clip["onset"]) & (clip["frame_numbers"] <= clip["offset"])
        np.testing.assert_array_equal(trimmed[key].frame_numbers, clip["frame_numbers"][inside])
        # The untrimmed windows read frames outside [onset, offset], each a frame of its own in the whole clip.
        mine = windows["clip_id"] == clip["clip_id"].encode()
        positions = windows["positions"][mine]
        assert positions.min() < clip["onset"] or positions.max() > clip["offset"]
        assert np.isin(positions, whole[key].frame_numbers).all()
    # Recognition's span: its motion is the tracker's, started on the onset frame, as before the move.
    clip = next(input_pipeline.clip_frames(tiny_builder, [subject]))
    expected = clip_flow.clip_motion(clip["frames"], clip["frame_numbers"], clip["onset"], clip["offset"], 32,
                                     "template")
    np.testing.assert_array_equal(trimmed[clip_flow.motion_key(clip["clip_id"], clip["onset"])].trajectories,
                                  expected.trajectories)
    with pytest.raises(ValueError, match="unknown motion span 'onset'"):
        clips.clip_motions(config, tiny_builder, [subject], span="onset")


@pytest.fixture(scope="module")
def flow_run(tiny_builder, tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("intensity_flow") / "run")
    return workdir, tasks.train_and_evaluate(tiny_flow(tiny_builder), workdir)


@pytest.mark.slow
def test_a_tiny_flow_run_scores_the_model_and_the_prior_in_both_protocols_and_resumes(flow_run, tiny_builder,
                                                                                      tmp_path):
    workdir, summary = flow_run
    saved = json.load(open(os.path.join(workdir, "metrics.json")))
    assert saved == json.loads(json.dumps(summary)) and saved["train_steps"] == 6
    assert saved["compilations"] == {"train_step": 1, "predict_step": 1}
    for protocol in ("trimmed", "untrimmed"):
        for predictor in ("model", "position_prior"):
            r = saved[protocol][predictor]
            assert all(np.isfinite(r[k]) for k in ("spearman", "kendall", "true_spearman")), (protocol, predictor)
            assert r["num_clips"] == 3
    config = json.load(open(os.path.join(workdir, "config.json")))
    assert config["model"]["inputs"] == "flow" and config["data"]["flow_size"] == 32
    assert "region motion of 12 clips at 32 px" in open(os.path.join(workdir, "train.log")).read()
    variables, restored, _ = tasks.restore_for_inference(workdir)
    kernel = variables["params"]["encoder"]["ConvBNReLU_0"]["Conv_0"]["kernel"]
    assert kernel.shape[1:] == (36, restored["model"]["stem_features"])     # the flow stem reads the 36 motions

    killed = str(tmp_path / "killed")                 # what a kill between steps 3 and 6 leaves behind
    shutil.copytree(workdir, killed)
    shutil.rmtree(os.path.join(killed, "checkpoints", "6"))
    os.remove(os.path.join(killed, "metrics.json"))
    resumed = tasks.train_and_evaluate(tiny_flow(tiny_builder), killed)
    assert f"resumed from {os.path.join(killed, 'checkpoints', '3')}" in open(os.path.join(killed, "train.log")).read()
    for protocol in ("trimmed", "untrimmed"):
        assert resumed[protocol]["model"]["per_clip"] == saved[protocol]["model"]["per_clip"]


@pytest.mark.slow
def test_predict_refuses_a_flow_run_in_one_line_naming_it(flow_run, tiny_builder, tmp_path):
    workdir, _ = flow_run
    with pytest.raises(PredictError) as refused:
        predict.run(workdir, "tfds:synthetic_me/tiny", str(tmp_path / "out"), data_dir=data_dir_of(tiny_builder))
    message = str(refused.value)
    assert message.startswith(f"{workdir}: an intensity run on paper 002's region motion") and "\n" not in message
    variables, config, _ = tasks.restore_for_inference(workdir)
    with pytest.raises(PredictError, match="model.inputs='flow'"):
        IntensityEstimator(variables, config)


def test_a_run_saved_without_model_inputs_reads_as_frames():
    config = synthetic_config.get_config("size=tiny").to_dict()
    del config["model"]["inputs"]                     # as runs saved before the field existed
    example = tasks.get(config).example_input(config)
    assert example.shape == (1, 8, 32, 32, 3) and example.dtype == np.uint8
    model = tasks.create_model(config)
    assert model.inputs == "frames" and "ResNet" in type(model.encoder).__name__
    flow = synthetic_config.get_config("size=tiny,inputs=flow").to_dict()
    example = tasks.get(flow).example_input(flow)
    assert example.shape == (1, 8, 36) and example.dtype == np.float32
    shapes = jax.eval_shape(lambda: tasks.create_model(flow).init(jax.random.PRNGKey(0), np.zeros(example.shape,
                                                                                                  np.float32)))
    assert set(shapes["params"]) == {"encoder", "GRUCell_0", "GRUCell_1", "head"}
    assert not tasks.create_model(flow).frames_encoded_alone    # a window's motion is measured from its first frame
