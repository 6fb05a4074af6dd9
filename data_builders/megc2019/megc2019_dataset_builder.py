"""megc2019: the MEGC 2019 composite (CASME II + SAMM + SMIC-HS), one clip dataset of three classes.

The challenge's recognition benchmark pools the three datasets' clips, maps every label to negative /
positive / surprise, and runs leave-one-subject-out over all subjects at once (68 in the challenge). Built as
one dataset whose subjects carry their dataset's name (`casme2_01`, `samm_006`, `smic_01`), the usual
recognition run is that protocol (`eval.protocol='loso'`), its results are scored per dataset beside the
pool, and `eval.protocol='lodo'` leaves one dataset out. Each part is read by its own builder's
`parse_manual`, so the composite reads exactly what the single-dataset builds read.

The `synthetic*` configs are a stand-in with no licensed data: three generated parts of different styles.
Their figures say nothing about real micro-expressions.
"""

from __future__ import annotations

import collections
import dataclasses

import tensorflow_datasets as tfds
from absl import logging

from data_builders import clip_builder, schema
from data_builders.casme2 import casme2_dataset_builder as casme2
from data_builders.samm import samm_dataset_builder as samm
from data_builders.smic import smic_dataset_builder as smic_builder
from meint_jax.data import emotion_classes, subjects
from meint_jax.data.clips import annotations, smic, synthetic
from meint_jax.data.clips.clip import Clip
from meint_jax.data.long import videos as long_videos

SIZES = (128, 224, 256)


@dataclasses.dataclass(frozen=True)
class Part:
    """One dataset of the composite: the folder it is in under manual_dir, and how its own builder reads it."""

    name: str                                  # its subjects' prefix
    folders: tuple[str, ...]                   # globs under manual_dir, in order of preference
    builder: type[clip_builder.ClipDatasetBuilder]
    config: str                                # the part builder's config, with {size}


PARTS = (
    Part("casme2", ("CASME2", "CASME_2", "CASME II", "casme2"), casme2.Builder, "cropped_{size}"),
    Part("samm", ("SAMM", "samm"), samm.Builder, "dlib_{size}"),
    Part("smic", ("SMIC", "smic"), smic_builder.Builder, "hs_cropped_{size}"),
)

# The stand-in's parts: generated faces whose clip lengths and motion differ as the real datasets' do.
STANDIN_PARTS = {
    "casme2like": dict(min_frames=64, max_frames=96, min_me_frames=28, max_me_frames=48, peak_px=(0.8, 2.5)),
    "sammlike": dict(min_frames=72, max_frames=104, min_me_frames=32, max_me_frames=56, peak_px=(0.6, 2.0)),
    "smiclike": dict(min_frames=40, max_frames=64, min_me_frames=16, max_me_frames=28, peak_px=(1.0, 3.0)),
}


@dataclasses.dataclass
class CompositeConfig(clip_builder.ClipBuilderConfig):
    part_size: int = 224          # the parts' builder configs read (their `{size}`)
    standin_subjects: int = 0     # >0: the synthetic stand-in, this many subjects per part
    standin_clips: int = 3


def composite_label(native: str) -> str | None:
    """A part's emotion label -> the composite's class (MEGC 2019's mapping: every negative emotion is negative,
    happiness positive); None for a label of no class (others, and repression-free labels such as tense)."""
    name = long_videos.emotion_class(long_videos.native_emotion(native))
    return name if name in emotion_classes.THREE else None


def _relabelled(part: str, clip: Clip) -> Clip | str:
    """The clip as the composite stores it (subject and id prefixed by its dataset, three-class emotion), or
    the reason it is left out."""
    label = composite_label(clip.emotion)
    if label is None:
        return f"not one of the composite's three classes: {clip.emotion!r}"
    return dataclasses.replace(clip, subject=subjects.composite_subject(part, clip.subject),
                               clip_id=f"{part}/{clip.clip_id}", emotion=label)


class Builder(clip_builder.ClipDatasetBuilder):
    """The MEGC 2019 composite in the meint-jax clip schema (emotion: negative, positive, surprise)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        CompositeConfig(name=f"default_{size}", frame_size=size, part_size=size,
                        description=f"CASME II's registered crops, SAMM cropped by dlib, SMIC-HS's crops, "
                                    f"{size}x{size}.")
        for size in SIZES
    ] + [
        CompositeConfig(name="synthetic", frame_size=112, standin_subjects=12, standin_clips=3,
                        description="A stand-in with no licensed data: three generated parts of 12 subjects x 3 "
                                    "clips, 112x112. Its figures say nothing about real micro-expressions."),
        CompositeConfig(name="synthetic_tiny", frame_size=32, standin_subjects=2, standin_clips=3,
                        description="The stand-in at 2 subjects x 3 clips a part, 32x32: for tests."),
    ]
    DEFAULT_CONFIG_NAME = "default_224"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    The composite reads your copies of CASME II, SAMM and SMIC, each as its own builder reads it (see the
    casme2, samm and smic builders), from one folder of three (copies or links):
      CASME2/   CASME2-coding-*.xlsx and Cropped/subXX/EPxx_xx/reg_imgN.jpg
      SAMM/     SAMM_Micro_FACS_Codes_v2.xlsx and SAMM/006/006_1_2/006_05562.jpg
      SMIC/     SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image559740.bmp (the cropped release)
    The synthetic configs need none of them.
    """
    CITATION = """@inproceedings{see2019megc,
      title={MEGC 2019 -- The Second Facial Micro-Expressions Grand Challenge},
      author={See, John and Yap, Moi Hoon and Li, Jingting and Hong, Xiaopeng and Wang, Su-Jing},
      booktitle={IEEE International Conference on Automatic Face \\& Gesture Recognition}, year={2019}}"""

    @property
    def needs_manual_dir(self) -> bool:
        """The stand-in is generated: it needs no copy of the datasets."""
        return not self.builder_config.standin_subjects

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=schema.clip_features(self.builder_config.frame_size, emotion_classes.THREE),
            citation=self.CITATION)

    @classmethod
    def parse_manual(cls, manual_dir: str, config: CompositeConfig) -> tuple[annotations.ParseResult, dict]:
        """Every part's clips as its own builder parses them, relabelled; a part's skipped rows keep their reason
        with the part's name, and clips of no three-class label are skipped too."""
        parsed = annotations.ParseResult(clips=[], skipped=[])
        sheets, crops, counts, repaired = [], {}, {}, []
        for part in PARTS:
            folder = cls._manual_file(manual_dir, part.folders, f"{part.name} folder")
            part_config = next(c for c in part.builder.BUILDER_CONFIGS
                               if c.name == part.config.format(size=config.part_size))
            result, sources = part.builder.parse_manual(folder, part_config)
            sheets += sources["sheets"]
            repaired += [dict(r, clip=f"{part.name}/{r['clip']}") for r in sources.get("repaired_rows", ())]
            parsed.skipped += [dict(s, subject=subjects.composite_subject(part.name, s["subject"]),
                                    clip=f"{part.name}/{s['clip']}") for s in result.skipped]
            kept = collections.Counter()
            for clip in result.clips:
                outcome = _relabelled(part.name, clip)
                if isinstance(outcome, str):
                    parsed.skipped.append({"row": None, "subject": subjects.composite_subject(part.name, clip.subject),
                                           "clip": f"{part.name}/{clip.clip_id}", "reason": outcome})
                    continue
                parsed.clips.append(outcome)
                crops[outcome.clip_id] = part_config.crop
                kept[outcome.emotion] += 1
            counts[part.name] = {"subjects": len({c.subject for c in result.clips}), **dict(sorted(kept.items()))}
        logging.info("megc2019: clips per part and class %s", counts)
        return parsed, {**clip_builder.sources_of(manual_dir, sheets, manual_dir), "parts": counts,
                        **smic.repairs_summary(repaired), "crops": crops}

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        if self.builder_config.standin_subjects:
            return {"train": self._generate_standin()}
        parsed, sources = self.parse_manual(str(dl_manager.manual_dir), self.builder_config)
        crops = sources.pop("crops")
        return {"train": self._generate_examples(parsed, sources, crops)}

    def _generate_standin(self):
        logging.warning("megc2019/%s is a synthetic stand-in: its figures say nothing about real micro-expressions.",
                        self.builder_config.name)
        c = self.builder_config
        for seed, (name, shape) in enumerate(STANDIN_PARTS.items()):
            generator = synthetic.GeneratorConfig(num_subjects=c.standin_subjects, clips_per_subject=c.standin_clips,
                                                  frame_size=c.frame_size, seed=100 + seed, **shape)
            for clip in synthetic.generate(generator):
                outcome = _relabelled(name, dataclasses.replace(clip, true_intensity=None))
                if not isinstance(outcome, str):
                    yield outcome.clip_id, outcome.example()
