"""synthetic_me: procedural micro-expression clips with known true intensity.

Generated locally from a seed (no download). The embedded default dataset of
meint-jax: the README's main command and the tests run on it.
"""

from __future__ import annotations

import dataclasses

import tensorflow_datasets as tfds

from data_builders import schema
from meint_jax.data.clips import synthetic


@dataclasses.dataclass
class SyntheticMeConfig(tfds.core.BuilderConfig):
    generator: synthetic.GeneratorConfig = synthetic.GeneratorConfig()


TINY = synthetic.GeneratorConfig(num_subjects=4, clips_per_subject=3, frame_size=32, min_frames=28, max_frames=36,
                                 min_me_frames=12, max_me_frames=18, min_neutral=4)
# The hard sets' labels (docs/design.md, "Generated labels as hard as real ones").
HARD = ("Emotions as hard to read as CASME II's (synthetic.LabelModel): its class imbalance, a fifth of the clips "
        "showing AU sets that several classes share, subjects who swap or leave out AUs and weight them their own "
        "way, 5% of labels given to another class. A reader who knew the model and saw each clip's AUs would "
        "reach 3-class UF1 about 0.82 (others excluded): noise alone costs about 0.07, the shared sets and "
        "subject styles the rest; majority 0.25, class prior 0.33.")


class Builder(tfds.core.GeneratorBasedBuilder):
    """Synthetic micro-expression clips in the meint-jax clip schema."""

    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release: 12 subjects x 8 clips.",
        "2.0.0": "default: 32 subjects x 3 clips (more identities, so a model cannot get by on memorising faces).",
    }
    BUILDER_CONFIGS = [
        SyntheticMeConfig(
            name="default",
            description="32 subjects x 3 clips, 112x112 frames, 56-96 frames per clip.",
            generator=synthetic.GeneratorConfig(),
        ),
        SyntheticMeConfig(
            name="subtle",
            description="default with a third of the motion (0.3-1 px at the apex instead of 1-3): recognition "
                        "and intensity on movements nearer the noise, as real micro-expressions are.",
            generator=synthetic.GeneratorConfig(peak_px=(0.3, 1.0)),
        ),
        SyntheticMeConfig(
            name="tiny",
            description="4 subjects x 3 clips, 32x32 frames, 28-36 frames per clip; for tests.",
            generator=TINY,
        ),
        SyntheticMeConfig(
            name="hard",
            description="default's clips and size with hard labels. " + HARD,
            generator=synthetic.GeneratorConfig(labels=synthetic.LabelModel()),
        ),
        SyntheticMeConfig(
            name="hard_tiny",
            description="tiny's clips and size with hard labels; for tests. " + HARD,
            generator=dataclasses.replace(TINY, labels=synthetic.LabelModel()),
        ),
    ]
    DEFAULT_CONFIG_NAME = "default"

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=schema.clip_features(self.builder_config.generator.frame_size, synthetic.EMOTIONS,
                                          with_true_intensity=True),
            supervised_keys=None,
            homepage="https://github.com/meint-jax/meint-jax",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        del dl_manager  # Nothing to download: every clip is generated.
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for clip in synthetic.generate(self.builder_config.generator):
            yield clip.clip_id, clip.example()
