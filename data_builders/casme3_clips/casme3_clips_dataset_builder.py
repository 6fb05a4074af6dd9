"""casme3_clips: CAS(ME)^3 part A micro-expressions as clips, trimmed from its long videos.

Part A ships long recordings, not clips: its expressions workbook gives each
expression's frames and type, the ME label workbook each micro-expression's
emotion, joined on (subject, file name, onset) as `parse_casme3` reads them
for the long-video builder. Each micro-expression becomes one clip, frames
onset to offset of its video (numbered as in the video, gaps kept). The house
rule for clip datasets holds: nothing guessed. A micro-expression without an
annotated apex or without an emotion in the label workbook is skipped with its
reason, as is one whose onset it shares with another micro-expression of the
video (the label workbook's key cannot tell their emotions apart). Macro-
expressions are not clips of this set: they are counted in the summary
(`macro_expressions_left_out`), not listed. A micro-expression skipped here is
named by its clip id (`spNO.1/a@123`: subject, file name and onset, the
workbooks' own key), with no row number: the parsed intervals carry none.
"""

from __future__ import annotations

import collections
import os

import tensorflow_datasets as tfds
from absl import logging

from data_builders import clip_builder
from data_builders.casme3 import casme3_dataset_builder as casme3
from meint_jax.data.clips import annotations
from meint_jax.data.clips.clip import Clip
from meint_jax.data.long import annotations as long_annotations
from meint_jax.data.long import videos as long_videos

SIZES = (128, 224, 256)
# The label workbook's seven emotions (happy, sad, ... as written there), in the spelling every dataset shares.
EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "others")

LAYOUT = annotations.SheetLayout(
    name="CAS(ME)^3 part A",
    columns=long_annotations.CASME3_LABEL_COLUMNS,
    subject_digits=0,
    emotions=EMOTIONS,
    emotion_aliases=long_videos.EMOTION_ALIASES,
    clip_dir=lambda root, subject, filename: os.path.join(root, subject, filename, "color"),
)


def _skip(skipped: list, subject: str, clip_id: str, reason: str) -> None:
    logging.warning("%s skipped: %s", clip_id, reason)
    skipped.append({"row": None, "subject": subject, "clip": clip_id, "reason": reason})


def _clip_or_reason(video: long_videos.LongVideo, interval: long_videos.Interval, clip_id: str) -> Clip | str:
    """The micro-expression's clip, or why it cannot be one."""
    on, ap, off = interval.onset, interval.apex, interval.offset
    if not interval.apex_annotated:
        return f"missing apex: not annotated in the expressions workbook (onset {on}, offset {off})"
    if not interval.native_emotion:
        return (f"no emotion in the label workbook: no row there with {video.subject}, file "
                f"{video.video_id.split('/')[-1]}, onset {on} (or its emotion cell is blank)")
    if interval.native_emotion not in EMOTIONS:
        return f"unknown emotion: {interval.native_emotion!r} (expected one of {', '.join(EMOTIONS)})"
    if on == off:
        return f"single-frame interval: onset = apex = offset = {on}"
    numbers = video.frame_numbers.tolist()
    absent = [n for n in (on, ap, off) if n not in numbers]
    if absent:
        return f"annotated frames not on disk: {absent} in {os.path.dirname(video.frame_paths[0])}"
    inside = [i for i, n in enumerate(numbers) if on <= n <= off]
    return Clip(subject=video.subject, clip_id=clip_id, frame_numbers=[numbers[i] for i in inside],
                frame_paths=tuple(video.frame_paths[i] for i in inside), onset=on, apex=ap, offset=off,
                emotion=interval.native_emotion, action_units=interval.action_units, fps=video.fps,
                source=video.source)


def micro_expression_clips(parsed: long_annotations.LongParseResult) -> tuple[annotations.ParseResult, int]:
    """(each micro-expression of the parsed long videos as a clip, or skipped with its reason, after the rows
    the long-video parse skipped; the number of macro-expressions left out)."""
    result = annotations.ParseResult(clips=[], skipped=list(parsed.skipped))
    macro = 0
    for video in parsed.videos:
        onsets = collections.Counter(i.onset for i in video.intervals if i.kind == "micro")
        for interval in video.intervals:
            if interval.kind != "micro":
                macro += 1
                continue
            clip_id = f"{video.video_id}@{interval.onset}"
            if onsets[interval.onset] > 1:
                outcome = (f"ambiguous onset: {onsets[interval.onset]} micro-expressions of {video.video_id} start "
                           f"at frame {interval.onset} (this one ends at {interval.offset}), and the label workbook "
                           "gives emotions by onset")
            else:
                outcome = _clip_or_reason(video, interval, clip_id)
            if isinstance(outcome, Clip):
                result.clips.append(outcome)
            else:
                _skip(result.skipped, video.subject, clip_id, outcome)
    return result, macro


class Builder(clip_builder.ClipDatasetBuilder):
    """CAS(ME)^3 part A micro-expression clips (30 fps, whole colour frames cropped by dlib)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    LAYOUT = LAYOUT
    BUILDER_CONFIGS = [
        clip_builder.ClipBuilderConfig(
            name=f"dlib_{size}", frame_size=size, crop="dlib", frame_roots=casme3.FRAME_FOLDERS,
            description=f"Micro-expressions trimmed from the colour frames, cropped by dlib landmarks (one box "
                        f"per clip), {size}x{size}.")
        for size in SIZES
    ]
    DEFAULT_CONFIG_NAME = "dlib_224"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    CAS(ME)^3 is licensed: request it from its authors, then point --manual_dir
    (or config.data.manual_dir) at the folder holding, as distributed:
      annotation/CAS(ME)3_part_A_v2.xls                      the expressions: type, onset, apex, offset, AUs
      annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   the MEs' emotions (required; also in annotation/partA/)
      part_A/data/part_A/spNO.1/a/color/0.jpg ...            the colour frames (depth/ is not read; part_A_split/
                                                             part_A and Compressed_version1_seperate_compress too)
    """
    CITATION = casme3.Builder.CITATION

    @classmethod
    def parse_manual(cls, manual_dir: str, config: clip_builder.ClipBuilderConfig):
        folder = cls._manual_file(manual_dir, ("annotation", "*/annotation"), "annotation folder")
        workbook = casme3._annotation_file(folder, r"cas\(me\)3_part_a.*\.xls", "part A workbook (.xls)")
        labels = casme3._annotation_file(folder, r"cas\(me\)3_part_a_me_label.*\.xlsx", "ME label workbook", False)
        if labels is None:
            raise FileNotFoundError(f"{folder}: no ME label workbook (cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx): "
                                    f"the clips take their emotions from it.\n{cls.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        data_root = cls._manual_file(manual_dir, config.frame_roots, "frames folder (part_A/data/part_A/)")
        logging.info("%s: workbooks %s and %s, frames in %s", cls.__name__, workbook, labels, data_root)
        parsed, macro = micro_expression_clips(long_annotations.parse_casme3(workbook, labels, data_root))
        sources = clip_builder.sources_of(manual_dir, [workbook, labels], data_root)
        return parsed, {**sources, "macro_expressions_left_out": macro}
