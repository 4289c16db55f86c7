"""Figures for the notebooks: images, masks, predictions, overlays and training curves.

Class colours come from the Okabe-Ito palette, chosen to stay distinct for readers with
the common forms of colour blindness and in greyscale print (each colour has a different
lightness). Every mask figure carries a legend that names the classes.

Class names come from the caller (``class_names=CLASS_NAMES`` of the data set at hand, e.g.
``unet_course.data.synthetic.CLASS_NAMES`` or ``unet_course.data.isbi2012.CLASS_NAMES``).
Without them, ``num_classes`` (or the largest id in the masks) decides the classes, named
``"background"``, ``"class 1"``, ...: a 2-class figure never shows a 4-class legend.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch

from unet_course.data.masks import to_class_ids

#: Okabe-Ito colours; background first in near-black so shapes stand out.
PALETTE = ("#1a1a1a", "#E69F00", "#56B4E9", "#F0E442", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#999999")


def class_colormap(num_classes: int):
    """A ``(cmap, norm)`` pair that maps class ids 0..num_classes-1 to fixed colours."""
    if num_classes > len(PALETTE):
        colours = list(PALETTE) + [plt.cm.tab20(i % 20) for i in range(num_classes - len(PALETTE))]
    else:
        colours = list(PALETTE[:num_classes])
    cmap = ListedColormap(colours, name=f"classes{num_classes}")
    norm = BoundaryNorm(np.arange(num_classes + 1) - 0.5, num_classes)
    return cmap, norm


def colorize(mask, num_classes: int) -> np.ndarray:
    """RGB float image ``(H, W, 3)`` of a class-id mask, in the course's colours."""
    cmap, norm = class_colormap(num_classes)
    return cmap(norm(np.asarray(mask)))[..., :3]


def default_class_names(num_classes: int) -> tuple[str, ...]:
    """Names for classes nobody named: ``("background", "class 1", "class 2", ...)``."""
    return ("background",) + tuple(f"class {i}" for i in range(1, int(num_classes)))


def resolve_class_names(class_names=None, num_classes: int | None = None, *masks) -> tuple[str, ...]:
    """The caller's class names, or names for ``num_classes`` classes, or for the largest id in ``masks`` + 1."""
    if class_names is not None:
        names = tuple(class_names)
        if num_classes is not None and len(names) != num_classes:
            raise ValueError(
                f"class_names has {len(names)} names but num_classes={num_classes}; pass one name per class."
            )
        return names
    if num_classes is None:
        largest = max((int(np.max(m)) for m in masks if m is not None and np.size(m)), default=1)
        num_classes = max(largest + 1, 2)
    return default_class_names(num_classes)


def legend_handles(class_names):
    cmap, _ = class_colormap(len(class_names))
    return [Patch(facecolor=cmap(i), edgecolor="white", label=f"{i}: {name}") for i, name in enumerate(class_names)]


def show_mask(mask, ax=None, class_names=None, title: str | None = None, *, num_classes: int | None = None):
    """Draw a class-id mask with fixed class colours (class k always gets ``PALETTE[k]``)."""
    ax = ax or plt.gca()
    class_names = resolve_class_names(class_names, num_classes, mask)
    cmap, norm = class_colormap(len(class_names))
    ax.imshow(np.asarray(mask), cmap=cmap, norm=norm, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def overlay(
    image, mask, alpha: float = 0.5, num_classes: int | None = None, ignore_background: bool = True
) -> np.ndarray:
    """Blend the mask's class colours over ``image`` (background left untouched by default).

    ``num_classes`` defaults to the largest id in ``mask`` + 1 (colours do not depend on it).
    """
    if num_classes is None:
        num_classes = len(resolve_class_names(None, None, mask))
    image = np.asarray(image, dtype=float)
    if image.ndim == 2 or image.shape[-1] == 1:
        image = np.repeat(image.reshape(image.shape[:2] + (1,)), 3, axis=-1)
    if image.max() > 1.0:
        image = image / 255.0
    colours = colorize(mask, num_classes)
    weight = np.full(np.asarray(mask).shape, float(alpha))
    if ignore_background:
        weight[np.asarray(mask) == 0] = 0.0
    return (1 - weight[..., None]) * image + weight[..., None] * colours


def _show_image(ax, image):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
    ax.set_axis_off()


def show_samples(
    images,
    masks,
    predictions=None,
    *,
    class_names=None,
    num_classes: int | None = None,
    max_items: int = 4,
    titles=("image", "true mask", "prediction", "overlay"),
):
    """One row per sample: image, true mask, (prediction), and the true mask overlaid.

    ``predictions`` may hold class ids ``(N, H, W)`` or probabilities ``(N, H, W, C)``
    (the argmax is taken, or a 0.5 threshold for one channel).
    """
    images, masks = np.asarray(images), np.asarray(masks)
    if len(images) != len(masks):
        raise ValueError(f"Got {len(images)} images but {len(masks)} masks; pass one mask per image.")
    count = min(max_items, len(images))
    if predictions is not None:
        predictions = np.asarray(predictions)
        if predictions.ndim == masks.ndim + 1:
            if num_classes is None and class_names is None and predictions.shape[-1] > 1:
                num_classes = predictions.shape[-1]
            predictions = to_class_ids(predictions, threshold=0.5)
    columns = 4 if predictions is not None else 3
    fig, axes = plt.subplots(count, columns, figsize=(2.6 * columns, 2.6 * count + 0.6), squeeze=False)
    class_names = resolve_class_names(class_names, num_classes, masks, predictions)
    num_classes = len(class_names)
    for row in range(count):
        _show_image(axes[row, 0], images[row])
        show_mask(masks[row], axes[row, 1], class_names)
        if predictions is not None:
            show_mask(predictions[row], axes[row, 2], class_names)
        axes[row, -1].imshow(overlay(images[row], masks[row], num_classes=num_classes))
        axes[row, -1].set_axis_off()
    names = [titles[0], titles[1]] + ([titles[2]] if predictions is not None else []) + [titles[3]]
    for ax, name in zip(axes[0], names):
        ax.set_title(name)
    fig.legend(handles=legend_handles(class_names), loc="lower center", ncol=min(num_classes, 5), frameon=False)
    fig.tight_layout(rect=(0, 0.08 if count > 1 else 0.15, 1, 1))
    return fig


def prediction_figure(images, masks, predictions, *, num_classes: int, names=None, max_items: int = 4):
    """One row per image: the image, its true mask and the prediction, for images of any sizes.

    ``masks`` and ``predictions`` hold class ids (one array per image); mask values at or above
    ``num_classes`` (void) are left blank. The figure is made without pyplot (nothing is shown,
    nothing kept open): save it with ``figure.savefig(path)``, as ``unet-course train`` does with
    its ``predictions.png``. ``names`` (e.g. the file stems) title the image column.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not len(images) == len(masks) == len(predictions):
        raise ValueError(
            f"Got {len(images)} images, {len(masks)} masks and {len(predictions)} predictions; "
            "pass one of each per image."
        )
    count = min(max_items, len(images))
    names = list(names) if names is not None else [str(i) for i in range(len(images))]
    cmap, norm = class_colormap(num_classes)
    figure = Figure(figsize=(9, 3 * count))
    FigureCanvasAgg(figure)
    axes = figure.subplots(count, 3, squeeze=False)
    for row in range(count):
        _show_image(axes[row, 0], images[row])
        axes[row, 0].set_title(f"image {names[row]}", fontsize=9)
        for ax, mask, title in (
            (axes[row, 1], masks[row], "true mask"),
            (axes[row, 2], predictions[row], "prediction"),
        ):
            ax.imshow(np.ma.masked_greater_equal(mask, num_classes), cmap=cmap, norm=norm, interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.set_axis_off()
    figure.tight_layout()
    return figure


def plot_history(history, metrics=None):
    """Training curves from a ``keras.callbacks.History`` (or its ``.history`` dict).

    One panel per metric, training and validation together.
    """
    logs = getattr(history, "history", history)
    if not logs:
        raise ValueError("The history is empty: train for at least one epoch first.")
    names = metrics or [k for k in logs if not k.startswith("val_")]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], "o-", color=PALETTE[7], label="training")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], "s--", color=PALETTE[5], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig
