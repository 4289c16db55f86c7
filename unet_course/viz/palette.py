"""A data set's own palette: colourised class-id masks, overlays, and a figure with one legend.

For data sets that come with their colours and a void label, such as CamVid
(``unet_course.data.camvid``: ``CLASS_NAMES``, ``COLOURS``, ``VOID``). The course's own
colours for any mask are :func:`~unet_course.viz.figures.colorize` and
:func:`~unet_course.viz.figures.show_samples`.

Colours may be RGB triples of 0-255 integers (``(128, 64, 128)``), of floats in [0, 1], or
any colour matplotlib names (``"black"``, ``"#ff00ff"``). Void pixels are drawn in
``void_colour`` (black by default, as in SegNet's figures) and left as they are in overlays.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch

from unet_course.data.masks import to_class_ids
from unet_course.viz.figures import _show_image


def _rgb(colour) -> tuple[float, float, float]:
    """One colour as floats in [0, 1]: 0-255 integers, [0, 1] floats or a matplotlib name."""
    if not isinstance(colour, str) and all(isinstance(c, (int, np.integer)) for c in colour):
        return tuple(int(c) / 255.0 for c in colour)
    return to_rgb(colour)


def colour_mask(mask, colours, *, void: int | None = None, void_colour="black") -> np.ndarray:
    """RGB ``(H, W, 3)`` floats in [0, 1] of a class-id mask: id ``k`` in ``colours[k]``, ``void`` in ``void_colour``.

    >>> colour_mask([[0, 11]], [(255, 0, 0)], void=11)[0].tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    mask = np.asarray(mask)
    is_void = mask == void if void is not None else np.zeros(mask.shape, bool)
    wrong = ((mask < 0) | (mask >= len(colours))) & ~is_void
    if wrong.any():
        raise ValueError(
            f"The mask holds the class id {int(mask[wrong][0])} but the palette has {len(colours)} colours "
            f"(ids 0-{len(colours) - 1}){f' and void={void}' if void is not None else ''}; pass void= for "
            "unlabelled pixels, or one colour per class."
        )
    table = np.asarray([_rgb(c) for c in colours], dtype=np.float64)
    out = table[np.where(is_void, 0, mask)]
    out[is_void] = _rgb(void_colour)
    return out


def overlay_colours(image, mask, colours, *, void: int | None = None, alpha: float = 0.5) -> np.ndarray:
    """``image`` with the mask's colours blended over it (weight ``alpha``); void pixels left as they are."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2 or image.shape[-1] == 1:
        image = np.repeat(image.reshape(image.shape[:2] + (1,)), 3, axis=-1)
    if image.max() > 1.0:
        image = image / 255.0
    mask = np.asarray(mask)
    weight = np.where(mask == void, 0.0, float(alpha))[..., None] if void is not None else float(alpha)
    return (1 - weight) * image + weight * colour_mask(mask, colours, void=void)


def palette_handles(class_names, colours, *, void: int | None = None, void_name: str = "void", void_colour="black"):
    """Legend patches ``"0: Sky"``, ... in the palette's colours, and the void entry if ``void`` is given."""
    if len(class_names) != len(colours):
        raise ValueError(f"{len(class_names)} class names but {len(colours)} colours; pass one colour per class.")
    handles = [
        Patch(facecolor=_rgb(colour), edgecolor="grey", label=f"{i}: {name}")
        for i, (name, colour) in enumerate(zip(class_names, colours))
    ]
    if void is not None:
        handles.append(Patch(facecolor=_rgb(void_colour), edgecolor="grey", label=f"{void}: {void_name}"))
    return handles


def show_segmentation(
    images,
    masks,
    predictions=None,
    *,
    class_names,
    colours,
    void: int | None = None,
    void_name: str = "void",
    void_colour="black",
    max_items: int = 3,
    titles=("image", "ground truth", "prediction"),
):
    """One row per image: image | ground truth | (prediction), in the palette, with one legend.

    ``predictions`` may hold class ids ``(N, H, W)`` or probabilities ``(N, H, W, C)`` (argmax).
    """
    images, masks = np.asarray(images), np.asarray(masks)
    if len(images) != len(masks):
        raise ValueError(f"Got {len(images)} images but {len(masks)} masks; pass one mask per image.")
    if predictions is not None:
        predictions = np.asarray(predictions)
        if predictions.ndim == masks.ndim + 1:
            predictions = to_class_ids(predictions, threshold=0.5)
    count = min(max_items, len(images))
    columns = 3 if predictions is not None else 2
    fig, axes = plt.subplots(count, columns, figsize=(3.2 * columns, 2.5 * count + 0.6), squeeze=False)
    for row in range(count):
        _show_image(axes[row, 0], images[row])
        shown = [masks[row]] + ([predictions[row]] if predictions is not None else [])
        for ax, mask in zip(axes[row, 1:], shown):
            ax.imshow(colour_mask(mask, colours, void=void, void_colour=void_colour), interpolation="nearest")
            ax.set_axis_off()
    for ax, title in zip(axes[0], titles):
        ax.set_title(title)
    handles = palette_handles(class_names, colours, void=void, void_name=void_name, void_colour=void_colour)
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), frameon=False, fontsize="small")
    fig.tight_layout(rect=(0, 0.6 / (2.5 * count + 0.6), 1, 1))  # the bottom 0.6 inch for the legend
    return fig
