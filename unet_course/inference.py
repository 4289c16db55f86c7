"""Apply a trained segmentation model to images of any size: ``predict``.

A U-Net with ``padding="same"`` needs a height and width divisible by ``2 ** depth`` (each
pooling halves them, each upsampling doubles them back). :func:`predict` takes any size:

1. **Pad and crop back.** The image is padded at the bottom and right by *reflection* (the
   image mirrored at its edge, so the border sees plausible context rather than zeros) to the
   next multiple of the model's ``divisor``; the prediction is cropped back to the image's own
   height and width.
2. **Tiles for large images.** With ``tile_size`` (or automatically for images larger than
   ``AUTO_TILE_ABOVE`` pixels on a side) the image is cut into overlapping tiles, each tile is
   predicted on its own, and the tiles are put together again. Tile offsets are multiples of
   the divisor, so each tile sees the same pooling grid as the whole image would.
   ``blend="centre"`` keeps, for every pixel, the tile in which it lies farthest from a tile
   edge (the overlap is split in the middle); ``blend="average"`` averages the probabilities
   of every tile covering the pixel. A pixel far enough from every tile edge (half the
   overlap, when it exceeds the model's receptive field) gets the same prediction as
   without tiles.
3. **Flip test-time augmentation** (``tta=True``): the probabilities of the image, its left-right
   flip, its up-down flip and both, each flipped back, are averaged (4 passes).

**The paper's overlap-tile strategy** (valid padding). A U-Net with ``padding="valid"`` (the
paper's: unpadded 3x3 convolutions) has a fixed input size ``I`` and predicts only the centre
``O x O`` of it (572 in, 388 out: a margin of 92 pixels each side is used up as context).
:func:`predict` then cuts the *output* plane into ``O x O`` tiles that cover the image, and
feeds each the ``I x I`` input window around it (:func:`overlap_tile_layout`): the input
windows overlap, the output tiles do not, and the stitched result has no seams, because each
output pixel saw its full context. Where that context lies outside the image (at the border),
it is filled by mirroring the image at its edge (:func:`mirror_pad`, the paper's figure 2):
the mirrored pixels look like more of the same tissue, where zeros would show the network a
black frame it never saw in training, and a prediction near the border would change.

The tile step is the output size rounded down to a multiple of the model's ``divisor``
(``2 ** depth``). That keeps every tile on the same pooling grid, so the stitched prediction
equals what one pass over the whole mirror-padded image would give. For a U-Net of depth 3
or more ``O`` is 4 more than a multiple of ``2 ** depth`` (388 = 24 x 16 + 4), so neighbouring
output tiles then share 4 rows or columns (each pixel is taken from one tile); with
``divisor=1`` the tiles abut exactly as in the paper, but a tile's max poolings then fall on
a shifted grid and its pixels may differ slightly from the one-pass prediction.

Class ids come out as ``uint8`` ``(H, W)`` per image; ``probabilities=True`` returns the
probabilities ``(H, W, C)`` (float32) instead. A one-channel (sigmoid) model gives class 1
where its probability exceeds 0.5.

>>> import keras
>>> model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(2, 1, activation="softmax")])
>>> predict(model, np.zeros((37, 53, 1), "float32")).shape
(37, 53)
>>> valid = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(2, 5, activation="softmax")])
>>> valid.output_shape  # 12 in, 8 out: a margin of 2 each side
(None, 8, 8, 2)
>>> predict(valid, np.zeros((37, 53, 1), "float32")).shape  # overlap tiles
(37, 53)
"""

from __future__ import annotations

import math

import keras
import numpy as np

from unet_course._validation import check_choice, check_positive_int
from unet_course.data.masks import to_class_ids
from unet_course.data.tiles import (  # the overlap-tile geometry, re-exported here
    TileLayout,
    mirror_pad,
    overlap_tile_layout,
    stitch_tiles,
)

#: Images larger than this (height or width, in pixels) are predicted in tiles when
#: ``tile_size`` is not given; the tiles are then ``AUTO_TILE_SIZE`` pixels square.
AUTO_TILE_ABOVE = 1024
AUTO_TILE_SIZE = 512
BLEND_MODES = ("centre", "average")
_FLIPS = ((), (0,), (1,), (0, 1))  # axes (height, width) flipped in each TTA pass


def _walk_layers(layer):
    yield layer
    for child in getattr(layer, "layers", None) or []:
        yield from _walk_layers(child)


def model_divisor(model) -> int:
    """The number the input height and width must be divisible by, read from the model.

    A ``divisor`` attribute on the model wins; otherwise the product of the strides of its
    downsampling layers (poolings and strided convolutions, transposed convolutions excepted).
    For a plain U-Net that is ``2 ** depth``; for a model with parallel branches it may be a
    larger power of two than needed, which only costs a little padding.

    >>> from unet_course.models import build_unet
    >>> model_divisor(build_unet((None, None, 1), 2, depth=3, base_filters=4))
    8
    """
    if getattr(model, "divisor", None):
        return check_positive_int("model.divisor", model.divisor)
    divisor = 1
    for layer in _walk_layers(model):
        if isinstance(layer, keras.layers.Conv2DTranspose):
            continue
        pooling = isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D))
        convolution = isinstance(
            layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
        )
        if pooling or convolution:
            strides = layer.strides if isinstance(layer.strides, (tuple, list)) else (layer.strides,) * 2
            divisor *= int(max(strides))
    return divisor


def _model_channels(model):
    shape = model.input_shape
    if isinstance(shape, list):
        raise ValueError("predict expects a model with one image input; this model has several inputs.")
    return shape[-1], shape[1:3]


def _as_image(name, image, channels) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype == object or array.ndim not in (2, 3):
        raise ValueError(
            f"{name} must be an image (height, width, channels) or (height, width), got shape {array.shape}. "
            "Pass several images as a list or as an array (batch, height, width, channels)."
        )
    if np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        array = array.astype(np.float32) / (255.0 if array.dtype != bool else 1.0)  # uint8 images: scaled to [0, 1]
    array = array.astype(np.float32, copy=False)
    if array.ndim == 2:
        array = array[..., None]
    if channels is not None and array.shape[-1] != channels:
        fix = (
            "convert it to grey"
            if channels == 1
            else ("convert it to RGB" if channels == 3 else f"give {channels} channels")
        )
        raise ValueError(f"{name} has {array.shape[-1]} channel(s) but the model expects {channels}; {fix}.")
    if min(array.shape[:2]) < 1:
        raise ValueError(f"{name} is empty (shape {array.shape}).")
    return array


def _pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pad (H, W, C) at the bottom and right by reflection to (height, width)."""
    pad_h, pad_w = height - image.shape[0], width - image.shape[1]
    if pad_h == 0 and pad_w == 0:
        return image
    mode = "reflect" if min(image.shape[:2]) > 1 else "edge"  # a 1-pixel side has nothing to mirror
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)


def _round_up(value: int, divisor: int) -> int:
    return int(math.ceil(value / divisor) * divisor)


class _Runner:
    """Calls the model on batches of equal-sized arrays, with optional flip TTA."""

    def __init__(self, model, batch_size: int, tta: bool, output_size=None):
        self.model, self.batch_size, self.tta = model, batch_size, tta
        self.output_size = output_size  # None: the output must have the input's size

    def _call(self, batch: np.ndarray) -> np.ndarray:
        outputs = []
        for start in range(0, len(batch), self.batch_size):
            out = self.model(batch[start : start + self.batch_size], training=False)
            outputs.append(keras.ops.convert_to_numpy(out).astype(np.float32))
        out = np.concatenate(outputs)
        if out.ndim != 4:
            raise ValueError(f"The model returned shape {out.shape}; predict expects (batch, height, width, classes).")
        expected = batch.shape[1:3] if self.output_size is None else tuple(self.output_size)
        if out.shape[1:3] != expected:
            raise ValueError(
                f"The model turned a {batch.shape[1]}x{batch.shape[2]} input into {out.shape[1]}x{out.shape[2]}; "
                "predict needs a model whose output has its input's size (padding='same'), "
                "or, for a model whose output is "
                "smaller (padding='valid'), a fixed input size: build it with e.g. input_shape=(572, 572, 1), and "
                "predict then uses overlap tiles."
            )
        return out

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if not self.tta:
            return self._call(batch)
        total = None
        for axes in _FLIPS:
            flipped_axes = tuple(a + 1 for a in axes)
            x = np.flip(batch, flipped_axes) if axes else batch
            out = self._call(np.ascontiguousarray(x))
            out = np.flip(out, flipped_axes) if axes else out
            total = out if total is None else total + out
        return total / len(_FLIPS)


def _tile_starts(size: int, tile: int, step: int) -> list[int]:
    count = 1 if size <= tile else 1 + math.ceil((size - tile) / step)
    return [i * step for i in range(count)]


def _predict_tiled(runner, image, tile, overlap, divisor, blend):
    height, width = image.shape[:2]
    tile = tuple(_round_up(t, divisor) for t in tile)
    steps = []
    for t in tile:
        if not 0 <= overlap < t:
            raise ValueError(f"overlap={overlap} must be at least 0 and smaller than the tile size {t}.")
        steps.append(max(divisor, (t - overlap) // divisor * divisor))
    starts = [_tile_starts(size, t, s) for size, t, s in zip((height, width), tile, steps)]
    full = [st[-1] + t for st, t in zip(starts, tile)]
    padded = _pad_to(image, *full)
    if blend == "centre":
        # tile i owns [cut[i-1], cut[i]): the overlap with its neighbour is split in the middle
        owned = []
        for st, t, s, f in zip(starts, tile, steps, full):
            cuts = [p + t - (t - s) // 2 for p in st[:-1]]
            owned.append(list(zip([0] + cuts, cuts + [f])))
    total = weights = None
    positions = [(y, x, iy, ix) for iy, y in enumerate(starts[0]) for ix, x in enumerate(starts[1])]
    for start in range(0, len(positions), runner.batch_size):
        chunk = positions[start : start + runner.batch_size]
        batch = np.stack([padded[y : y + tile[0], x : x + tile[1]] for y, x, _, _ in chunk])
        out = runner(batch)
        if total is None:
            total = np.zeros((*full, out.shape[-1]), np.float32)
            weights = np.zeros((*full, 1), np.float32)
        for (y, x, iy, ix), tile_out in zip(chunk, out):
            if blend == "average":
                total[y : y + tile[0], x : x + tile[1]] += tile_out
                weights[y : y + tile[0], x : x + tile[1]] += 1
            else:
                (y0, y1), (x0, x1) = owned[0][iy], owned[1][ix]
                total[y0:y1, x0:x1] = tile_out[y0 - y : y1 - y, x0 - x : x1 - x]
                weights[y0:y1, x0:x1] = 1
    return (total / weights)[:height, :width]


def _shrinking_geometry(model, fixed):
    """``(input_size, output_size)`` of a fixed-size model whose output is smaller, else None."""
    output_shape = model.output_shape
    if isinstance(output_shape, list):
        raise ValueError("predict expects a model with one output; this model has several outputs.")
    if fixed[0] is None or fixed[1] is None or len(output_shape) != 4:
        return None
    inputs = (int(fixed[0]), int(fixed[1]))
    outputs = output_shape[1:3]
    if None in outputs or tuple(outputs) == inputs:
        return None
    outputs = (int(outputs[0]), int(outputs[1]))
    if any(o > i or (i - o) % 2 for i, o in zip(inputs, outputs)):
        raise ValueError(
            f"The model turns {inputs[0]}x{inputs[1]} inputs into {outputs[0]}x{outputs[1]} outputs; predict needs an "
            "output of the input's size, or smaller by the same margin on every side (a valid-padding U-Net)."
        )
    return inputs, outputs


def _predict_overlap_tiles(runner, image, layout: TileLayout) -> np.ndarray:
    padded = mirror_pad(image, layout.padding)
    (ih, iw) = layout.input_size
    outputs = []
    for start in range(0, len(layout.origins), runner.batch_size):
        chunk = layout.origins[start : start + runner.batch_size]
        outputs.extend(runner(np.stack([padded[y : y + ih, x : x + iw] for y, x in chunk])))
    return stitch_tiles(outputs, layout, image.shape)


def _to_class_ids(probabilities: np.ndarray) -> np.ndarray:
    return to_class_ids(probabilities, threshold=0.5)


def predict(
    model,
    image_or_images,
    *,
    tile_size=None,
    overlap: int = 32,
    tta: bool = False,
    probabilities: bool = False,
    batch_size: int = 4,
    divisor: int | None = None,
    blend: str = "centre",
):
    """Predict class ids (or probabilities) for one image or several, of any size.

    Args:
        model: a Keras model from images ``(batch, H, W, C)`` to per-pixel probabilities
            ``(batch, H, W, classes)`` (softmax, or one sigmoid channel), with the input's size;
            or a model with a fixed input size whose output is smaller by the same margin on
            every side (a ``padding="valid"`` U-Net: 572 in, 388 out), predicted in overlap
            tiles with mirrored context at the border (see the module docstring and
            :func:`overlap_tile_layout`). For such a model ``tile_size``, ``overlap`` and
            ``blend`` do not apply: its tiles are its own size.
        image_or_images: one image ``(H, W, C)`` (or ``(H, W)`` for grey), a batch
            ``(N, H, W, C)``, or a list of images of different sizes. Float images are used as
            they are (the course's models expect [0, 1]); integer images are divided by 255.
        tile_size: ``None`` predicts the whole image at once unless a side exceeds
            ``AUTO_TILE_ABOVE`` (then tiles of ``AUTO_TILE_SIZE``); an int or ``(height, width)``
            predicts tiles of that size (rounded up to a multiple of ``divisor``). A model with a
            fixed input size is always fed tiles of that size (overlap at most half a tile).
        overlap: pixels shared by neighbouring tiles (at least; the tile step is rounded down to
            a multiple of ``divisor``).
        tta: average over the four flips (identity, left-right, up-down, both), flipped back.
            For a valid-padding model each input tile is flipped (its margins are the same on
            both sides, so the flipped tile's output covers the same pixels).
        probabilities: return the probabilities ``(H, W, C)`` float32 instead of class ids.
        batch_size: images (or tiles) per model call.
        divisor: height and width are padded to a multiple of this; ``None`` reads it from the
            model (:func:`model_divisor`: ``2 ** depth`` for a U-Net). For a valid-padding model,
            the overlap-tile step is the output size rounded down to a multiple of it.
        blend: ``"centre"`` (each pixel from the tile where it is farthest from an edge) or
            ``"average"`` (mean probability over the tiles covering it).

    Returns:
        For one image, ``(H, W)`` uint8 class ids (or ``(H, W, C)`` probabilities); for a batch
        array, an array ``(N, H, W)`` (or ``(N, H, W, C)``); for a list, a list.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    check_choice("blend", blend, BLEND_MODES)
    if isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or overlap < 0:
        raise ValueError(f"overlap must be a whole number of pixels, 0 or more, got {overlap!r}.")
    channels, fixed = _model_channels(model)
    divisor = model_divisor(model) if divisor is None else check_positive_int("divisor", divisor)

    if isinstance(image_or_images, (list, tuple)):
        if not image_or_images:
            raise ValueError("image_or_images is an empty list; give at least one image.")
        images, kind = [_as_image(f"image {i}", im, channels) for i, im in enumerate(image_or_images)], "list"
    else:
        array = np.asarray(image_or_images)
        if array.ndim == 4:
            images, kind = [_as_image(f"image {i}", im, channels) for i, im in enumerate(array)], "batch"
        else:
            images, kind = [_as_image("image", array, channels)], "single"

    if tile_size is not None:
        tile = (tile_size, tile_size) if isinstance(tile_size, (int, np.integer)) else tuple(tile_size)
        if len(tile) != 2:
            raise ValueError(f"tile_size must be an int or (height, width), got {tile_size!r}.")
        tile = tuple(check_positive_int("tile_size", t) for t in tile)
    else:
        tile = None

    geometry = _shrinking_geometry(model, fixed)
    if geometry is not None:  # valid padding: the paper's overlap-tile strategy
        (ih, iw), (oh, ow) = geometry
        if tile is not None and tile != (ih, iw):
            raise ValueError(
                f"tile_size={tile_size!r} does not apply to this model: it takes {ih}x{iw} inputs and predicts their "
                f"centre {oh}x{ow}, so predict feeds it overlap tiles of its own size. Leave tile_size out."
            )
        runner = _Runner(model, batch_size, tta, output_size=(oh, ow))
        results = [
            _predict_overlap_tiles(runner, image, overlap_tile_layout(image.shape, (ih, iw), (oh, ow), divisor=divisor))
            for image in images
        ]
        return _finish(results, kind, probabilities)
    if fixed[0] is not None and fixed[1] is not None:
        tile = (int(fixed[0]), int(fixed[1]))  # a fixed-size model only takes tiles of its size
        if any(t % divisor for t in tile):
            divisor = 1  # keep the tiles at exactly the model's size
        overlap = min(overlap, min(tile) // 2)  # a small fixed size: at most half a tile shared

    runner = _Runner(model, batch_size, tta)
    results = [None] * len(images)
    whole = []  # images predicted in one piece, grouped by padded size to batch them
    for index, image in enumerate(images):
        height, width = image.shape[:2]
        image_tile = tile
        if image_tile is None and max(height, width) > AUTO_TILE_ABOVE:
            image_tile = (AUTO_TILE_SIZE, AUTO_TILE_SIZE)
        if image_tile is not None and (height > image_tile[0] or width > image_tile[1] or fixed[0] is not None):
            results[index] = _predict_tiled(runner, image, image_tile, overlap, divisor, blend)
        else:
            whole.append(index)
    groups: dict[tuple, list[int]] = {}
    for index in whole:
        height, width = images[index].shape[:2]
        groups.setdefault((_round_up(height, divisor), _round_up(width, divisor)), []).append(index)
    for (height, width), indices in groups.items():
        out = runner(np.stack([_pad_to(images[i], height, width) for i in indices]))
        for i, o in zip(indices, out):
            results[i] = o[: images[i].shape[0], : images[i].shape[1]]

    return _finish(results, kind, probabilities)


def _finish(results, kind: str, probabilities: bool):
    if not probabilities:
        results = [_to_class_ids(r) for r in results]
    if kind == "single":
        return results[0]
    if kind == "batch":
        return np.stack(results)
    return results
