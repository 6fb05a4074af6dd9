"""synthetic_long: procedural long videos with micro- and macro-expressions, distractors and every truth.

Generated locally from a seed (no download): the embedded default of the
spotting and recognition tasks, as synthetic_me is of intensity.
"""

from __future__ import annotations

import dataclasses

import tensorflow_datasets as tfds

from data_builders import long_video_builder
from meint_jax.data import flow_features
from meint_jax.data.clips import synthetic
from meint_jax.data.long import synthetic as synthetic_long


@dataclasses.dataclass
class SyntheticLongConfig(long_video_builder.LongVideoConfig):
    generator: synthetic_long.LongGeneratorConfig = synthetic_long.LongGeneratorConfig()


DEFAULT = synthetic_long.LongGeneratorConfig()
# Tests: 3 subjects x 2 videos of 4-6 s at 48 px, macros of at most 1.5 s so that several fit.
TINY = synthetic_long.LongGeneratorConfig(num_subjects=3, videos_per_subject=2, frame_size=48, min_seconds=4.0,
                                          max_seconds=6.0, max_macro=2, macro_seconds=(0.5, 1.5),
                                          min_gap_seconds=0.4)
# Emotions as hard to read as CASME II's (synthetic.LabelModel; docs/design.md, "Generated labels as hard as real
# ones"), so F1_analysis and STRS can tell joint from separate training.
HARD = dataclasses.replace(DEFAULT, labels=synthetic.LabelModel())
HARD_TINY = dataclasses.replace(TINY, labels=synthetic.LabelModel())
HARD_NOTE = ("Emotions drawn through synthetic.LabelModel: CASME II's class imbalance, AU sets shared between "
             "classes, per-subject AU styles, 5% of labels given to another class.")


def _config(name: str, generator: synthetic_long.LongGeneratorConfig, frames: bool, description: str,
            features: str = "ours"):
    # Paper 002's features crop and resize the face to their 320 px (their patches' margins are in its pixels).
    flow_size = flow_features.PAPER_SIZE if features == "paper" else generator.frame_size
    return SyntheticLongConfig(name=name, generator=generator, frames=frames, frame_size=generator.frame_size,
                               flow_size=flow_size, features=features, description=description)


class Builder(long_video_builder.LongVideoBuilder):
    """Synthetic long videos in the meint-jax long-video schema, with true per-frame intensity."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    WITH_TRUE_INTENSITY = True
    HOMEPAGE = "https://github.com/meint-jax/meint-jax"
    BUILDER_CONFIGS = [
        _config("default", DEFAULT, False, "20 subjects x 2 videos of 20-40 s at 30 fps, 112 px: flow features."),
        _config("default_frames", DEFAULT, True, "As default, with the 112-px frames in chunks of 64."),
        _config("tiny", TINY, False, "3 subjects x 2 videos of 4-6 s, 48 px: flow features; for tests."),
        _config("tiny_frames", TINY, True, "As tiny, with the 48-px frames in chunks of 64; for tests."),
        _config("hard", HARD, False, "As default, with hard labels. " + HARD_NOTE),
        _config("hard_tiny", HARD_TINY, False, "As tiny, with hard labels; for tests. " + HARD_NOTE),
        _config("features_paper", DEFAULT, False, "As default, with paper 002's own flow features "
                "(flow_features.PaperTracker; the generated face's landmarks instead of dlib's).", features="paper"),
        _config("tiny_features_paper", TINY, False, "As tiny, with paper 002's own flow features; for tests.",
                features="paper"),
        _config("hard_features_paper", HARD, False, "As hard, with paper 002's own flow features. " + HARD_NOTE,
                features="paper"),
        _config("hard_tiny_features_paper", HARD_TINY, False, "As hard_tiny, with paper 002's own flow features; "
                "for tests. " + HARD_NOTE, features="paper"),
    ]
    DEFAULT_CONFIG_NAME = "default"

    def _sources(self, dl_manager):
        del dl_manager  # Nothing to download: every video is generated.
        generator = self.builder_config.generator
        return list(synthetic_long.generate(generator)), {"generator": dataclasses.asdict(generator)}
