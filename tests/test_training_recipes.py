"""Training recipes (``training/recipes.py``): the choices are checked when a Recipe is made, each
mistake a ValueError that names the fix; an encoder's recipe; the docstring's examples."""

import pytest

from unet_course.training import RECIPES, Recipe

TINY = RECIPES["course"].replace(base_filters=4, depth=2, crop_size=32, batch_size=4)


def test_bad_choices_are_value_errors():
    with pytest.raises(ValueError, match="loss"):
        Recipe(loss="focal")
    with pytest.raises(ValueError, match="padding"):
        Recipe(padding="full")
    with pytest.raises(ValueError, match="learning_rate must be a positive number, got 0"):
        Recipe(learning_rate=0)


def test_recipe_model_depth_and_encoder_names():
    assert RECIPES["course"].model_depth == 4 and TINY.model_depth == 2
    recipe = RECIPES["course"].replace(encoder="VGG16", encoder_weights="hed", normalize=False)
    assert recipe.encoder == "vgg16" and recipe.model_depth == 5 and recipe.depth == 4  # depth is not used
    assert recipe.to_dict()["encoder_weights"] == "hed"


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(encoder="vgg16", normalize=True), r"normalize=True does not go with encoder='vgg16'.*normalize=False"),
        (dict(encoder="vgg16", padding="valid"), r"padding='valid' does not go with encoder='vgg16'"),
        (dict(encoder="vgg16", dropout=0.2), r"dropout=0.2 does not go with"),
        (dict(encoder="vgg16", crop_size=100), r"crop_size=100 is not divisible by 32.*Use 96 or 128"),
        (dict(encoder="vgg16", crop_size=16), r"crop_size=16 is not divisible by 32.*Use 32\."),
        (dict(encoder="resnet18"), r"encoder='resnet18' is not an option.*'vgg16'"),
        (dict(encoder="resnet50", encoder_weights="hed"), r"VGG16 trunk only"),
        (dict(encoder="vgg16", encoder_weights="missing.weights.h5"), r"there is no file 'missing\.weights\.h5'"),
        (dict(encoder_weights="hed"), r"encoder_weights='hed' needs an encoder"),
        (dict(freeze_encoder=True), r"freeze_encoder=True needs an encoder"),
    ],
)
def test_backbone_recipe_mistakes_are_value_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        Recipe(**changes)


def test_recipe_docstring_examples_run():
    import doctest

    from unet_course.training import recipes

    result = doctest.testmod(recipes, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
