"""Data for the course. The synthetic shapes dataset needs no download and is the default.

- :mod:`~unet_course.data.synthetic`: ``make_shapes`` (the default dataset)
- :mod:`~unet_course.data.sources`: catalogue of the real datasets the course mentions
- :mod:`~unet_course.data.io`: images and masks from folders
- :mod:`~unet_course.data.isbi2012`: the U-Net paper's data, downloaded and checksummed
- :mod:`~unet_course.data.camvid`: CamVid street scenes (SegNet's 11 classes + void), the same way
- :mod:`~unet_course.data.download`: the checksummed, resumable download both share
- :mod:`~unet_course.data.pipeline`: ``make_dataset`` (tf.data: crops, shuffle, batches, prefetch)
- :mod:`~unet_course.data.augment`: ``Augment``: one random draw for image and mask together
- :mod:`~unet_course.data.weight_map`: the U-Net paper's weight map (equation 2)
"""

from unet_course.data.sources import dataset_names, get_dataset
from unet_course.data.synthetic import CLASS_NAMES, make_shapes

__all__ = ["CLASS_NAMES", "dataset_names", "get_dataset", "make_shapes"]
