"""Prediction from checkpoints: equal to the evaluation pipeline, over folders, videos and TFDS, and its errors."""

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from meint_jax import predict, tasks
from meint_jax.common import errors
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.data.clips.pipeline import WindowSpec
from meint_jax.inference import readers, windows
from meint_jax.tasks.intensity import predictor as estimator_lib
from meint_jax.tasks.intensity import steps as intensity_steps
from meint_jax.training import state as steps
from tests import REPO


def _config(workdir):
    return json.load(open(os.path.join(workdir, "config.json")))


def _data_dir(builder):
    return os.path.dirname(os.path.dirname(os.path.dirname(builder.data_dir)))


def _write_frames(folder, frames, first_number=1, ext="png"):
    os.makedirs(folder, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(os.path.join(folder, f"img{first_number + i}.{ext}"))
    return str(folder)


def _read_csv(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["intensity"]) for r in rows]), rows


def _write_video(path, frames, fps=50, codec="png", pix_fmt="rgb24"):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return str(path)


@pytest.fixture(scope="module")
def held_out_window(tiny_builder, tiny_workdir):
    """A trimmed evaluation window of a held-out clip: its stored frames, and the pipeline's prediction."""
    import jax
    import ml_collections

    from meint_jax.training import checkpoint

    config = ml_collections.ConfigDict(_config(tiny_workdir))
    subject = json.load(open(os.path.join(tiny_workdir, "metrics.json")))["test_subjects"][0]
    spec = WindowSpec("trimmed", config.data.num_steps)
    common = dict(windows_per_clip=1, label_shape="triangular", seed=5)
    stored = input_pipeline.eval_windows(tiny_builder, [subject], spec, image_size=0, **common)
    resized = input_pipeline.eval_windows(tiny_builder, [subject], spec, image_size=config.data.image_size, **common)

    model = tasks.create_model(config)
    tx = steps.create_optimizer(config.train)
    shape = (1, config.data.num_steps, config.data.image_size, config.data.image_size, 3)
    state = steps.init_state(model, tx, shape, 0)
    ckpt = checkpoint.Checkpointer(os.path.join(tiny_workdir, "checkpoints"))
    state, _ = ckpt.restore(state)
    ckpt.close()
    predict = jax.jit(lambda s, x: intensity_steps.predict_step(s, x, model=model))
    expected = np.asarray(predict(state, resized["frames"]))
    return stored, expected


def test_prediction_on_written_frames_equals_the_evaluation_pipeline(held_out_window, tiny_workdir, tmp_path):
    stored, expected = held_out_window
    for i in range(2):
        folder = _write_frames(tmp_path / f"clip{i}", stored["frames"][i], first_number=100)
        predict.run(tiny_workdir, folder, str(tmp_path / "out"), face="none", fps=200)
        got, rows = _read_csv(tmp_path / "out" / f"clip{i}.csv")
        np.testing.assert_allclose(got, expected[i], atol=1e-5)
        assert [int(r["frame_number"]) for r in rows] == list(range(100, 100 + len(got)))
        assert float(rows[2]["time_s"]) == pytest.approx(102 / 200)


def test_api_gives_the_same_curve_as_the_command(held_out_window, tiny_workdir):
    stored, expected = held_out_window
    estimator = estimator_lib.IntensityEstimator.from_checkpoint(tiny_workdir)
    np.testing.assert_allclose(estimator.predict(stored["frames"][0]), expected[0], atol=1e-5)
    # Frames of another size are brought to the training frame size first, as the builders do.
    bigger = np.stack([np.asarray(Image.fromarray(f).resize((64, 64))) for f in stored["frames"][0]])
    assert estimator.predict(bigger).shape == (len(bigger),)


def test_long_input_windows_cover_every_frame_and_merge_exactly():
    for num_frames, window, step in [(200, 16, 5), (31, 8, 1), (40, 8, 3), (5, 8, 2), (100, 16, 1)]:
        positions = windows.window_positions(num_frames, window, step)
        assert positions.shape[1] == window
        assert positions.min() == 0 and positions.max() == num_frames - 1
        if num_frames > (window - 1) * step + 1:
            gaps = np.diff(positions, axis=1)
            assert gaps.min() >= step - 1 and gaps.max() <= step + 1
            assert len(positions) >= 2
        # A linear signal predicted exactly by every window merges back to the same signal on every frame.
        signal = lambda x: 0.3 + 0.01 * x
        curve, sampled = windows.merge_windows(positions, signal(positions.astype(float)), num_frames)
        np.testing.assert_allclose(curve, signal(np.arange(num_frames)), atol=1e-5)
        assert sampled.sum() == len(np.unique(positions))


def test_overlapping_windows_encode_each_frame_once_and_predict_the_same(tiny_workdir):
    variables, config, _ = tasks.restore_for_inference(tiny_workdir)
    config = json.loads(json.dumps(config))
    config["model"]["frame_input"] = "frames"             # the tiny run's model sees residual frames
    estimator = estimator_lib.IntensityEstimator(variables, config, frame_step=1, batch_size=2)
    window, size = estimator.window, estimator.image_size
    frames = np.random.default_rng(0).integers(0, 256, (3 * window + 3, size, size, 3), dtype=np.uint8)
    positions = windows.window_positions(len(frames), window, 1)
    assert len(positions) >= 5                             # overlapping windows, more than one batch of them
    encoded = []
    encode = estimator._encode
    estimator._encode = lambda v, x: encoded.append(x.shape[0] * x.shape[1]) or encode(v, x)
    shared = estimator.predict_positions(frames, positions)
    assert sum(encoded) < positions.size                   # each frame once (plus one batch's padding)
    assert sum(encoded) <= len(np.unique(positions)) + 2 * window * estimator.batch_size
    estimator.shares_frames = False                        # every window through the whole model
    np.testing.assert_allclose(shared, estimator.predict_positions(frames, positions), rtol=1e-5, atol=1e-5)

    config["model"]["frame_input"] = "residual"
    residual = estimator_lib.IntensityEstimator(variables, config)
    assert not residual.shares_frames                      # a frame's input depends on its window's mean there
    one = residual._encode(variables, frames[None, :window])
    other = residual._encode(variables, frames[None, 1:window + 1])
    assert not np.allclose(one[0, 1], other[0, 0], atol=1e-4)   # the same frame, two windows, two encodings


def test_overlapping_windows_are_averaged_by_their_weights():
    positions = np.array([[0, 1, 2, 3], [2, 3, 4, 5]])
    predictions = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    curve, _ = windows.merge_windows(positions, predictions, 6)
    w = np.sin(np.pi * (np.arange(4) + 0.5) / 4)
    np.testing.assert_allclose(curve[[0, 1, 4, 5]], [0, 0, 1, 1])
    np.testing.assert_allclose(curve[2], w[0] / (w[0] + w[2]), rtol=1e-6)   # frame 2: 3rd of window 0, 1st of 1
    np.testing.assert_allclose(curve[3], w[1] / (w[1] + w[3]), rtol=1e-6)


def test_video_round_trip_equals_its_frames(held_out_window, tiny_workdir, tmp_path):
    stored, _ = held_out_window
    frames = np.concatenate([stored["frames"][0], stored["frames"][1]])
    video = _write_video(tmp_path / "clip.avi", frames, fps=50)
    clip = readers.read_video(video, frames.shape[1], "none", 0.25)
    np.testing.assert_array_equal(clip.frames, frames)   # lossless codec: exactly the frames written
    assert clip.fps == 50
    predict.run(tiny_workdir, video, str(tmp_path / "from_video"), face="none")
    predict.run(tiny_workdir, _write_frames(tmp_path / "clip", frames, first_number=0), str(tmp_path / "from_frames"),
                face="none", fps=50)
    from_video, video_rows = _read_csv(tmp_path / "from_video" / "clip.csv")
    from_frames, frame_rows = _read_csv(tmp_path / "from_frames" / "clip.csv")
    np.testing.assert_allclose(from_video, from_frames, atol=1e-6)
    assert [r["time_s"] for r in video_rows] == [r["time_s"] for r in frame_rows]
    record = json.load(open(tmp_path / "from_video" / "clip.json"))
    assert record["fps"] == 50 and len(record["intensity"]) == len(frames)
    assert os.path.getsize(tmp_path / "from_video" / "clip.png") > 5_000


def test_lossy_video_with_a_face_is_cropped_by_dlib(tiny_workdir, tmp_path):
    from meint_jax.data.clips import synthetic

    cfg = synthetic.GeneratorConfig(num_subjects=1, clips_per_subject=1, frame_size=224, min_frames=20,
                                    max_frames=22, min_me_frames=8, max_me_frames=10, min_neutral=4)
    faces = next(synthetic.generate(cfg)).frames
    scene = np.full((len(faces), 320, 400, 3), 90, np.uint8)   # the face somewhere in a larger frame
    scene[:, 40:264, 120:344] = faces
    video = _write_video(tmp_path / "face.mp4", scene, fps=30, codec="mpeg4", pix_fmt="yuv420p")
    summary = predict.run(tiny_workdir, video, str(tmp_path / "out"))   # face="dlib" by default
    assert summary[0]["frames"] == len(faces)
    record = json.load(open(tmp_path / "out" / "face.json"))
    assert record["time_s"][-1] == pytest.approx((len(faces) - 1) / 30, abs=1e-4)
    clip = readers.read_video(video, 32, "dlib", 0.25)
    # The crop holds the face, not the flat background: its frames vary as much as the face's do.
    assert clip.frames.std() > 0.5 * faces.std()


def test_tfds_input_plots_annotations_and_pseudo_target(tiny_builder, tiny_workdir, tmp_path):
    out = tmp_path / "out"
    predict.run(tiny_workdir, "tfds:synthetic_me/tiny", str(out), data_dir=_data_dir(tiny_builder),
                clip_ids=["s01_EP00"])
    assert sorted(os.listdir(out)) == ["s01_EP00.csv", "s01_EP00.json", "s01_EP00.png"]
    record = json.load(open(out / "s01_EP00.json"))
    assert record["onset"] < record["apex"] < record["offset"]
    assert record["frame_step"] >= 1 and record["window"] == 8
    with pytest.raises(errors.UserError, match="no clips"):
        predict.run(tiny_workdir, "tfds:synthetic_me/tiny", str(tmp_path / "none"), data_dir=_data_dir(tiny_builder),
                    clip_ids=["nope"])


def test_resharded_restore_from_eight_devices(held_out_window, tiny_workdir, tmp_path):
    """A checkpoint whose arrays were sharded over 8 devices restores onto this single device."""
    stored, expected = held_out_window
    resharded = str(tmp_path / "resharded")
    script = f"""
import jax, numpy as np, ml_collections, json
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from meint_jax.training import checkpoint
from meint_jax.training import state as steps
from meint_jax import tasks
from meint_jax.tasks.intensity import steps as intensity_steps
assert jax.device_count() == 8
config = ml_collections.ConfigDict(json.load(open({os.path.join(tiny_workdir, 'config.json')!r})))
model, tx = tasks.create_model(config), steps.create_optimizer(config.train)
shape = (1, config.data.num_steps, config.data.image_size, config.data.image_size, 3)
ckpt = checkpoint.Checkpointer({os.path.join(tiny_workdir, 'checkpoints')!r})
state, _ = ckpt.restore(steps.init_state(model, tx, shape, 0))
mesh = Mesh(np.array(jax.devices()), ("data",))
def place(x):
    spec = P("data") if x.ndim and x.shape[0] % 8 == 0 else P()
    return jax.device_put(x, NamedSharding(mesh, spec))
state = jax.tree_util.tree_map(place, state)
assert any(len(x.sharding.device_set) == 8 and not x.sharding.is_fully_replicated
           for x in jax.tree_util.tree_leaves(state))
out = checkpoint.Checkpointer({resharded!r})
out.save(int(state.step), state, config.to_dict())
out.close()
"""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, env=env, capture_output=True)
    estimator = estimator_lib.IntensityEstimator.from_checkpoint(resharded)
    np.testing.assert_allclose(estimator.predict(stored["frames"][0]), expected[0], atol=1e-5)


def _assert_nothing_written(folder):
    assert not os.path.exists(folder) or os.listdir(folder) == []


@pytest.mark.parametrize("case, message", [
    ("empty folder", "no numbered frame images"),
    ("missing path", "no such file or folder"),
    ("corrupt frame", "img3.png: unreadable or corrupt image"),
    ("no face", "no face found"),
    ("not a video", "not a folder of frames, a video"),
])
def test_bad_input_names_the_file_and_writes_nothing(case, message, held_out_window, tiny_workdir, tmp_path):
    stored, _ = held_out_window
    frames = stored["frames"][0]
    if case == "empty folder":
        path = str(tmp_path / "empty")
        os.makedirs(path)
        face = "none"
    elif case == "missing path":
        path, face = str(tmp_path / "absent"), "none"
    elif case == "corrupt frame":
        path, face = _write_frames(tmp_path / "clip", frames), "none"
        with open(os.path.join(path, "img3.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n this is not an image")
    elif case == "no face":
        noise = np.random.default_rng(0).integers(0, 255, size=(6, 96, 96, 3), dtype=np.uint8)
        path, face = _write_video(tmp_path / "noface.avi", noise), "dlib"
    else:
        path = str(tmp_path / "notes.txt")
        open(path, "w").write("hello")
        face = "none"
    with pytest.raises(errors.UserError, match=message) as error:
        predict.run(tiny_workdir, path, str(tmp_path / "out"), face=face)
    if case != "missing path":
        assert os.path.basename(path.rstrip("/")) in str(error.value)
    _assert_nothing_written(tmp_path / "out")


def test_checkpoint_of_another_architecture_is_refused(tiny_workdir, tmp_path):
    copy = str(tmp_path / "other")
    shutil.copytree(tiny_workdir, copy)
    step_dir = os.path.join(copy, "checkpoints", "4")
    path = os.path.join(step_dir, "config", "metadata")
    config = json.load(open(path))
    config["model"]["gru_features"] = 2 * config["model"]["gru_features"]
    json.dump(config, open(path, "w"))
    with pytest.raises(errors.UserError, match="another architecture|do not fit"):
        estimator_lib.IntensityEstimator.from_checkpoint(copy)


def test_encoder_weights_are_not_a_prediction_checkpoint(tmp_path):
    import jax

    from meint_jax.models.resnet import ResNet18
    from meint_jax.training import checkpoint

    path = str(tmp_path / "encoder")
    checkpoint.save_tree(path, ResNet18().init(jax.random.PRNGKey(0), np.zeros((1, 32, 32, 3), np.float32)))
    with pytest.raises(errors.UserError, match="no meint-jax checkpoint|no training config"):
        estimator_lib.IntensityEstimator.from_checkpoint(path)


def test_command_line_error_is_one_line(tiny_workdir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "meint_jax.predict", f"--checkpoint={tiny_workdir}", f"--input={tmp_path}",
         f"--output={tmp_path / 'out'}", "--face=none"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        f"meint_jax.predict: error: {tmp_path}: no numbered frame images (*.jpg, *.png, *.bmp named like img46.jpg)")
    assert "Traceback" not in result.stderr
