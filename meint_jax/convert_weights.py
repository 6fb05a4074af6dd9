"""Converts torchvision-layout ResNet18 weights once, to an orbax directory `init_from` can name.

    python -m meint_jax.convert_weights --input=resnet18-f37072fd.pth --output=/weights/resnet18_imagenet

Reads `.pth` files without running pickled code (`models/pretrained.py`) and
timm's `.safetensors`; every tensor that cannot be mapped is logged.
"""

from meint_jax.common import cli

cli.restart_on_tcmalloc(__name__)

import os

from absl import flags
from flax import traverse_util

from meint_jax.models import pretrained
from meint_jax.training import checkpoint

FLAGS = flags.FLAGS


def convert(input_path: str, output: str) -> int:
    """Writes the converted encoder weights of `input_path` to `output` (`~` expanded); returns how many
    tensors."""
    input_path, output = os.path.expanduser(input_path), os.path.expanduser(output)
    converted = pretrained.load_encoder_weights(input_path)
    pretrained.check_is_resnet18(converted, input_path)
    checkpoint.save_tree(output, traverse_util.unflatten_dict(converted))
    return len(converted)


def main(argv):
    del argv
    count = convert(FLAGS.input, FLAGS.output)
    output = os.path.abspath(os.path.expanduser(FLAGS.output))
    print(f"wrote {count} tensors to {output}; use --config.model.init_from={output}")


if __name__ == "__main__":
    flags.DEFINE_string("input", None, "torchvision-layout ResNet18 weights (.pth or .safetensors).")
    flags.DEFINE_string("output", None, "Directory for the converted orbax checkpoint.")
    flags.mark_flags_as_required(["input", "output"])
    cli.run(main, "meint_jax.convert_weights")
