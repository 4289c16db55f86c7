"""unet_course.widgets.overlap: the figure draws and the widget builds."""

import matplotlib
import pytest

matplotlib.use("Agg")

SETTINGS = [(1, 1), (2, 2), (3, 2), (4, 2), (3, 1), (5, 3), (2, 3), (1, 2)]


def test_widget_draws_and_builds():
    pytest.importorskip("ipywidgets")
    from unet_course.widgets.overlap import draw_overlaps, overlap_explorer

    fig = draw_overlaps([(2, 2), (3, 2)], input_size=3)
    assert len(fig.axes) == 3  # two maps and a colour bar
    box = overlap_explorer(input_size=3)
    kernel_slider = box.children[0].children[0]
    kernel_slider.value = 5  # redraws without error
    with pytest.raises(ValueError, match="settings"):
        draw_overlaps([])
