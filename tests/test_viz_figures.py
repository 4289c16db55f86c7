"""Figures: the right panels, a legend naming every class, readable colours, clear errors."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from unet_course import viz  # noqa: E402
from unet_course.data import CLASS_NAMES, make_shapes  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_show_samples_panels_and_legend():
    images, masks = make_shapes(3, 32)
    fig = viz.show_samples(images, masks, class_names=CLASS_NAMES, max_items=2)
    assert len(fig.axes) == 2 * 3
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [f"{i}: {name}" for i, name in enumerate(CLASS_NAMES)]
    probabilities = np.eye(4)[masks]
    fig = viz.show_samples(images, masks, probabilities, max_items=3)
    assert len(fig.axes) == 3 * 4 and fig.axes[2].get_title() == "prediction"


def test_class_names_come_from_the_caller_not_the_synthetic_data():
    images, masks = make_shapes(2, 32)
    binary = (masks > 0).astype("uint8")
    legend = lambda fig: [t.get_text() for t in fig.legends[0].get_texts()]  # noqa: E731
    # a 2-class figure shows a 2-class legend: the caller's names, or names derived from the classes
    assert legend(viz.show_samples(images, binary, class_names=("membrane", "cell"))) == ["0: membrane", "1: cell"]
    assert legend(viz.show_samples(images, binary)) == ["0: background", "1: class 1"]
    assert legend(viz.show_samples(images, binary, num_classes=3)) == ["0: background", "1: class 1", "2: class 2"]
    probabilities = np.eye(2)[binary]
    assert len(legend(viz.show_samples(images, binary, probabilities))) == 2
    with pytest.raises(ValueError, match="one name per class"):
        viz.show_samples(images, binary, class_names=("a", "b"), num_classes=3)


def test_colours_are_distinct_in_lightness():
    rgb = viz.colorize(np.arange(4)[None, :], 4)[0]
    lightness = rgb @ np.array([0.299, 0.587, 0.114])
    assert len({round(v, 2) for v in lightness}) == 4  # greyscale print keeps classes apart


def test_overlay_leaves_background_and_colours_shapes():
    image = np.full((4, 4, 3), 0.5)
    mask = np.zeros((4, 4), int)
    mask[0, 0] = 2
    out = viz.overlay(image, mask, alpha=1.0)
    np.testing.assert_allclose(out[1:, 1:], 0.5)
    np.testing.assert_allclose(out[0, 0], viz.colorize(mask, 4)[0, 0])
    assert viz.overlay(np.full((4, 4), 255, np.uint8), mask).shape == (4, 4, 3)  # grey 8-bit input


def test_plot_history():
    fig = viz.plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "iou": [0.2, 0.4]})
    assert [ax.get_title() for ax in fig.axes] == ["loss", "iou"]
    with pytest.raises(ValueError, match="train for at least one epoch"):
        viz.plot_history({})


def test_mismatched_counts_are_refused():
    images, masks = make_shapes(3, 32)
    with pytest.raises(ValueError, match="3 images but 2 masks"):
        viz.show_samples(images, masks[:2])


def test_prediction_figure_takes_images_of_any_size_and_leaves_void_blank(tmp_path):
    images = [np.zeros((20, 30, 1)), np.ones((12, 12, 3))]
    masks = [np.zeros((20, 30), int), np.full((12, 12), 255)]
    masks[0][:5] = 1
    predictions = [np.ones((20, 30), int), np.zeros((12, 12), int)]
    fig = viz.prediction_figure(images, masks, predictions, num_classes=2, names=["a", "b"])
    assert [ax.get_title() for ax in fig.axes] == [
        "image a",
        "true mask",
        "prediction",
        "image b",
        "true mask",
        "prediction",
    ]
    assert fig.axes[4].images[0].get_array().mask.all()  # a void mask: every pixel blank
    assert not fig.axes[1].images[0].get_array().mask.any()
    assert len(viz.prediction_figure(images, masks, predictions, num_classes=2, max_items=1).axes) == 3
    fig.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 0
    assert not plt.get_fignums()  # made without pyplot: nothing left open
    with pytest.raises(ValueError, match="one of each per image"):
        viz.prediction_figure(images, masks[:1], predictions, num_classes=2)
