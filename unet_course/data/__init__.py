"""Data for the course. The synthetic shapes dataset needs no download and is the default."""

from unet_course.data.synthetic import CLASS_NAMES, make_shapes

__all__ = ["CLASS_NAMES", "make_shapes"]
