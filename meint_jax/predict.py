"""Per-frame intensity curves for new recordings, or their emotion, from a trained checkpoint.

    python -m meint_jax.predict --checkpoint=WORKDIR --input=PATH --output=DIR

PATH is a folder of frames, a video file, or `tfds:NAME/CONFIG[:SPLIT]` (e.g.
`tfds:synthetic_me/default:train`). With an intensity run, writes NAME.csv, NAME.json
and NAME.png per input (`tasks.intensity.predictor.IntensityEstimator`); with a clip-recognition
run (configs/recognition/), NAME.json per input and emotions.csv, each input taken as one
expression from its onset to its offset, or whole where none is annotated
(`tasks.recognition.predictor.ClipRecognizer`).
"""

from meint_jax.common import cli

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

import os
import time
from typing import Sequence

import numpy as np
from absl import flags, logging

from meint_jax import tasks
from meint_jax.common import files
from meint_jax.common.errors import PredictError
from meint_jax.data import faces
from meint_jax.inference import readers, writers
from meint_jax.tasks.intensity.predictor import IntensityEstimator
from meint_jax.tasks.recognition.predictor import ClipRecognizer


def run(checkpoint: str, input_path: str, output: str, *, step: int | None = None, face: str = "dlib",
        margin: float = 0.25, fps: float | None = None, frame_step: int | None = None, batch_size: int = 8,
        data_dir: str | None = None, clip_ids: Sequence[str] | None = None,
        allow_truncated: bool = False) -> list[dict]:
    """The command's work: every input clip -> curve files in `output`; returns a summary per clip.

    Every setting and the output folder are checked before anything is decoded.
    """
    if fps is not None and not fps > 0:
        raise PredictError(f"--fps={fps}: use the recording's frame rate, a positive number")
    if batch_size < 1:
        raise PredictError(f"--batch_size={batch_size}: windows per forward pass, at least 1")
    output = files.writable_folder(output, "--output")
    variables, config, restored_step = tasks.restore_for_inference(checkpoint, step)
    task = tasks.name_of(config)
    if task not in PREDICTS:
        raise PredictError(f"{checkpoint}: a {task} run; spot long recordings with python -m meint_jax.spot")
    return PREDICTS[task](variables, config, checkpoint, restored_step, input_path, output, face=face,
                          margin=margin, fps=fps, frame_step=frame_step, batch_size=batch_size, data_dir=data_dir,
                          clip_ids=clip_ids, allow_truncated=allow_truncated)


def estimate(variables, config, checkpoint: str, restored_step: int, input_path: str, output: str, *, face: str,
             margin: float, fps, frame_step, batch_size: int, data_dir, clip_ids, allow_truncated) -> list[dict]:
    """An intensity run's curves for every input clip."""
    try:
        estimator = IntensityEstimator(variables, config, frame_step=frame_step, batch_size=batch_size)
    except PredictError as e:     # a run it cannot apply (one on region motion), or a bad setting: name the run
        raise PredictError(f"{checkpoint}: {e}") from e
    clips = readers.read_inputs(input_path, estimator.frame_size, face=face, margin=margin, fps=fps,
                                data_dir=data_dir, clip_ids=clip_ids, allow_truncated=allow_truncated)
    settings = {"checkpoint": os.path.abspath(checkpoint), "checkpoint_step": restored_step,
                "window": estimator.window, "frame_step": estimator.frame_step}
    summaries = []
    for clip in clips:
        start = time.perf_counter()
        try:
            curve, sampled, num_windows = estimator.predict_curve(clip.frames, progress=None)
        except PredictError as e:
            raise PredictError(f"{clip.source}: {e}") from e
        seconds = time.perf_counter() - start
        written = writers.write_curve(output, clip, curve, sampled, settings, config["data"]["pseudo_label"])
        summaries.append({"name": clip.clip_id, "frames": len(curve), "windows": num_windows,
                          "seconds": seconds, "files": written})
        logging.info("%s: %d frames, %d windows, %.1f frames/s -> %s", clip.clip_id, len(curve), num_windows,
                     len(curve) / seconds, written[0].rsplit(".", 1)[0] + ".{csv,json,png}")
    if not summaries:
        raise PredictError(f"{input_path}: no clips to predict")
    total_frames = sum(s["frames"] for s in summaries)
    total_seconds = sum(s["seconds"] for s in summaries)
    print(f"Predicted {len(summaries)} input(s), {total_frames} frames at {total_frames / total_seconds:.1f} "
          f"frames/s (first call includes compilation); outputs in {os.path.abspath(output)}")
    return summaries


def recognise(recognizer: ClipRecognizer, checkpoint: str, restored_step: int, input_path: str, output: str,
              **read_options) -> list[dict]:
    """Every input clip -> its emotion (NAME.json), and emotions.csv over all of them."""
    clips = readers.read_inputs(input_path, recognizer.frame_size, **read_options)
    settings = {"checkpoint": os.path.abspath(checkpoint), "checkpoint_step": restored_step,
                "window": recognizer.window, "inputs": recognizer.inputs}
    rows = []
    for clip in clips:
        try:
            probabilities, read, landmarks = recognizer.predict(clip.frames, clip.frame_numbers, clip.onset,
                                                                clip.offset)
        except PredictError as e:
            raise PredictError(f"{clip.source}: {e}") from e
        user_input = not clip.source.startswith("tfds:")
        if user_input and landmarks == "template" and recognizer.landmarks == "dlib":
            raise PredictError(f"{clip.source}: dlib finds no face in its frames, so the model's face regions "
                               "cannot be placed: nothing to recognise (frames must show a face)")
        if clip.face_present is not None and not np.all(np.asarray(clip.face_present)[read]):
            raise PredictError(f"{clip.source}: {faces.absence_warning(clip.frame_numbers, clip.face_present)}; an "
                               "emotion is read from frames that show the "
                               "face: trim the recording to them")
        rows.append(writers.write_emotion(output, clip, probabilities, recognizer.classes, read,
                                          {**settings, "landmarks": landmarks},
                                          recognizer.config["data"].get("emotion_labels", "three")))
        logging.info("%s: %s (%.3f)", clip.clip_id, rows[-1]["emotion"], rows[-1]["probability"])
    if not rows:
        raise PredictError(f"{input_path}: no clips to recognise")
    table = writers.write_emotion_table(output, rows)
    print(f"Recognised {len(rows)} input(s): {table}")
    return rows


def recognise_clips(variables, config, checkpoint: str, restored_step: int, input_path: str, output: str, *,
                    frame_step, batch_size: int, **read_options) -> list[dict]:
    """A clip-recognition run's emotion for every input clip (one window each: no --frame_step)."""
    if frame_step is not None:
        raise PredictError(f"--frame_step={frame_step}: a clip-recognition run reads one window per input, "
                           "spread from onset to offset; leave --frame_step unset")
    return recognise(ClipRecognizer(variables, config), checkpoint, restored_step, input_path, output,
                     **read_options)


# What this command does with a run of each task (spotting runs belong to meint_jax.spot).
PREDICTS = {"intensity": estimate, "recognition": recognise_clips}

FLAGS = flags.FLAGS


def define_flags():
    cli.define_input_flags(
        checkpoint_help="Training workdir, its checkpoints/ folder, or one step folder.",
        face_help="Crop the face with dlib (one box per input, from its first frame that shows the face), or use "
                  "frames that are already face crops.",
        fps_help="Frame rate of a folder of frames (videos carry theirs); gives the time column.", batch_size=8)
    flags.DEFINE_float("face_margin", 0.25, "Margin around brows, eyes and mouth, as a fraction of the box.")
    flags.DEFINE_integer("frame_step", None, "Frames between a window's positions (default: from the checkpoint).")
    flags.DEFINE_list("clips", None, "For tfds: inputs, the clip ids to predict (default: all).")
    flags.adopt_module_key_flags(cli)   # --help lists the shared flags too


def main(argv):
    del argv
    run(FLAGS.checkpoint, FLAGS.input, FLAGS.output, step=FLAGS.step, face=FLAGS.face, margin=FLAGS.face_margin,
        fps=FLAGS.fps, frame_step=FLAGS.frame_step, batch_size=FLAGS.batch_size, data_dir=FLAGS.data_dir,
        clip_ids=FLAGS.clips, allow_truncated=FLAGS.allow_truncated)


if __name__ == "__main__":
    define_flags()
    cli.run(main, "meint_jax.predict")
