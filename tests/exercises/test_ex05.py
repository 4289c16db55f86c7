"""The checkers of notebook 05's exercises: references pass, typical mistakes get their message."""

import numpy as np
import pytest
from keras import layers

from unet_course.exercises import ex05 as ex


def passes(exercise, answer):
    passed, message = exercise.verdict(answer)
    return passed, message


# ---------------------------------------------------------------- q1: the crop table of a valid U-Net


def test_q1_reference_passes(capsys):
    ex.q1.check(ex.skip_crops)
    out = capsys.readouterr().out
    assert "✅" in out and "88, 40, 16 and 4" in out


def test_q1_other_correct_answers():
    import keras

    from unet_course.models import build_unet

    def from_the_model(input_size, depth):  # read the crops off a built network, as the lesson did
        model = build_unet((input_size, input_size, 1), 2, depth=depth, base_filters=1, padding="valid")
        return np.array([model.get_layer(f"dec{level}_crop").cropping[0][0] for level in range(1, depth + 1)])

    def pairs_by_level(input_size, depth):  # (before, after) pairs in a dict keyed by level
        return {level + 1: (crop, crop) for level, crop in enumerate(ex.skip_crops(input_size, depth))}

    def recursive(input_size, depth):
        def walk(size, levels):
            if levels == 0:
                return size - 4, []
            below, crops = walk((size - 4) // 2, levels - 1)
            up = 2 * below
            return up - 4, [(size - 4 - up) // 2] + crops

        return walk(input_size, depth)[1]

    for answer in (from_the_model, pairs_by_level, recursive):
        passed, message = passes(ex.q1, answer)
        assert passed, f"{answer.__name__}: {message}"
    keras.backend.clear_session()


def _variant(**options):
    def answer(input_size, depth):
        return ex._crop_variant(input_size, depth, **options)

    return answer


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda n, d: [2 * c for c in ex.skip_crops(n, d)], "the whole difference"),
        (lambda n, d: [-c for c in ex.skip_crops(n, d)], "negative crops"),
        (lambda n, d: ex.skip_crops(n, d)[::-1], "the deepest level first"),
        (_variant(bottleneck=0), "forgot the bottleneck"),
        (_variant(dec=0), "decoder level's two convolutions"),
        (_variant(enc=0), "each encoder level's two convolutions"),
        (_variant(enc=2, bottleneck=2, dec=2), "counted 2 pixels per conv block"),
        (_variant(after_convs=True), "after its two convolutions"),
        (lambda n, d: [c + 1 if i == 0 else c for i, c in enumerate(ex.skip_crops(n, d))], "off by one at level 1"),
        (lambda n, d: [(2 * c, 0) for c in ex.skip_crops(n, d)], "whole difference from one side"),
        (lambda n, d: ex.skip_crops(n, d)[:-1], "one per level"),
        (lambda n, d: "88, 40, 16, 4", "whole numbers"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = passes(ex.q1, answer)
    assert not passed and phrase in message, message


def test_q1_not_done(capsys):
    def not_done(input_size, depth):
        raise NotImplementedError()

    assert "not yet implemented" in passes(ex.q1, not_done)[1]


# ---------------------------------------------------------------- q2: an added skip with a 1x1 projection


def test_q2_reference_passes(capsys):
    ex.q2.check(ex.add_decoder_block)
    assert "✅" in capsys.readouterr().out


def test_q2_other_correct_answers():
    from keras import ops

    from unet_course.models import conv_block

    def ops_and_relu_projection(x, skip, num_filters):  # x + skip with keras.ops; a ReLU on the projection
        up = layers.Conv2DTranspose(num_filters, (2, 2), strides=(2, 2), padding="same")(x)
        if skip.shape[-1] != num_filters:
            skip = layers.Conv2D(num_filters, 1, activation="relu")(skip)
        return conv_block(ops.add(skip, up), num_filters)

    def separate_relu_layers(x, skip, num_filters):
        up = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        lateral = skip if skip.shape[-1] == num_filters else layers.Conv2D(num_filters, (1, 1))(skip)
        y = layers.Add()([up, lateral])
        for _ in range(2):
            y = layers.ReLU()(layers.Conv2D(num_filters, 3, padding="same")(y))
        return y

    for answer in (ops_and_relu_projection, separate_relu_layers):
        passed, message = passes(ex.q2, answer)
        assert passed, f"{answer.__name__}: {message}"


def _add_block(project="1x1", merge="add", always_project=False, up_filters=None, relu=True):
    def answer(x, skip, num_filters):
        x = layers.Conv2DTranspose(up_filters(skip, num_filters) if up_filters else num_filters, 2, strides=2)(x)
        if project and (always_project or skip.shape[-1] != num_filters):
            kernel = 1 if project == "1x1" else 3
            skip = layers.Conv2D(num_filters, kernel, padding="same")(skip)
        x = layers.Add()([skip, x]) if merge == "add" else layers.Concatenate()([skip, x])
        x = layers.Conv2D(num_filters, 3, padding="same", activation="relu" if relu else None)(x)
        return layers.Conv2D(num_filters, 3, padding="same", activation="relu" if relu else None)(x)

    return answer


def _project_x(x, skip, num_filters):  # projects the upsampled x to the skip's channels instead
    x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    if skip.shape[-1] != num_filters:
        x = layers.Conv2D(skip.shape[-1], 1)(x)
    x = layers.Add()([skip, x])
    x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_add_block(project=None), "an addition needs the same channels"),
        (_add_block(project="3x3"), "1x1 convolution is enough"),
        (_add_block(merge="concat"), "merges by addition"),
        (_add_block(always_project=True), "Add the skip as it is"),
        (_add_block(project=None, up_filters=lambda skip, f: skip.shape[-1]), "the channels of the skip"),
        (_add_block(relu=False), "neither is followed by a ReLU"),
        (_project_x, "Project the *skip*"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = passes(ex.q2, answer)
    assert not passed and phrase in message, message


def test_q2_skip_ignored():
    def ignored(x, skip, num_filters):
        x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        if skip.shape[-1] != num_filters:
            skip = layers.Conv2D(num_filters, 1)(skip)
        x = layers.Add()([x, 0.0 * skip])
        x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
        return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)

    passed, message = passes(ex.q2, ignored)
    assert not passed and "ignores the skip" in message, message


# ---------------------------------------------------------------- q3: the valid-padding block and its crop


def _valid_block(crop, padding="valid"):
    """A decoder block whose skip is cut by ``crop(skip, x)``; convolutions with ``padding``."""

    def answer(x, skip, num_filters):
        x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        skip = crop(skip, x)
        x = layers.Concatenate()([skip, x])
        x = layers.Conv2D(num_filters, 3, padding=padding, activation="relu")(x)
        return layers.Conv2D(num_filters, 3, padding=padding, activation="relu")(x)

    return answer


def _extras(skip, x):
    return skip.shape[1] - x.shape[1], skip.shape[2] - x.shape[2]


def test_q3_reference_passes(capsys):
    ex.q3.check(ex.valid_decoder_block)
    assert "✅" in capsys.readouterr().out


def test_q3_the_notebooks_buggy_block_gets_the_corner_message():
    passed, message = passes(ex.q3, ex.buggy_valid_decoder_block)
    assert not passed and "you cut nothing at the top" in message, message


def test_q3_accepts_the_package_block_and_a_slice():
    from keras import ops

    from unet_course.models import decoder_block

    def package(x, skip, num_filters):
        return decoder_block(x, skip, num_filters, padding="valid")

    def sliced(x, skip, num_filters):  # a slice of the symbolic tensor, x first, ops.concatenate
        up = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        top, left = (skip.shape[1] - up.shape[1]) // 2, (skip.shape[2] - up.shape[2]) // 2
        merged = ops.concatenate([up, skip[:, top : top + up.shape[1], left : left + up.shape[2]]], axis=-1)
        y = layers.Conv2D(num_filters, 3, activation="relu")(merged)
        return layers.Conv2D(num_filters, 3, activation="relu")(y)

    for answer in (package, sliced):
        passed, message = passes(ex.q3, answer)
        assert passed, f"{answer.__name__}: {message}"


def test_q3_no_crop_gets_the_sizes_to_match():
    passed, message = passes(ex.q3, _valid_block(lambda skip, x: skip))
    assert not passed and "Crop the skip's centre to exactly 28x28" in message


def test_q3_same_padding_is_refused():
    from unet_course.models import merge_skip

    def same(x, skip, num_filters):
        x = merge_skip(layers.Conv2DTranspose(num_filters, 2, strides=2)(x), skip)
        x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
        return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)

    passed, message = passes(ex.q3, same)
    assert not passed and "asks for padding='valid'" in message


def test_q3_the_corner_instead_of_the_centre():
    corner = _valid_block(lambda skip, x: skip[:, : x.shape[1], : x.shape[2]])
    passed, message = passes(ex.q3, corner)
    assert not passed and "right except for the crop" in message and "top-left corner" in message


def test_q3_the_odd_pixel_cut_at_the_top():
    def top_first(skip, x):
        extra_h, extra_w = _extras(skip, x)
        return layers.Cropping2D(((extra_h - extra_h // 2, extra_h // 2), (extra_w - extra_w // 2, extra_w // 2)))(skip)

    passed, message = passes(ex.q3, _valid_block(top_first))
    assert not passed and "odd difference of 3 rows you cut the extra row at the top" in message


def test_q3_half_the_difference_on_both_sides_leaves_a_pixel_too_many():
    def symmetric(skip, x):
        extra_h, extra_w = _extras(skip, x)
        return layers.Cropping2D(((extra_h // 2, extra_h // 2), (extra_w // 2, extra_w // 2)))(skip)

    passed, message = passes(ex.q3, _valid_block(symmetric))
    assert not passed and "10x14" in message and "extra pixel at the bottom" in message


def test_q3_padding_x_instead_of_cropping_the_skip():
    def padded(x, skip, num_filters):
        x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        extra_h, extra_w = _extras(skip, x)
        x = layers.ZeroPadding2D(((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2)))(x)
        x = layers.Concatenate()([skip, x])
        x = layers.Conv2D(num_filters, 3, activation="relu")(x)
        return layers.Conv2D(num_filters, 3, activation="relu")(x)

    passed, message = passes(ex.q3, padded)
    assert not passed and "crops the larger skip instead" in message


def test_q3_not_done_and_none_give_feedback(capsys):
    def not_done(x, skip, num_filters):
        raise NotImplementedError()

    assert "not yet implemented" in passes(ex.q3, not_done)[1]
    ex.q3.check(None)
    assert "You passed None" in capsys.readouterr().out


# ---------------------------------------------------------------- q4: boundary IoU with both bands


def test_q4_reference_passes(capsys):
    ex.q4.check(ex.boundary_iou_both)
    assert "✅" in capsys.readouterr().out


def test_q4_other_correct_answers():
    from scipy import ndimage

    def with_scipy(y_true, y_pred, width):  # the band by dilation and erosion of each mask
        def band(mask):
            mask = mask.astype(bool)
            structure = np.ones((2 * width + 1, 2 * width + 1), dtype=bool)
            grown = ndimage.binary_dilation(mask, structure, border_value=0)
            shrunk = ndimage.binary_erosion(mask, structure, border_value=1)
            return grown & ~shrunk

        region = band(y_true) | band(y_pred)
        a, b = y_true.astype(bool) & region, y_pred.astype(bool) & region
        return 1.0 if not (a | b).any() else (a & b).sum() / (a | b).sum()

    def with_keras_ops(y_true, y_pred, width):
        from keras import ops

        from unet_course.evaluation import boundary_band

        region = ops.convert_to_tensor(boundary_band(y_true, width) | boundary_band(y_pred, width))
        a = ops.logical_and(ops.cast(y_true, "bool"), region)
        b = ops.logical_and(ops.cast(y_pred, "bool"), region)
        union = ops.sum(ops.cast(ops.logical_or(a, b), "float32"))
        inter = ops.sum(ops.cast(ops.logical_and(a, b), "float32"))
        return float(ops.where(union > 0, inter / ops.maximum(union, 1.0), 1.0))

    for answer in (with_scipy, with_keras_ops):
        passed, message = passes(ex.q4, answer)
        assert passed, f"{answer.__name__}: {message}"


def _lesson(y_true, y_pred, width):
    from unet_course import evaluation

    return evaluation.boundary_iou(y_true, y_pred, width)


def _band_iou(combine, classes=False):
    from unet_course.evaluation import boundary_band

    def answer(y_true, y_pred, width):
        region = combine(boundary_band(y_true, width), boundary_band(y_pred, width))

        def iou(t, p):
            a, b = t[region].astype(bool), p[region].astype(bool)
            union = np.sum(a | b)
            return 1.0 if union == 0 else np.sum(a & b) / union

        return (iou(y_true, y_pred) + iou(1 - y_true, 1 - y_pred)) / 2 if classes else iou(y_true, y_pred)

    return answer


def _no_empty_rule(y_true, y_pred, width):
    from unet_course.evaluation import boundary_band

    region = boundary_band(y_true, width) | boundary_band(y_pred, width)
    a, b = y_true[region].astype(bool), y_pred[region].astype(bool)
    return np.sum(a & b) / np.sum(a | b)


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_lesson, "the lesson's boundary IoU"),
        (_band_iou(lambda t, p: p), "band of the predicted boundary only"),
        (_band_iou(lambda t, p: np.ones_like(t)), "plain IoU over all pixels"),
        (_band_iou(lambda t, p: t | p, classes=True), "Score the foreground only"),
        (_no_empty_rule, "return 1.0"),
    ],
)
def test_q4_typical_mistakes(answer, phrase):
    passed, message = passes(ex.q4, answer)
    assert not passed and phrase in message, message


def test_q4_the_intersection_of_the_bands_is_named_where_it_differs():
    from unet_course.exercises import Mistake, check_cases

    answer = _band_iou(lambda t, p: t & p)
    passed, message = passes(ex.q4, answer)  # on the first case it equals the true band alone: "take the union"
    assert not passed and "the union of the two bands" in message, message
    shifted = [case for case in ex._q4_cases() if "to the right" in case.label]
    with pytest.raises(Mistake, match="their intersection"):
        check_cases(answer, shifted, coerce=ex._as_float)


# ---------------------------------------------------------------- predictions


def test_p1_right_and_wrong_guesses():
    ex.p1._guess = 88
    assert ex.p1.verdict(88).passed
    for guess, phrase in ((176, "whole difference"), (184, "572 - 388"), (92, "572 - 388"), (4, "deepest level")):
        ex.p1._guess = guess
        passed, message = ex.p1.verdict(88)
        assert not passed and phrase in message, message


def test_p2_right_and_wrong_guesses(capsys):
    ex.p2.predict("edges")  # not one of the choices: refused
    assert "answer with one of" in capsys.readouterr().out
    ex.p2.predict("boundary IoU")
    assert ex.p2.verdict("boundary IoU").passed
    ex.p2.predict("IoU")
    passed, message = ex.p2.verdict("boundary IoU")
    assert not passed and "Most wrong pixels lie near the edges" in message
    ex.p2.predict("boundary IoU")
    passed, message = ex.p2.verdict("IoU")
    assert not passed and "not concentrated at the edges" in message
