"""A U-Net drawn with matplotlib (no graphviz), and its parameters per level as a bar chart.

The shapes and counts come from :mod:`unet_course.analysis.levels`::

    >>> from unet_course.models import build_unet
    >>> model = build_unet((572, 572, 1), 2, padding="valid")
    >>> fig = draw_unet(model)                 # the U, one box per level, shapes H x W x C
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

from unet_course.analysis.levels import as_unet_model, parameters_per_level, unet_depth, unet_levels
from unet_course.viz.figures import PALETTE

__all__ = ["COLOURS", "draw_unet", "plot_parameters_per_level"]

#: Colours of the diagram (Okabe-Ito, from ``unet_course.viz.PALETTE``).
COLOURS = {
    "encoder": PALETTE[2],  # sky blue
    "bottleneck": PALETTE[6],  # reddish purple
    "decoder": PALETTE[1],  # orange
    "pool": PALETTE[5],  # vermilion
    "up": PALETTE[4],  # bluish green
    "skip": PALETTE[7],  # blue
}


def _fmt(shape) -> str:
    return "×".join("?" if s is None else str(s) for s in shape)


def _box(ax, x, y, text, colour, width, height):
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=colour,
            edgecolor="#1a1a1a",
            linewidth=1.0,
            alpha=0.9,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=10, color="#1a1a1a")


def _arrow(ax, start, end, colour, style="-|>", linestyle="-", text=None, text_xy=None, **text_kw):
    ax.add_patch(
        FancyArrowPatch(
            start, end, arrowstyle=style, mutation_scale=12, color=colour, linewidth=1.6, linestyle=linestyle
        )
    )
    if text:
        ax.text(
            *(text_xy or ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)), text, color=colour, fontsize=9, **text_kw
        )


def draw_unet(model_or_config, *, ax=None, title: str | None = None):
    """Draw the U: one box per level with its shape (H×W×C), arrows for pooling, upsampling and skips.

    ``model_or_config`` is a model from ``build_unet`` or a dict of its arguments, e.g.
    ``{"input_shape": (572, 572, 1), "num_classes": 2, "padding": "valid"}`` (then the model is
    built, which takes a second for the paper's size). Returns the figure.
    """
    model = as_unet_model(model_or_config)
    levels = unet_levels(model)
    depth = levels["depth"]
    width, height, step, gap = 1.9, 0.62, 0.8, 1.8
    right = width + gap + 2 * (depth - 1) * step  # x of dec1
    if ax is None:
        fig, ax = plt.subplots(figsize=(right + width + 2.4, 1.9 + 1.1 * (depth + 1)))
    else:
        fig = ax.figure

    def enc_xy(i):  # i = 0 (top) .. depth - 1
        return (i * step, -i)

    def dec_xy(i):
        return (right - i * step, -i)

    bottom = (right / 2, -depth)
    for i in range(depth):
        _box(ax, *enc_xy(i), f"enc{i + 1}\n{_fmt(levels['encoder'][i])}", COLOURS["encoder"], width, height)
        _box(ax, *dec_xy(i), f"dec{i + 1}\n{_fmt(levels['decoder'][i])}", COLOURS["decoder"], width, height)
        # pooling: down from encoder i to encoder i+1 (or the bottleneck)
        below = enc_xy(i + 1) if i + 1 < depth else bottom
        x0, y0 = enc_xy(i)
        _arrow(
            ax,
            (x0 - 0.35, y0 - height / 2),
            (below[0] - 0.35, below[1] + height / 2),
            COLOURS["pool"],
            text=f"pool → {_fmt(levels['pooled'][i][:2])}",
            text_xy=(x0 - 0.45, y0 - 0.5),
            ha="right",
            va="center",
        )
        # upsampling: up from decoder i+1 (or the bottleneck) to decoder i
        under = dec_xy(i + 1) if i + 1 < depth else bottom
        x1, y1 = dec_xy(i)
        _arrow(
            ax,
            (under[0] + 0.35, under[1] + height / 2),
            (x1 + 0.35, y1 - height / 2),
            COLOURS["up"],
            text=levels["upsampling"][i],
            text_xy=(x1 + 0.45, y1 - 0.5),
            ha="left",
            va="center",
        )
        mode, cropped = levels["skip"][i]
        if mode:
            label = ("copy, crop, " if cropped else "copy, ") + mode
            _arrow(
                ax,
                (x0 + width / 2, y0),
                (x1 - width / 2, y1),
                COLOURS["skip"],
                linestyle="--",
                text=label,
                text_xy=((x0 + x1) / 2, y0 + 0.08),
                ha="center",
                va="bottom",
            )
    _box(ax, *bottom, f"bottleneck\n{_fmt(levels['bottleneck'])}", COLOURS["bottleneck"], width, height)
    x0, y0 = enc_xy(0)
    x1, y1 = dec_xy(0)
    ax.text(x0, y0 + 0.62, f"input {_fmt(levels['input'])}", ha="center", va="bottom", fontsize=10, weight="bold")
    _arrow(ax, (x0, y0 + 0.6), (x0, y0 + height / 2), "#1a1a1a")
    ax.text(x1, y1 + 0.62, f"output {_fmt(levels['output'])}", ha="center", va="bottom", fontsize=10, weight="bold")
    _arrow(
        ax,
        (x1, y1 + height / 2),
        (x1, y1 + 0.6),
        "#1a1a1a",
        text="1×1 conv",
        text_xy=(x1 + 0.08, y1 + 0.38),
        va="center",
    )
    handles = [
        Patch(facecolor=COLOURS["encoder"], edgecolor="#1a1a1a", label="encoder level: 2 × (conv 3×3 + ReLU)"),
        Patch(facecolor=COLOURS["bottleneck"], edgecolor="#1a1a1a", label="bottleneck: 2 × (conv 3×3 + ReLU)"),
        Patch(facecolor=COLOURS["decoder"], edgecolor="#1a1a1a", label="decoder level: upsample, merge, 2 × conv"),
        plt.Line2D([], [], color=COLOURS["pool"], lw=2, label="max pool 2×2 (halves H, W)"),
        plt.Line2D([], [], color=COLOURS["up"], lw=2, label="upsampling (doubles H, W)"),
        plt.Line2D([], [], color=COLOURS["skip"], lw=2, ls="--", label="skip connection"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=2, fontsize=9, frameon=False)
    ax.set_xlim(-width / 2 - 1.2, right + width / 2 + 1.2)
    ax.set_ylim(-depth - 0.6, 1.3)
    ax.set_axis_off()
    ax.set_title(title or f"{model.name}: {model.count_params():,} parameters, boxes show each block's output H×W×C")
    fig.tight_layout()
    return fig


def plot_parameters_per_level(model, *, ax=None, title: str | None = None):
    """Bar chart of :func:`parameters_per_level`: encoder and decoder side by side at each level."""
    model = as_unet_model(model)
    counts = parameters_per_level(model)
    depth = unet_depth(model)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
    else:
        fig = ax.figure
    positions = np.arange(depth + 1)
    enc = [counts[f"enc{i}"] for i in range(1, depth + 1)] + [0]
    dec = [counts[f"dec{i}"] for i in range(1, depth + 1)] + [0]
    scale = 1e6
    ax.bar(
        positions[:-1] - 0.2,
        np.array(enc[:-1]) / scale,
        0.4,
        color=COLOURS["encoder"],
        edgecolor="#1a1a1a",
        label="encoder block",
    )
    ax.bar(
        positions[:-1] + 0.2,
        np.array(dec[:-1]) / scale,
        0.4,
        color=COLOURS["decoder"],
        edgecolor="#1a1a1a",
        hatch="//",
        label="decoder block (upsampling + 2 convs)",
    )
    ax.bar(
        positions[-1],
        counts["bottleneck"] / scale,
        0.5,
        color=COLOURS["bottleneck"],
        edgecolor="#1a1a1a",
        label="bottleneck",
    )
    total = model.count_params()
    for x, value in (
        [(p - 0.2, v) for p, v in zip(positions[:-1], enc)]
        + [(p + 0.2, v) for p, v in zip(positions[:-1], dec)]
        + [(positions[-1], counts["bottleneck"])]
    ):
        ax.text(x, value / scale, f"{value / total:.1%}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(positions, [f"level {i}" for i in range(1, depth + 1)] + ["bottleneck"])
    ax.set_ylabel("parameters (millions)")
    ax.set_xlabel("level of the U (level 1 = full resolution)")
    ax.set_title(
        title
        or f"{model.name}: parameters per level (labels: share of {total:,}; classifier {counts['classifier']:,})",
        fontsize=10,
    )
    ax.legend(frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
