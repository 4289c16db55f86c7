"""Notebook 02's playground: move and resize a predicted shape over a true one and watch
pixel accuracy, IoU and Dice change.

``draw_playground(...)`` draws one state (a static figure, e.g. for a committed notebook);
``metrics_playground()`` wraps it in ipywidgets sliders.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from unet_course import metrics
from unet_course.viz import PALETTE

#: The fixed true object: a disc of this radius at this centre (row, column) on a 64x64 grid.
TRUE_CENTRE = (30, 28)
TRUE_RADIUS = 10
SHAPES = ("circle", "square")

# pixel outcomes drawn with Okabe-Ito colours: true negative, false positive, false negative, true positive
_OUTCOMES = ("background (TN)", "false positive (FP)", "missed (FN)", "overlap (TP)")
_COLOURS = (PALETTE[0], PALETTE[5], PALETTE[2], PALETTE[3])


def shape_mask(image_size: int, row: float, column: float, radius: float, shape: str = "circle") -> np.ndarray:
    """Boolean ``(image_size, image_size)`` mask of a disc (``radius``) or square (half side ``radius``)."""
    if shape not in SHAPES:
        raise ValueError(f"shape={shape!r} is not an option; use one of {SHAPES}.")
    if radius < 0:
        raise ValueError(f"radius must be 0 or more, got {radius}.")
    yy, xx = np.mgrid[0:image_size, 0:image_size]
    if shape == "circle":
        return (yy - row) ** 2 + (xx - column) ** 2 <= radius**2
    return (np.abs(yy - row) <= radius) & (np.abs(xx - column) <= radius)


def playground_scores(
    pred_row: float, pred_column: float, pred_radius: float, shape: str = "circle", image_size: int = 64
) -> dict:
    """Pixel accuracy, IoU and Dice of the predicted shape against the fixed true disc."""
    truth = shape_mask(image_size, *TRUE_CENTRE, TRUE_RADIUS)
    prediction = shape_mask(image_size, pred_row, pred_column, pred_radius, shape)
    return {
        "pixel accuracy": metrics.pixel_accuracy(truth, prediction),
        "IoU": metrics.iou(truth, prediction),
        "Dice": metrics.dice(truth, prediction),
    }


def draw_playground(
    pred_row: float = 34, pred_column: float = 34, pred_radius: float = 10, shape: str = "circle", image_size: int = 64
):
    """Draw the true disc, the predicted shape and the three scores; return the figure."""
    truth = shape_mask(image_size, *TRUE_CENTRE, TRUE_RADIUS)
    prediction = shape_mask(image_size, pred_row, pred_column, pred_radius, shape)
    outcome = truth.astype(int) * 2 + prediction.astype(int)  # 0 TN, 1 FP, 2 FN, 3 TP
    scores = playground_scores(pred_row, pred_column, pred_radius, shape, image_size)

    fig, (ax_mask, ax_bar) = plt.subplots(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [1, 1.1]})
    ax_mask.imshow(outcome, cmap=ListedColormap(_COLOURS), vmin=-0.5, vmax=3.5, interpolation="nearest")
    ax_mask.set_title(
        f"truth: disc r={TRUE_RADIUS}; prediction: {'disc' if shape == 'circle' else shape} r={pred_radius:g}"
    )
    ax_mask.set_axis_off()
    ax_mask.legend(
        handles=[Patch(facecolor=c, edgecolor="white", label=name) for c, name in zip(_COLOURS, _OUTCOMES)],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
        frameon=False,
    )

    names = list(scores)
    values = [scores[n] for n in names]
    bars = ax_bar.barh(names, values, color=[PALETTE[8], PALETTE[7], PALETTE[6]])
    for bar, value in zip(bars, values):
        ax_bar.text(min(value + 0.02, 0.86), bar.get_y() + bar.get_height() / 2, f"{value:.3f}", va="center")
    ax_bar.set_xlim(0, 1)
    ax_bar.set_xlabel("score (1 = perfect)")
    ax_bar.set_title(
        f"TP={int(np.sum(outcome == 3))}  FP={int(np.sum(outcome == 1))}  FN={int(np.sum(outcome == 2))} pixels"
    )
    ax_bar.invert_yaxis()
    ax_bar.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def metrics_playground(image_size: int = 64):
    """Sliders for the predicted shape's centre, size and kind, redrawing :func:`draw_playground`."""
    import ipywidgets as widgets
    from IPython.display import display

    def redraw(row, column, radius, shape):
        fig = draw_playground(row, column, radius, shape, image_size)
        display(fig)  # works with every matplotlib backend, unlike plt.show(fig)
        plt.close(fig)

    return widgets.interactive(
        redraw,
        row=widgets.IntSlider(value=34, min=0, max=image_size - 1, description="row", continuous_update=False),
        column=widgets.IntSlider(value=34, min=0, max=image_size - 1, description="column", continuous_update=False),
        radius=widgets.IntSlider(
            value=TRUE_RADIUS, min=0, max=image_size // 2, description="size", continuous_update=False
        ),
        shape=widgets.Dropdown(options=SHAPES, value="circle", description="shape"),
    )
