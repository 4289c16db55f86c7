"""Figures for the notebooks (:mod:`~unet_course.viz.figures`), a data set's own palette with void
(:mod:`~unet_course.viz.palette`, CamVid's) and the U-Net diagram (:mod:`~unet_course.viz.diagram`).

``from unet_course import viz; viz.show_samples(images, masks, class_names=CLASS_NAMES)``: the
public API is re-exported here. Class names always come from the caller (see ``figures``).
"""

from unet_course.viz.diagram import COLOURS, draw_unet, plot_parameters_per_level
from unet_course.viz.figures import (
    PALETTE,
    _show_image,  # noqa: F401 (the sample browser draws images with it)
    class_colormap,
    colorize,
    default_class_names,
    legend_handles,
    overlay,
    plot_history,
    prediction_figure,
    resolve_class_names,
    show_mask,
    show_samples,
)
from unet_course.viz.palette import colour_mask, overlay_colours, palette_handles, show_segmentation

__all__ = [
    "COLOURS",
    "PALETTE",
    "class_colormap",
    "colorize",
    "colour_mask",
    "default_class_names",
    "draw_unet",
    "legend_handles",
    "overlay",
    "overlay_colours",
    "palette_handles",
    "plot_history",
    "plot_parameters_per_level",
    "prediction_figure",
    "resolve_class_names",
    "show_mask",
    "show_samples",
    "show_segmentation",
]
