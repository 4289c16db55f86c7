"""unet_course.widgets.browser: the sample figure and browser."""

import matplotlib
import pytest

from unet_course.data import make_shapes
from unet_course.widgets import browser

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def data():
    return make_shapes(12, image_size=48, seed=3)


def test_draw_sample_and_browser(data):
    images, batch = data
    fig = browser.draw_sample(images, batch, index=1, alpha=0.3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["image 1", "mask (class ids)", "overlay, opacity 0.30"]
    with pytest.raises(ValueError, match="alpha"):
        browser.draw_sample(images, batch, alpha=1.5)
    with pytest.raises(ValueError, match="index"):
        browser.draw_sample(images, batch, index=12)
    with pytest.raises(ValueError, match="one mask per image"):
        browser.draw_sample(images, batch[:3])
    box = browser.sample_browser(images, batch)
    index, opacity = box.children[0].children
    assert index.max == 11
    index.value, opacity.value = 5, 0.9  # redraws without error
    matplotlib.pyplot.close("all")
