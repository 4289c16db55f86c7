"""Overlap tiles: the U-Net paper's way to feed a valid-padding model, and validation sets cut from them.

A valid-padding U-Net (572 in, 388 out) predicts the centre of its input, so an image is cut
into tiles whose outputs abut and whose inputs overlap, with the context mirrored at the image
border (the paper's figure 2). Training's validation set of such a model and
:func:`unet_course.inference.predict` cut images into the same tiles:
:func:`overlap_tile_layout` (where the tiles go), :func:`mirror_pad` (the context mirrored at
the image border), :func:`stitch_tiles` (the outputs put back together), :func:`overlap_tiles`
(the tiles of an image and its mask) and :func:`validation_dataset` (the validation set for
``model.fit``: overlap tiles, or whole images centre-cropped to a multiple of ``2 ** depth``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from unet_course._validation import check_positive_int

#: The label of a tile's mask pixels that hold no pixel of their own (past the image, or owned
#: by another tile); the loss and the metrics ignore it when no void label is given. Masks of
#: up to 255 classes never hold it.
OUTSIDE_LABEL = 255
VALIDATION_BATCH = 2  # images (or valid-padding tiles) per validation batch


def _pair(name, value) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{name} must be an int or (height, width), got {value!r}.")
    return tuple(check_positive_int(name, v) for v in pair)


def mirror_pad(image, margin) -> np.ndarray:
    """``image`` extended by mirroring it at its edges (reflection: the edge pixel is not repeated).

    ``image`` is ``(H, W)`` or ``(H, W, C)``; ``margin`` is an int (the same on every side),
    ``(vertical, horizontal)`` or ``((top, bottom), (left, right))``. A margin wider than
    the image mirrors again (the image, its mirror image, the image...). This is how the
    U-Net paper fills the missing context at the image border (its figure 2).

    >>> mirror_pad(np.array([[1, 2, 3]]), ((0, 0), (2, 1)))
    array([[3, 2, 1, 2, 3, 2]])
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be (height, width) or (height, width, channels), got shape {image.shape}.")
    if isinstance(margin, (int, np.integer)) and not isinstance(margin, bool):
        widths = ((margin, margin), (margin, margin))
    else:
        widths = tuple(
            (m, m) if isinstance(m, (int, np.integer)) and not isinstance(m, bool) else tuple(m) for m in margin
        )
    if len(widths) != 2 or any(len(w) != 2 for w in widths):
        raise ValueError(
            f"margin must be an int, (vertical, horizontal) or ((top, bottom), (left, right)), got {margin!r}."
        )
    for w in widths:
        for v in w:
            check_positive_int("margin", v, minimum=0)
    return np.pad(image, widths + ((0, 0),) * (image.ndim - 2), mode="reflect")


@dataclass(frozen=True)
class TileLayout:
    """Where the overlap tiles of an image go (see :func:`overlap_tile_layout`).

    Attributes:
        origins: ``(top, left)`` of every output tile in image coordinates, row by row.
        input_size, output_size: ``(height, width)`` of the model's input and output.
        margin: ``(top, left)`` context on each side: ``(input - output) // 2``.
        step: ``(rows, columns)`` from one tile origin to the next.
        padding: ``((top, bottom), (left, right))`` for :func:`mirror_pad`: the input window
            of the tile at ``(y, x)`` is ``padded[y : y + input_height, x : x + input_width]``
            of the padded image; its output covers ``image[y : y + output_height, x : x + output_width]``
            (the part inside the image).
    """

    origins: list
    input_size: tuple
    output_size: tuple
    margin: tuple
    step: tuple
    padding: tuple

    @property
    def grid(self) -> tuple[int, int]:
        """Tiles down and across."""
        return len({y for y, _ in self.origins}), len({x for _, x in self.origins})


def overlap_tile_layout(image_shape, input_size, output_size, *, divisor: int = 1) -> TileLayout:
    """The U-Net paper's overlap-tile layout for an image of ``image_shape``.

    The output plane is cut into ``output_size`` tiles from the top-left corner, ``step``
    apart, until the image is covered (the last row and column reach past the image; what
    they predict there is cropped away). Each tile's input is the ``input_size`` window
    centred on it, in the image mirror-padded by :attr:`TileLayout.padding`.

    Args:
        image_shape: ``(H, W)`` or ``(H, W, C)``.
        input_size, output_size: the model's, as an int or ``(height, width)``; the margin
            ``input - output`` must be even (the same context on both sides).
        divisor: the step is ``output_size`` rounded down to a multiple of this (when the
            output is at least that large). 1 gives tiles that abut exactly, as in the
            paper; :func:`~unet_course.inference.predict` passes ``2 ** depth`` so that every
            tile sees the same pooling grid (see :mod:`unet_course.inference`).

    The paper's network on a 512 x 512 ISBI image: 4 tiles, 384 apart (388 rounded down
    to a multiple of 16), each fed 572 x 572 pixels::

    >>> layout = overlap_tile_layout((512, 512), 572, 388, divisor=16)
    >>> layout.origins, layout.margin, layout.step
    ([(0, 0), (0, 384), (384, 0), (384, 384)], (92, 92), (384, 384))
    >>> layout.padding  # 92 mirrored pixels on top; 384 + 572 - 92 - 512 at the bottom
    ((92, 352), (92, 352))
    >>> overlap_tile_layout((512, 512), 572, 388).step  # divisor 1: tiles abut
    (388, 388)
    """
    shape = tuple(image_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"image_shape must be (height, width) or (height, width, channels), got {image_shape!r}.")
    size = tuple(check_positive_int("image_shape", v) for v in shape[:2])
    inputs, outputs = _pair("input_size", input_size), _pair("output_size", output_size)
    divisor = check_positive_int("divisor", divisor)
    margins, steps, origins, padding = [], [], [], []
    for axis, (extent, i, o) in enumerate(zip(size, inputs, outputs)):
        label = ("height", "width")[axis]
        if o > i or (i - o) % 2:
            raise ValueError(
                f"The output {label} {o} must be at most the input {label} {i}, by an even number of pixels (the "
                "same margin on both sides), as for a valid-padding U-Net (572 in, 388 out)."
            )
        margin = (i - o) // 2
        step = o // divisor * divisor if o >= divisor else o
        count = 1 if extent <= o else 1 + math.ceil((extent - o) / step)
        starts = [k * step for k in range(count)]
        margins.append(margin)
        steps.append(step)
        origins.append(starts)
        padding.append((margin, starts[-1] + i - margin - extent))
    return TileLayout(
        origins=[(y, x) for y in origins[0] for x in origins[1]],
        input_size=inputs,
        output_size=outputs,
        margin=tuple(margins),
        step=tuple(steps),
        padding=tuple(padding),
    )


def stitch_tiles(outputs, layout: TileLayout, image_shape) -> np.ndarray:
    """Put the model's outputs for the tiles of ``layout`` (in its order) back into one image.

    ``outputs`` is a sequence of ``(output_height, output_width, C)`` arrays, one per origin.
    Where neighbouring tiles share rows or columns, the later tile's are kept; the parts past
    the image are cropped away. Returns ``(H, W, C)`` float32.
    """
    (oh, ow), (last_y, last_x) = layout.output_size, layout.origins[-1]
    outputs = list(outputs)
    if len(outputs) != len(layout.origins):
        raise ValueError(f"Got {len(outputs)} tile outputs for a layout of {len(layout.origins)} tiles.")
    total = np.zeros((last_y + oh, last_x + ow, np.shape(outputs[0])[-1]), np.float32)
    for (y, x), tile in zip(layout.origins, outputs):
        total[y : y + oh, x : x + ow] = tile
    return total[: image_shape[0], : image_shape[1]]


def crop_to_multiple(image, mask, multiple: int):
    """Centre crop of ``image`` and ``mask`` to the largest height and width divisible by ``multiple``.

    >>> [a.shape for a in crop_to_multiple(np.zeros((37, 50, 3)), np.zeros((37, 50)), 16)]
    [(32, 48, 3), (32, 48)]
    """
    height, width = (image.shape[0] // multiple) * multiple, (image.shape[1] // multiple) * multiple
    if height == 0 or width == 0:
        raise ValueError(
            f"A validation image of size {image.shape[:2]} is smaller than {multiple} (2**depth); use larger images."
        )
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return image[top : top + height, left : left + width], mask[top : top + height, left : left + width]


def overlap_tiles(image, mask, input_size: int, output_size: int, *, divisor: int = 1, fill_label: int = OUTSIDE_LABEL):
    """The overlap tiles of one image and its mask: ``(inputs (n, I, I, C), masks (n, O, O))``.

    The tiles are those :func:`~unet_course.inference.predict` feeds a valid-padding model
    (:func:`overlap_tile_layout`): mirror-padded ``I x I`` input windows and the ``O x O``
    mask under each one's output. Every pixel of the mask is in exactly one tile; the places
    where a tile reaches past the image, or that a later tile also covers, hold ``fill_label``
    (to be ignored by the loss and the metrics).
    """
    layout = overlap_tile_layout(image.shape, input_size, output_size, divisor=divisor)
    padded = mirror_pad(image, layout.padding)
    height, width = mask.shape
    (step_h, step_w), (last_y, last_x) = layout.step, layout.origins[-1]
    inputs, labels = [], []
    for y, x in layout.origins:
        tile = np.full((output_size, output_size), fill_label, np.int32)
        # owned: up to the next tile's origin (the last tile: to the image's edge)
        bottom = height if y == last_y else min(height, y + step_h)
        right = width if x == last_x else min(width, x + step_w)
        tile[: bottom - y, : right - x] = mask[y:bottom, x:right]
        inputs.append(padded[y : y + input_size, x : x + input_size])
        labels.append(tile)
    return np.stack(inputs).astype(np.float32), np.stack(labels)


def validation_dataset(
    images,
    masks,
    depth: int,
    batch_size: int = VALIDATION_BATCH,
    *,
    input_size: int | None = None,
    output_size: int | None = None,
    fill_label: int = OUTSIDE_LABEL,
):
    """The validation set for ``model.fit``, batched and cached.

    Without ``input_size`` (``padding="same"``): whole validation images, centre-cropped to a
    multiple of ``2 ** depth`` (:func:`crop_to_multiple`). With ``input_size`` and
    ``output_size`` (a valid-padding model's): every image as :func:`overlap_tiles`
    (``2 ** depth`` is the tile step's divisor), in order, with ``fill_label`` where a tile's
    mask holds no pixel of its own.
    """
    import tensorflow as tf

    if input_size is not None:
        if not output_size:
            raise ValueError(f"input_size={input_size} needs the model's output_size (see models.unet.valid_crop).")
        tiles = [
            overlap_tiles(i, m, input_size, output_size, divisor=2**depth, fill_label=fill_label)
            for i, m in zip(images, masks)
        ]
        inputs = np.concatenate([t[0] for t in tiles])
        labels = np.concatenate([t[1] for t in tiles])
        return tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(batch_size).cache().prefetch(2)
    pairs = [crop_to_multiple(i, m, 2**depth) for i, m in zip(images, masks)]
    if len({p[0].shape for p in pairs}) == 1:
        images_array = np.stack([p[0] for p in pairs]).astype(np.float32)
        masks_array = np.stack([p[1] for p in pairs]).astype(np.int32)
        return tf.data.Dataset.from_tensor_slices((images_array, masks_array)).batch(batch_size).cache().prefetch(2)
    channels = pairs[0][0].shape[-1]
    signature = (tf.TensorSpec((None, None, channels), tf.float32), tf.TensorSpec((None, None), tf.int32))
    generator = lambda: ((i.astype(np.float32), m.astype(np.int32)) for i, m in pairs)  # noqa: E731
    return tf.data.Dataset.from_generator(generator, output_signature=signature).batch(1).cache().prefetch(2)
