"""Notebook 07's own code agrees with the package and with its exercises: the class weights and
the loss table it computes (read from the notebook, not retyped), its exercise solutions, and the
joint augmentation check."""

import ast

import keras
import nbformat
import numpy as np
import pytest
from keras import ops

from tests.notebook_code import NOTEBOOKS, notebook_namespace
from unet_course.data.augment import Augment
from unet_course.data.pipeline import make_dataset
from unet_course.data.weight_map import class_balance_weights
from unet_course.exercises import ex07

NOTEBOOK = NOTEBOOKS / "07_training.ipynb"


def _assignments(names, namespace):
    """Execute, in notebook order, the top-level imports and the assignments to ``names`` of notebook 07."""
    wanted = set(names)
    found = set()
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics (the Colab install)
            continue
        keep = []
        for node in tree.body:
            targets = set()
            for target in getattr(node, "targets", []):
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                targets |= {t.id for t in elements if isinstance(t, ast.Name)}
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)) or targets & wanted:
                keep.append(node)
                found |= targets & wanted
        tree.body = keep
        exec(compile(tree, str(NOTEBOOK), "exec"), namespace)
    missing = wanted - found
    if missing:
        raise LookupError(f"notebook 07 assigns no {sorted(missing)}")
    return namespace


@pytest.fixture(scope="module")
def losses_cell():
    """The notebook's data, predictions, class weights and losses, from its own cells."""
    return _assignments(["shape_masks", "binary", "rng", "haze", "predictions", "weights", "losses"], {})


def test_notebook_class_weights_equal_package(losses_cell):
    np.testing.assert_allclose(losses_cell["weights"], class_balance_weights(losses_cell["binary"], 2))


def test_notebook_losses_agree_with_the_exercises(losses_cell):
    binary, predictions, losses = losses_cell["binary"], losses_cell["predictions"], losses_cell["losses"]
    perfect = predictions["perfect"]
    clip = float(perfect[..., 1].min())
    assert clip == pytest.approx(0.02)  # the clip the prose explains
    # the table's shape-only Dice of the perfect prediction is exercise 4's formula, image by image
    per_image = [ex07.clipped_perfect_dice_loss(int(m.sum()), m.size, clip) for m in binary]
    table = float(ops.convert_to_numpy(losses["Dice, shape only"](binary, perfect)))
    assert table == pytest.approx(np.mean(per_image), abs=1e-4)
    # and the column is exercise 1's loss, for every prediction
    for y_pred in predictions.values():
        table = float(ops.convert_to_numpy(losses["Dice, shape only"](binary, y_pred)))
        assert table == pytest.approx(float(np.mean(ex07.shape_dice_loss(binary, y_pred))), abs=1e-4)
    # the finding the prose states: under CE + Dice, background everywhere scores better than the rough shape
    ce_dice = {k: float(ops.convert_to_numpy(losses["CE + Dice"](binary, v))) for k, v in predictions.items()}
    assert ce_dice["background everywhere"] < ce_dice["rough shape"]
    weighted = {k: float(ops.convert_to_numpy(losses["CE, class weights"](binary, v))) for k, v in predictions.items()}
    assert weighted["background everywhere"] > weighted["rough shape"] > weighted["perfect"]


def test_notebook_exercise_solutions_pass():
    names = ["shape_dice_loss", "joint_random_crop", "class_weights_from_mask", "clipped_perfect_dice_loss"]
    nb = notebook_namespace("07_training", names)
    for exercise, name in zip((ex07.q1, ex07.q2, ex07.q3, ex07.q4), names):
        verdict = exercise._run(nb[name])
        assert verdict.passed, (name, verdict.message)


def _orientation(crop, out):
    for t in range(8):
        candidate = np.rot90(np.fliplr(crop) if t > 3 else crop, t % 4)
        if np.allclose(candidate, out):
            return t
    return None


def test_one_draw_keeps_pairs_aligned_and_two_layers_do_not():
    rng = np.random.default_rng(0)
    images = rng.random((4, 16, 16, 1)).astype("float32")
    masks = (images[..., 0] > 0.5).astype("uint8")
    ds = make_dataset(images, masks, batch_size=4, augment=Augment(flips=True, rot90=True), shuffle=False, seed=2)
    for _ in range(3):
        for xb, yb in ds:
            for k in range(4):
                t = _orientation(images[k], np.asarray(xb[k]))
                assert t is not None
                expected = np.rot90(np.fliplr(masks[k]) if t > 3 else masks[k], t % 4)
                np.testing.assert_array_equal(np.asarray(yb[k]), expected)
    flip_image, flip_mask = keras.layers.RandomFlip("horizontal"), keras.layers.RandomFlip("horizontal")
    batch = images[:1].repeat(64, axis=0)
    out_images = np.asarray(flip_image(batch, training=True))
    out_masks = np.asarray(flip_mask(batch, training=True))
    disagree = np.mean([not np.allclose(a, b) for a, b in zip(out_images, out_masks)])
    assert 0.2 < disagree < 0.8
