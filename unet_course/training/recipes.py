"""Training recipes: every choice that is not the network's architecture, in one place.

A :class:`Recipe` names the input normalisation, the optimiser and its schedule, the loss,
the augmentation, the crop and the batch. ``RECIPES`` holds the two the course compares:

- ``"textbook"``: what most tutorials do (Adam 1e-3, cross-entropy, random crops and
  flips, images fed as they are loaded);
- ``"course"``: the course's recommendation. Each of its choices is measured against the
  textbook at equal wall-clock time in ``benchmarks/quality.py`` (results in
  ``benchmarks/RESULTS_quality.md``); the reasons are in the comments below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from unet_course.data.augment import Augment

LOSSES = ("ce", "dice", "ce_dice")
OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "warmup")
PADDINGS = ("same", "valid")


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
            then constant (a schedule that needs no total step count, so it works when
            training stops on a time budget).
        loss: ``"ce"`` (cross-entropy), ``"dice"`` or ``"ce_dice"``.
        augment: the :class:`~unet_course.data.augment.Augment` of each training crop.
        crop_size, batch_size: random square crops per step (for ``padding="valid"``: the
            crop is the model's input, of which only the centre is predicted).
        patience: epochs without improvement before early stopping (``None``: never).
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
    loss: str = "ce"
    augment: Augment = field(default_factory=lambda: Augment(flips=True, rot90=False))
    crop_size: int = 128
    batch_size: int = 8
    patience: int | None = None

    def __post_init__(self):
        for name, value, choices in (
            ("loss", self.loss, LOSSES),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("schedule", self.schedule, SCHEDULES),
            ("padding", self.padding, PADDINGS),
        ):
            if value not in choices:
                raise ValueError(f"Recipe {name} must be one of {choices}, got {value!r}.")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}.")
        if not 0 < self.batch_norm_momentum < 1:
            raise ValueError(f"batch_norm_momentum must be in (0, 1), got {self.batch_norm_momentum!r}.")

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
    # Each choice below was measured against the textbook at equal wall-clock time (60 s
    # screening, 2 seeds, ISBI 2012 and the synthetic shapes; benchmarks/quality.py).
    #
    # Inputs standardised per channel with the training set's statistics, inside the model
    # (saved with it): intensity ranges differ from one data set to the next. Alone it is
    # within seed noise; it pays off together with batch norm.
    normalize=True,
    # Batch norm after every 3x3 convolution: the largest gain (ISBI membrane Dice about
    # 0.76 vs 0.68 in 60 s, although each step costs about 20% more). Momentum 0.9 instead
    # of Keras's 0.99: after 100 steps the moving averages that inference uses still weigh
    # their initial values by 0.99**100 = 0.37 (a model that predicts one class everywhere
    # at test time), by 0.9**100 = 3e-5 with 0.9. Group norm was 3x slower per step on CPU.
    batch_norm=True,
    batch_norm_momentum=0.9,
    # Adam at a constant 1e-3: it needs no total step count (training may stop on a time
    # budget), and a 3e-3 peak was worse with batch norm.
    optimizer="adam",
    learning_rate=1e-3,
    schedule="constant",
    # Cross-entropy + Dice: Dice counts a rare class as much as a common one (imbalanced
    # shapes: cross-entropy alone predicted background everywhere); cross-entropy keeps every
    # pixel's gradient clear. Neutral on ISBI within seed noise, a clear gain on rare classes.
    loss="ce_dice",
    # Random crops and flips, image and mask together. 90-degree turns were neutral on ISBI
    # and wrong for oriented scenes (sky up, road down), so they are not a default.
    augment=Augment(flips=True, rot90=False),
    # 128x128 crops in batches of 8, transposed-convolution upsampling: like the textbook.
    # Batch 4 and bilinear + convolution were both worse at equal time on this CPU.
    patience=None,
)

RECIPES = {"textbook": TEXTBOOK, "course": COURSE}


def get_recipe(recipe) -> Recipe:
    """A :class:`Recipe` from a name in ``RECIPES`` or a ``Recipe`` itself."""
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, str) and recipe in RECIPES:
        return RECIPES[recipe]
    raise ValueError(f"recipe must be one of {sorted(RECIPES)} or a Recipe(...), got {recipe!r}.")
