"""Exercises of notebook 06: the parameters of any U-Net, the paper's valid-padding size rules in both directions."""

import pytest

from unet_course.exercises import ex06 as ex
from unet_course.models import build_unet


def not_done(*args, **kwargs):
    raise NotImplementedError()


# ---------------------------------------------------------------- q1: the parameters, by arithmetic


def test_q1_reference_passes(capsys):
    ex.q1.check(ex.unet_parameters)
    out = capsys.readouterr().out
    assert "✅" in out and "31,030,658" in out


@pytest.mark.parametrize("args", ex._Q1_CASES)
def test_q1_reference_agrees_with_build_unet(args):
    depth, base_filters, in_channels, num_classes, skip = args
    model = build_unet((32, 32, in_channels), num_classes, depth=depth, base_filters=base_filters, skip=skip)
    assert ex.unet_parameters(*args) == model.count_params()


def test_q1_other_correct_answers():
    def by_levels(depth, base_filters, in_channels, num_classes, skip="concat"):  # weights and biases apart
        weights = biases = 0
        channels = [in_channels] + [base_filters * 2**level for level in range(depth + 1)]
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            weights += 9 * c_in * c_out + 9 * c_out * c_out
            biases += 2 * c_out
        for level in range(depth - 1, -1, -1):
            f = base_filters * 2**level
            weights += 4 * 2 * f * f + 9 * (2 if skip == "concat" else 1) * f * f + 9 * f * f
            biases += 3 * f
        return weights + biases + base_filters * num_classes + num_classes

    def by_building(depth, base_filters, in_channels, num_classes, skip="concat"):  # correct, another style
        size = 2**depth
        return build_unet(
            (size, size, in_channels), num_classes, depth=depth, base_filters=base_filters, skip=skip
        ).count_params()

    for answer in (by_levels, by_building):
        passed, message = ex.q1.verdict(answer)
        assert passed, f"{answer.__name__}: {message}"


def _variant(**options):
    def answer(depth, base_filters, in_channels, num_classes, skip="concat"):
        return ex._parameters_variant(depth, base_filters, in_channels, num_classes, skip, **options)

    return answer


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_variant(biases=False), "not the biases"),
        (_variant(up_kernel=0), "left out the up-convolutions"),
        (_variant(up_kernel=3), "as 3x3"),
        (_variant(merged_doubles=False), "reads the concatenation"),
        (_variant(merged_doubles=True), "with skip='add' nothing is stacked"),
        (_variant(reads_input=False), "it reads the image's in_channels = 3"),
        (_variant(bottleneck=False), "left out the bottleneck"),
        (_variant(classifier=False), "left out the 1x1 classifier"),
        (lambda *args: 31_030_658, "Count level by level"),
        (lambda *args: "many", "return a whole number"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = ex.q1.verdict(answer)
    assert not passed and phrase in message, message


def test_q1_not_done():
    assert "not yet implemented" in ex.q1.verdict(not_done)[1]


# ---------------------------------------------------------------- q2, q3


def test_q2_reference_and_paper(capsys):
    assert ex.output_size_valid(572, 4) == 388
    ex.q2.check(ex.output_size_valid)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda size, depth: ex._size_variant(size, depth, enc=0), "each encoder level's two convolutions"),
        (lambda size, depth: ex._size_variant(size, depth, bottleneck=0), "forgot the bottleneck"),
        (lambda size, depth: ex._size_variant(size, depth, dec=0), "each decoder level's two convolutions"),
        (
            lambda size, depth: ex._size_variant(size, depth, enc=2, bottleneck=2, dec=2),
            "counted 2 pixels per conv block",
        ),
        (lambda size, depth: size, "returned the input size"),
        (lambda size, depth: "big", "return a whole number"),
        (lambda size, depth: size - 180, "expected 388"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = ex.q2.verdict(answer)
    assert not passed and phrase in message, message


def test_q2_other_correct_answers():
    def recursive(input_size, depth=4):
        if depth == 0:
            return input_size - 4  # the bottleneck
        return recursive((input_size - 4) // 2, depth - 1) * 2 - 4

    def closed_form(input_size, depth=4):  # each level down and up, unrolled: a factor 2**depth and a fixed cost
        size = input_size
        for _ in range(depth):
            size = (size - 4) // 2
        return (size - 4) * 2**depth - 4 * (2**depth - 1)

    for answer in (recursive, closed_form):
        passed, message = ex.q2.verdict(answer)
        assert passed, message


def test_q3_other_correct_answers():
    def by_output(input_size, depth=4):  # down, checking evenness; then only the output size matters
        size = input_size
        for _ in range(depth):
            if size <= 4 or (size - 4) % 2:
                return False
            size = (size - 4) // 2
        return ex.output_size_valid(input_size, depth) > 0 and size > 4

    def by_rule(input_size, depth=4):  # the pattern: smallest size plus a multiple of 2**depth
        smallest = next(s for s in range(1, 1000) if ex.is_valid_size(s, depth))
        return input_size >= smallest and (input_size - smallest) % 2**depth == 0

    for answer in (by_output, by_rule):
        passed, message = ex.q3.verdict(answer)
        assert passed, message


def test_q3_messages_show_where_the_size_fails():
    passed, message = ex.q3.verdict(lambda size, depth: (size - 4) % 2 == 0 and size > 4)
    assert not passed and "at encoder level 3 the size before pooling is 137, odd" in message
    passed, message = ex.q3.verdict(lambda size, depth: not ex.is_valid_size(size, depth))
    assert not passed and "even before every pooling and positive all the way" in message


def test_q2_q3_none_and_not_done():
    for exercise in (ex.q2, ex.q3):
        assert "You passed None" in exercise.verdict(None)[1]
        assert "not yet implemented" in exercise.verdict(not_done)[1]


def test_q3_reference_matches_the_package(capsys):
    from unet_course.models import valid_input_sizes

    for depth in (1, 2, 3, 4):
        fits = set(valid_input_sizes(depth, 1, 400))
        assert {s for s in range(1, 400) if ex.is_valid_size(s, depth)} == fits
    ex.q3.check(ex.is_valid_size)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda size, depth: size % 2**depth == 0, "rule for padding='same'"),
        (
            lambda size, depth: (size - 12) % 16 == 0 if depth == 4 else ex.is_valid_size(size, depth),
            "shrink to nothing",
        ),
        (lambda size, depth: 1, "return True or False"),
    ],
)
def test_q3_typical_mistakes(answer, phrase):
    passed, message = ex.q3.verdict(answer)
    assert not passed and phrase in message, message


def test_q2_q3_agree_with_build_unet():
    from unet_course.models import build_unet

    for size, depth in ((60, 2), (92, 3)):
        assert ex.is_valid_size(size, depth)
        model = build_unet((size, size, 1), 2, depth=depth, base_filters=2, padding="valid")
        assert model.output_shape[1] == ex.output_size_valid(size, depth)


# ---------------------------------------------------------------- q4: the smallest input for a wanted output


def test_q4_reference_passes_and_agrees_with_build_unet(capsys):
    ex.q4.check(ex.smallest_input_for_output)
    assert "✅" in capsys.readouterr().out
    for output_size, depth in ((101, 4), (50, 3)):
        size = ex.smallest_input_for_output(output_size, depth)
        model = build_unet((size, size, 1), 2, depth=depth, base_filters=1, padding="valid")
        assert model.output_shape[1] >= output_size
        smaller = size - 2**depth  # the next smaller size that fits gives too small an output
        assert ex.is_valid_size(smaller, depth) and ex.output_size_valid(smaller, depth) < output_size


def test_q4_other_correct_answers():
    from unet_course.models import valid_input_sizes

    def from_the_package(output_size, depth):
        for size in valid_input_sizes(depth, 1, 10_000):
            if ex.output_size_valid(size, depth) >= output_size:
                return size

    def by_formula(output_size, depth):  # the margin and the step of the sizes that fit
        smallest = ex.smallest_input_for_output(1, depth)
        margin = smallest - ex.output_size_valid(smallest, depth)
        step = 2**depth
        extra = max(0, output_size + margin - smallest)
        return smallest + -(-extra // step) * step

    for answer in (from_the_package, by_formula):
        passed, message = ex.q4.verdict(answer)
        assert passed, f"{answer.__name__}: {message}"


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda output_size, depth: output_size + 184, "is not a size the network accepts"),
        (lambda output_size, depth: -(-output_size // 2**depth) * 2**depth, "the rule for same padding"),
        (lambda output_size, depth: ex.smallest_input_for_output(output_size, depth) - 2**depth, "Round up"),
        (lambda output_size, depth: ex._first_fit(output_size, depth), "its output is smaller than the input"),
        (lambda output_size, depth: 572, "expected"),
    ],
)
def test_q4_typical_mistakes(answer, phrase):
    passed, message = ex.q4.verdict(answer)
    assert not passed and phrase in message, message


def test_q4_the_depth_4_margin_at_another_depth():
    def margin_184(output_size, depth):
        return ex.smallest_input_for_output(output_size, depth) if depth == 4 else output_size + 184

    passed, message = ex.q4.verdict(margin_184)
    assert not passed and "184 is the margin of the paper's depth 4" in message, message


# ---------------------------------------------------------------- predictions


def test_p1_right_and_wrong_guesses():
    ex.p1._guess = 204
    assert ex.p1.verdict(204).passed
    for guess, phrase in (
        (185, "context margin"),
        (184, "context margin"),
        (140, "one bottleneck unit"),
        (188, "narrowest"),
    ):
        ex.p1._guess = guess
        passed, message = ex.p1.verdict(204)
        assert not passed and phrase in message, message


def test_p2_right_and_wrong_guesses(capsys):
    ex.p2.predict("maybe")
    assert "answer with one of" in capsys.readouterr().out
    ex.p2.predict("yes")
    assert ex.p2.verdict("yes").passed
    ex.p2.predict("no")
    passed, message = ex.p2.verdict("yes")
    assert not passed and "Zero padding changes only the pixels" in message
