"""unet_course.viz.diagram: the U drawn with its shapes, and the parameters-per-level chart."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from unet_course.models import build_unet  # noqa: E402
from unet_course.viz.diagram import draw_unet, plot_parameters_per_level  # noqa: E402


@pytest.fixture(scope="module")
def small():
    return build_unet((32, 32, 1), 2, depth=2, base_filters=4)


@pytest.fixture(scope="module")
def small_valid():
    return build_unet((60, 60, 1), 2, depth=2, base_filters=4, padding="valid")


def _texts(fig):
    return " ".join(text.get_text() for ax in fig.axes for text in ax.texts)


def test_draw_unet_shows_shapes_and_arrows(small, small_valid):
    fig = draw_unet(small)
    text = _texts(fig)
    for expected in (
        "enc1\n32×32×4",
        "bottleneck\n8×8×16",
        "dec1\n32×32×4",
        "input 32×32×1",
        "output 32×32×2",
        "pool → 16×16",
        "copy, concat",
    ):
        assert expected in text
    assert len(fig.axes[0].patches) >= 5 + 3 * 2  # 5 boxes, pool/up/skip arrows per level
    plt.close(fig)
    fig = draw_unet(
        {"input_shape": (60, 60, 1), "num_classes": 2, "depth": 2, "base_filters": 4, "padding": "valid"}, title="mine"
    )
    assert "copy, crop, concat" in _texts(fig) and fig.axes[0].get_title() == "mine"
    plt.close(fig)
    fig, ax = plt.subplots()
    assert draw_unet(small_valid, ax=ax) is fig
    plt.close(fig)


def test_plot_parameters_per_level(small):
    fig = plot_parameters_per_level(small)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "parameters (millions)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["level 1", "level 2", "bottleneck"]
    assert len(ax.patches) == 2 * 2 + 1
    plt.close(fig)
