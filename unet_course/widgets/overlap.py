"""Overlap maps of a transposed convolution: how many kernel footprints cover each output pixel.

``draw_overlaps`` makes the figure (call it directly for a static figure, e.g. in a notebook
read without a running kernel); ``overlap_explorer`` wraps one panel in ipywidgets with
kernel-size and stride sliders.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from unet_course import viz
from unet_course.analysis.transposed_conv import overlap_map


def _verdict(kernel_size: int, stride: int) -> str:
    if kernel_size < stride:
        return "gaps: some pixels get nothing"
    return "even overlap" if kernel_size % stride == 0 else "uneven overlap"


def draw_overlap(
    kernel_size: int, stride: int, input_size: int = 4, *, ax=None, vmax: int | None = None, footprint: bool = True
):
    """One overlap map with its counts written in the cells.

    The outlined square is the footprint of one input pixel (row 1, column 1): the output
    pixels it writes to.
    """
    counts = overlap_map(kernel_size, stride, input_size)
    ax = ax or plt.gca()
    vmax = vmax or max(int(counts.max()), 1)
    ax.imshow(counts, cmap="viridis", vmin=0, vmax=vmax, interpolation="nearest")
    if counts.shape[0] <= 16:
        for (row, col), value in np.ndenumerate(counts):
            ax.text(
                col,
                row,
                str(value),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value < 0.6 * vmax else "black",
            )
    if footprint and input_size > 1:
        start = stride - 0.5  # input pixel (1, 1) starts its footprint at (stride, stride)
        ax.add_patch(
            Rectangle((start, start), kernel_size, kernel_size, fill=False, edgecolor=viz.PALETTE[5], linewidth=2.5)
        )
    ax.set_title(f"kernel {kernel_size}, stride {stride}\n{_verdict(kernel_size, stride)}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("output column")
    ax.set_ylabel("output row")
    return ax


def draw_overlaps(settings=((2, 2), (3, 2), (4, 2)), input_size: int = 4):
    """Overlap maps side by side for ``(kernel_size, stride)`` pairs, on one colour scale."""
    settings = [tuple(s) for s in settings]
    if not settings:
        raise ValueError("settings is empty; pass (kernel_size, stride) pairs such as ((2, 2), (3, 2)).")
    vmax = max(int(overlap_map(k, s, input_size).max()) for k, s in settings)
    fig, axes = plt.subplots(1, len(settings), figsize=(3.9 * len(settings) + 1.0, 4.8), squeeze=False)
    fig.subplots_adjust(left=0.06, right=0.88, bottom=0.12, top=0.78, wspace=0.35)
    for ax, (k, s) in zip(axes[0], settings):
        draw_overlap(k, s, input_size, ax=ax, vmax=vmax)
    mappable = axes[0, -1].images[0]
    fig.colorbar(
        mappable,
        cax=fig.add_axes((0.905, 0.17, 0.015, 0.55)),
        label="footprints covering the pixel",
        ticks=range(vmax + 1),
    )
    fig.suptitle(
        f"Overlap maps: a {input_size}x{input_size} input of ones, transposed-convolved with a kernel of ones\n"
        f"(orange square: the footprint of one input pixel)",
        fontsize=10,
    )
    return fig


def overlap_explorer(input_size: int = 4, kernel_size: int = 3, stride: int = 2):
    """An ipywidgets box: kernel-size and stride sliders above one :func:`draw_overlap` panel."""
    import ipywidgets as widgets

    kernel = widgets.IntSlider(value=kernel_size, min=1, max=7, description="kernel size")
    step = widgets.IntSlider(value=stride, min=1, max=4, description="stride")
    size = widgets.IntSlider(value=input_size, min=2, max=6, description="input size")
    output = widgets.Output()

    def redraw(_=None):
        with output:
            output.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(4.6, 4.6))
            draw_overlap(kernel.value, step.value, size.value, ax=ax)
            fig.tight_layout()
            plt.show()
            plt.close(fig)

    for slider in (kernel, step, size):
        slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([kernel, step, size]), output])
