"""A sample browser: pick an example with a slider, fade the mask over the image with another.

``draw_sample`` makes the figure (call it directly for a static figure, e.g. in a
notebook that is read without a running kernel); ``sample_browser`` wraps it in ipywidgets.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from unet_course import viz
from unet_course.data.synthetic import CLASS_NAMES


def _check(images, masks):
    images, masks = np.asarray(images), np.asarray(masks)
    if images.ndim != 4 or masks.ndim != 3:
        raise ValueError(f"Expected images (N, H, W, C) and masks (N, H, W), got {images.shape} and {masks.shape}.")
    if len(images) != len(masks) or len(images) == 0:
        raise ValueError(f"Got {len(images)} images but {len(masks)} masks; pass one mask per image (at least one).")
    return images, masks


def draw_sample(images, masks, index: int = 0, alpha: float = 0.5, *, class_names=CLASS_NAMES):
    """Image, mask and overlay of example ``index``, with the mask drawn at opacity ``alpha``."""
    images, masks = _check(images, masks)
    if not 0 <= index < len(images):
        raise ValueError(f"index={index} is out of range; use 0..{len(images) - 1}.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha} must be between 0 (image only) and 1 (mask only).")
    image, mask = images[index], masks[index]
    fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.6))
    viz._show_image(axes[0], image)
    axes[0].set_title(f"image {index}")
    viz.show_mask(mask, axes[1], class_names, title="mask (class ids)")
    axes[2].imshow(viz.overlay(image, mask, alpha=alpha, num_classes=len(class_names)))
    axes[2].set_axis_off()
    axes[2].set_title(f"overlay, opacity {alpha:.2f}")
    present = [int(c) for c in np.unique(mask)]
    fig.legend(
        handles=[viz.legend_handles(class_names)[c] for c in present],
        loc="lower center",
        ncol=len(present),
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def sample_browser(images, masks, *, class_names=CLASS_NAMES, alpha: float = 0.5):
    """An ipywidgets box: an index slider and an opacity slider above the :func:`draw_sample` figure."""
    import ipywidgets as widgets
    from IPython.display import display

    images, masks = _check(images, masks)
    index = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="example")
    opacity = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="opacity")
    output = widgets.Output()

    def redraw(_=None):
        with output:
            output.clear_output(wait=True)
            fig = draw_sample(images, masks, index.value, opacity.value, class_names=class_names)
            display(fig)  # works with every matplotlib backend, unlike plt.show()
            plt.close(fig)

    index.observe(redraw, names="value")
    opacity.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([index, opacity]), output])
