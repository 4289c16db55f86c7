"""U-Net models: :func:`build_unet` and the blocks it is made of; :func:`build_backbone_unet`
(a pretrained ``keras.applications`` encoder under the same decoder blocks)."""

from unet_course.models.backbones import (
    ENCODERS,
    build_backbone_unet,
    build_encoder,
    encoder_preprocessing,
    encoder_taps,
    set_encoder_trainable,
)
from unet_course.models.blocks import conv_block, decoder_block, encoder_block, merge_skip, upsample
from unet_course.models.unet import PAPER_PARAMETERS, build_unet, valid_crop, valid_input_sizes

__all__ = [
    "ENCODERS",
    "PAPER_PARAMETERS",
    "build_backbone_unet",
    "build_encoder",
    "build_unet",
    "conv_block",
    "decoder_block",
    "encoder_block",
    "encoder_preprocessing",
    "encoder_taps",
    "merge_skip",
    "set_encoder_trainable",
    "upsample",
    "valid_crop",
    "valid_input_sizes",
]
