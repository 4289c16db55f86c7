"""Training recipes: every choice that is not the network's architecture, in one place.

A :class:`Recipe` names the input normalisation, the optimiser and its schedule, the loss,
the augmentation, the crop and the batch. ``RECIPES`` holds the two the course compares:

- ``"textbook"``: what most tutorials do (Adam 1e-3, cross-entropy, random crops and
  flips, images fed as they are loaded);
- ``"course"``: the course's recommendation. Each of its choices is measured against the
  textbook at equal wall-clock time in ``benchmarks/quality.py`` (results in
  ``benchmarks/RESULTS_quality.md``); a one-line reason for each is in the comments below, the
  numbers in ``benchmarks/README.md``.

A recipe with an ``encoder`` trains a U-Net whose encoder is a (pretrained)
``keras.applications`` network instead of the course's own (``build_backbone_unet``,
notebook 10)::

    >>> recipe = RECIPES["course"].replace(encoder="vgg16", encoder_weights="hed", normalize=False)
    >>> recipe.model_depth, recipe.freeze_encoder
    (5, False)

``normalize=False`` is required there: the encoder's own preprocessing (e.g. VGG16's Caffe
mean subtraction) is already inside the model, and standardising the images first would feed
the pretrained filters inputs unlike those they were trained on.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace

import keras

from unet_course._validation import check_choice, check_fraction, check_positive_number
from unet_course.data.augment import Augment
from unet_course.models.backbones import ENCODERS, STRIDE, _check_weights

LOSSES = ("ce", "dice", "ce_dice")
OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "warmup", "cosine")
PRECISIONS = (None, "float32", "mixed_bfloat16", "auto")
OUTPUT_BIASES = ("zeros", "prior")
PADDINGS = ("same", "valid")
#: The stride of a backbone U-Net's bottleneck: it halves its input 5 times.
BACKBONE_DEPTH = 5


@dataclass(frozen=True)
class Recipe:
    """How to train a U-Net (see the module docstring).

    Args:
        name: a label for tables and files.
        base_filters, depth, upsampling, batch_norm, dropout: passed to ``build_unet``.
        padding: ``"same"`` (the output has the input's size) or ``"valid"`` (the paper's
            unpadded convolutions: the model takes ``crop_size`` rounded up to the nearest
            size a valid U-Net of this depth accepts, see ``valid_input_sizes``, and predicts
            its centre; the training masks are centre-cropped to match, and whole images are
            predicted in overlap tiles).
        batch_norm_momentum: momentum of the batch-norm moving averages.
        normalize: standardise inputs with the training set's per-channel mean and
            variance, inside the model (a ``Normalization`` layer saved with it).
        optimizer: ``"adam"`` or ``"adamw"``; ``learning_rate`` its (peak) rate;
            ``weight_decay`` for AdamW.
        schedule: ``"constant"``, or ``"warmup"``: a linear warm-up over ``warmup_steps``
            then constant (a schedule that needs no total step count), or ``"cosine"``:
            (after ``warmup_steps`` of linear warm-up) a cosine decay to 0 over the whole run,
            which ends after the epochs or at the end of the time budget
            (:class:`~unet_course.training.callbacks.CosineDecay`).
        decay_fraction: for ``schedule="cosine"``, the last fraction of the run the cosine
            takes: 1.0 decays over the whole run; 0.2 holds the peak rate for the first 80%
            and then decays to 0 (a "cool-down").
        loss: ``"ce"`` (cross-entropy), ``"dice"`` or ``"ce_dice"``.
        augment: the :class:`~unet_course.data.augment.Augment` of each training crop.
        crop_size, batch_size: random square crops per step (for ``padding="valid"``: the
            crop is the model's input, of which only the centre is predicted).
        patience: epochs without improvement before early stopping (``None``: never).
        encoder: ``None`` (the course's own U-Net, :func:`~unet_course.models.build_unet`) or
            the name of a ``keras.applications`` encoder (``"vgg16"``, ``"resnet50"``,
            ``"efficientnetb0"``, ``"mobilenetv2"``) under the course's decoder
            (:func:`~unet_course.models.build_backbone_unet`, with ``base_filters``,
            ``upsampling`` and ``batch_norm`` for the decoder). Such a model always has
            depth 5 (:attr:`model_depth`; ``depth`` is not used), takes crops whose size is a
            multiple of 32, needs ``normalize=False`` (its preprocessing is inside it),
            ``padding="same"`` and no ``dropout``.
        encoder_weights: ``None`` (random), ``"imagenet"``, ``"hed"`` (VGG16 only) or the path
            of a weights file of the encoder, as for ``build_backbone_unet``. With pretrained
            weights and ``freeze_encoder=False`` the encoder is fine-tuned but its batch-norm
            layers stay frozen (in inference mode, keeping their pretrained statistics, as the
            Keras transfer-learning guide advises; ``set_encoder_trainable``); with random
            weights every layer trains and batch norm uses ``batch_norm_momentum``.
        freeze_encoder: train the decoder only (the encoder's weights do not change).
        precision: ``None`` (the model follows Keras's global dtype policy,
            ``keras.config.set_dtype_policy``, as notebook 11 sets it), ``"float32"``,
            ``"mixed_bfloat16"`` (the convolutions compute in bfloat16; the weights, the
            normalisation and the classifier stay float32), or ``"auto"``: mixed bfloat16
            where it is fast, float32 elsewhere (:func:`resolve_precision`).
        output_bias: ``"zeros"`` (Keras's default) or ``"prior"``: the classifier's biases
            start at the log of each class's share of the training pixels and its kernel
            small, so the untrained model predicts about the class frequencies instead of a
            random mix around a uniform guess (the "init well" advice of Karpathy's recipe
            and the RetinaNet paper's rare-class prior).
        dice_weight: weight of the Dice term in the ``"ce_dice"`` loss (other losses ignore it).
    """

    name: str = "custom"
    base_filters: int = 16
    depth: int = 4
    upsampling: str = "transpose"
    padding: str = "same"
    batch_norm: bool = False
    batch_norm_momentum: float = 0.99
    dropout: float = 0.0
    normalize: bool = False
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup_steps: int = 0
    decay_fraction: float = 1.0
    loss: str = "ce"
    augment: Augment = field(default_factory=lambda: Augment(flips=True, rot90=False))
    crop_size: int = 128
    batch_size: int = 8
    patience: int | None = None
    encoder: str | None = None
    encoder_weights: str | os.PathLike | None = None
    freeze_encoder: bool = False
    precision: str | None = None
    output_bias: str = "zeros"
    dice_weight: float = 1.0

    def __post_init__(self):
        for name, value, choices in (
            ("loss", self.loss, LOSSES),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("schedule", self.schedule, SCHEDULES),
            ("padding", self.padding, PADDINGS),
            ("precision", self.precision, PRECISIONS),
            ("output_bias", self.output_bias, OUTPUT_BIASES),
        ):
            if value not in choices:
                raise ValueError(f"Recipe {name} must be one of {choices}, got {value!r}.")
        check_positive_number("learning_rate", self.learning_rate)
        check_fraction("decay_fraction", self.decay_fraction)
        if not (isinstance(self.dice_weight, (int, float)) and self.dice_weight >= 0):
            raise ValueError(f"dice_weight must be a number >= 0, got {self.dice_weight!r}.")
        if not 0 < self.batch_norm_momentum < 1:
            raise ValueError(f"batch_norm_momentum must be in (0, 1), got {self.batch_norm_momentum!r}.")
        self._check_encoder()

    @property
    def model_depth(self) -> int:
        """How many times the model halves its input: ``depth``, or 5 with an ``encoder``.

        Crop sizes and the sizes of the images the model predicts whole are multiples of
        ``2 ** model_depth``.
        """
        return BACKBONE_DEPTH if self.encoder is not None else self.depth

    def _check_encoder(self):
        if self.encoder is None:
            for name, value, default in (
                ("encoder_weights", self.encoder_weights, None),
                ("freeze_encoder", self.freeze_encoder, False),
            ):
                if value != default:
                    raise ValueError(
                        f"{name}={value!r} needs an encoder: the course's own U-Net (encoder=None) has no pretrained "
                        "encoder. Add encoder='vgg16' (or 'resnet50', 'efficientnetb0', 'mobilenetv2')."
                    )
            return
        if isinstance(self.encoder, str) and self.encoder.lower() in ENCODERS:
            object.__setattr__(self, "encoder", self.encoder.lower())
        check_choice("encoder", self.encoder, tuple(ENCODERS))
        _check_weights(self.encoder, self.encoder_weights)
        what = f"encoder={self.encoder!r}"
        if self.normalize:
            raise ValueError(
                f"normalize=True does not go with {what}: the encoder's own preprocessing is inside the model "
                "(it expects images in [0, 1], as loaded), and standardising them first would feed its filters "
                "inputs unlike those they were trained on. Use normalize=False, e.g. "
                f"RECIPES['course'].replace(encoder={self.encoder!r}, normalize=False)."
            )
        if self.padding != "same":
            raise ValueError(
                f"padding={self.padding!r} does not go with {what}: keras.applications encoders pad their "
                "convolutions. Use padding='same' (valid padding is the course's own U-Net: encoder=None)."
            )
        if self.dropout:
            raise ValueError(
                f"dropout={self.dropout!r} does not go with {what}: the backbone U-Net has no dropout layers. "
                "Use dropout=0.0."
            )
        if self.crop_size % STRIDE:
            lower = self.crop_size - self.crop_size % STRIDE
            suggestion = f"{lower} or {lower + STRIDE}" if lower else f"{STRIDE}"
            raise ValueError(
                f"crop_size={self.crop_size} is not divisible by {STRIDE}: the {self.encoder} encoder halves its "
                f"input 5 times and the decoder must double it back exactly. Use {suggestion}."
            )

    def replace(self, **changes) -> Recipe:
        """A copy with some choices changed: ``RECIPES["course"].replace(loss="ce")``."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


TEXTBOOK = Recipe(
    name="textbook",
    optimizer="adam",
    learning_rate=1e-3,
    loss="ce",
    augment=Augment(flips=True, rot90=False),
)

COURSE = Recipe(
    name="course",
    # Each choice below won against the textbook at equal wall-clock time (benchmarks/quality.py);
    # the numbers are in benchmarks/README.md ("The course recipe, choice by choice").
    # inputs standardised inside the model: intensity ranges differ from one data set to the next
    normalize=True,
    # no batch norm: it wins at equal steps but loses at equal time (it slows every step); 0.9 if switched on
    batch_norm=False,
    batch_norm_momentum=0.9,
    # bfloat16 convolutions where the CPU computes them in hardware, float32 elsewhere (resolve_precision)
    precision="auto",
    # Adam 1e-3 held for 80% of the run, then a cosine cool-down to 0: the score no longer hangs on the last epoch
    optimizer="adam",
    learning_rate=1e-3,
    schedule="cosine",
    decay_fraction=0.2,
    # cross-entropy + Dice: Dice counts a rare class as much as a common one, cross-entropy keeps gradients clear
    loss="ce_dice",
    # geometric augmentation keeps the network from memorising; photometric from learning the images' colours
    augment=Augment(
        flips=True,
        rot90=False,
        scale=(0.8, 1.25),
        rotation=15.0,
        brightness=0.1,
        contrast=0.2,
        gamma=0.2,
        noise=0.02,
        saturation=0.3,
        hue=0.1,
    ),
    # 128x128 crops in batches of 8, transposed-convolution upsampling: like the textbook (batch 4, bilinear: worse)
    patience=None,
)

RECIPES = {"textbook": TEXTBOOK, "course": COURSE}


def resolve_precision(precision: str | None) -> str:
    """The dtype policy ``Recipe(precision=...)`` builds a model with, on this machine.

    ``None`` is Keras's global dtype policy (``keras.config.dtype_policy().name``);
    ``"float32"`` and ``"mixed_bfloat16"`` are themselves.

    ``"auto"`` is mixed bfloat16 only on the TensorFlow backend, on a machine without a GPU,
    whose CPU computes bfloat16 in hardware (the ``amx_bf16`` or ``avx512_bf16`` flags of
    Linux's ``/proc/cpuinfo``: Intel Sapphire Rapids and later, AMD Zen 4 and later). There
    oneDNN computes the convolutions in bfloat16: on the course's 2-core Xeon, one thread,
    a step of the course's U-Net (16 base filters, batch norm, 8 crops of 128x128) took
    about 300 ms instead of 460 ms, and the recipe ran as many steps in 60 s as the
    textbook U-Net without batch norm (``benchmarks/RESULTS_quality.md``, the candidate
    runs); notebook 11 measures a smaller U-Net. Elsewhere bfloat16 would be emulated, and slower.
    """
    if precision is None:
        return keras.config.dtype_policy().name
    if precision != "auto":
        return precision

    if keras.backend.backend() != "tensorflow":
        return "float32"
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "float32"
    return "mixed_bfloat16" if cpu_has_bfloat16() else "float32"


#: Where Linux lists the CPU's flags (a module constant, so tests can point it elsewhere).
CPUINFO = "/proc/cpuinfo"


def cpu_has_bfloat16() -> bool:
    """Whether the CPU computes bfloat16 in hardware (``amx_bf16`` or ``avx512_bf16`` in ``CPUINFO``)."""
    try:
        with open(CPUINFO) as file:
            flags = set(file.read().split())
    except OSError:  # not Linux: no way to tell, so no
        return False
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def get_recipe(recipe) -> Recipe:
    """A :class:`Recipe` from a name in ``RECIPES`` or a ``Recipe`` itself."""
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, str) and recipe in RECIPES:
        return RECIPES[recipe]
    raise ValueError(f"recipe must be one of {sorted(RECIPES)} or a Recipe(...), got {recipe!r}.")
