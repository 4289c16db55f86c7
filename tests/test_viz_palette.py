"""A data set's own palette (unet_course.viz.palette): colourised masks, overlays, the legend."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from unet_course import viz  # noqa: E402
from unet_course.data.camvid import CLASS_NAMES, COLOURS, VOID, VOID_NAME  # noqa: E402


def test_a_2x2_mask_gets_the_palettes_colours_and_void_its_own():
    mask = np.array([[0, 3], [10, VOID]])
    rgb = viz.colour_mask(mask, COLOURS, void=VOID)
    assert rgb.shape == (2, 2, 3)
    np.testing.assert_array_equal(
        np.round(rgb * 255).astype(int).tolist(), [[COLOURS[0], COLOURS[3]], [COLOURS[10], (0, 0, 0)]]
    )
    magenta = viz.colour_mask(mask, COLOURS, void=VOID, void_colour="magenta")
    np.testing.assert_array_equal(magenta[1, 1], [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(magenta[0], rgb[0])  # the classes keep their colours
    assert viz.colour_mask(mask[:1], ["red", "#00ff00", (0.0, 0.0, 1.0), "white"])[0, 1].tolist() == [1.0, 1.0, 1.0]


def test_an_id_without_a_colour_is_named():
    with pytest.raises(ValueError, match=r"class id 11 but the palette has 11 colours .* pass void="):
        viz.colour_mask([[0, 11]], COLOURS)
    with pytest.raises(ValueError, match="class id 12"):
        viz.colour_mask([[12, 11]], COLOURS, void=VOID)


def test_the_overlay_blends_classes_and_leaves_void_alone():
    image = np.full((2, 2, 3), 0.5)
    mask = np.array([[0, 1], [VOID, 3]])
    out = viz.overlay_colours(image, mask, COLOURS, void=VOID, alpha=1.0)
    np.testing.assert_allclose(out[0, 1], np.array(COLOURS[1]) / 255)
    np.testing.assert_allclose(out[1, 0], [0.5, 0.5, 0.5])  # void: the image as it was
    half = viz.overlay_colours(np.zeros((2, 2), np.uint8), mask, COLOURS, void=VOID)  # grey 8-bit input
    np.testing.assert_allclose(half[1, 1], np.array(COLOURS[3]) / 255 / 2)


def test_the_figure_has_one_legend_with_every_class_and_void():
    rng = np.random.default_rng(0)
    images = rng.random((2, 6, 8, 3))
    masks = rng.integers(0, 12, (2, 6, 8))
    probabilities = rng.random((2, 6, 8, 11))
    fig = viz.show_segmentation(
        images, masks, probabilities, class_names=CLASS_NAMES, colours=COLOURS, void=VOID, void_name=VOID_NAME
    )
    assert len(fig.legends) == 1
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == [f"{i}: {name}" for i, name in enumerate(CLASS_NAMES)] + ["11: Unlabelled"]
    assert [ax.get_title() for ax in fig.axes[:3]] == ["image", "ground truth", "prediction"]
    assert len(fig.axes) == 6
    no_prediction = viz.show_segmentation(images, masks, class_names=CLASS_NAMES, colours=COLOURS, void=VOID)
    assert len(no_prediction.axes) == 4 and no_prediction.legends[0].get_texts()[-1].get_text() == "11: void"
    matplotlib.pyplot.close("all")
    with pytest.raises(ValueError, match="11 class names but 2 colours"):
        viz.palette_handles(CLASS_NAMES, COLOURS[:2])
