"""U-Net models: :func:`build_unet` and the blocks it is made of."""

from unet_course.models.blocks import conv_block, decoder_block, encoder_block, merge_skip, upsample
from unet_course.models.unet import PAPER_PARAMETERS, build_unet, valid_input_sizes

__all__ = [
    "PAPER_PARAMETERS",
    "build_unet",
    "conv_block",
    "decoder_block",
    "encoder_block",
    "merge_skip",
    "upsample",
    "valid_input_sizes",
]
