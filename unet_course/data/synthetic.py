"""A deterministic multi-class "shapes" dataset: the course's default data.

Each image is a noisy, shaded background with a few filled shapes drawn on it. The mask
gives every pixel a class id:

====  ==========
id    class
====  ==========
0     background
1     circle
2     square
3     triangle
====  ==========

Shapes may overlap; the one drawn last wins in both image and mask, as in a real scene
where the front object hides the back one. Colours are random for every shape, so a
network has to learn *shape*, not colour. The same ``seed`` always gives the same data.

``imbalanced=True`` draws a single tiny shape per image (under 1% of the pixels): the
data set for the pixel-accuracy trap in notebook 02.
"""

from __future__ import annotations

import numpy as np

from unet_course._validation import check_positive_int

CLASS_NAMES = ("background", "circle", "square", "triangle")


def _shape_mask(kind: int, size: int, rng: np.random.Generator, radius_range) -> np.ndarray:
    """Boolean mask of one shape of class ``kind`` at a random place and size."""
    yy, xx = np.mgrid[0:size, 0:size]
    radius = rng.uniform(*radius_range)
    cy, cx = rng.uniform(radius, size - radius, size=2)
    if kind == 1:  # circle
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    if kind == 2:  # square, axis-aligned
        half = radius * 0.85
        return (np.abs(yy - cy) <= half) & (np.abs(xx - cx) <= half)
    # triangle: three vertices on a circle, with a random rotation; a pixel is inside when it
    # lies on the same side of every edge as the centre does
    angle = rng.uniform(0, 2 * np.pi)
    corners = [
        (cy + radius * np.sin(angle + k * 2 * np.pi / 3), cx + radius * np.cos(angle + k * 2 * np.pi / 3))
        for k in range(3)
    ]
    inside = np.ones((size, size), dtype=bool)
    for (y0, x0), (y1, x1) in zip(corners, corners[1:] + corners[:1]):
        side = (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)
        centre_side = (x1 - x0) * (cy - y0) - (y1 - y0) * (cx - x0)
        inside &= side * np.sign(centre_side) >= 0
    return inside


def make_shapes(
    num_images: int,
    image_size: int = 64,
    seed: int = 0,
    *,
    max_shapes: int = 4,
    noise: float = 0.08,
    imbalanced: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Make ``num_images`` synthetic images and their masks.

    Args:
        num_images: how many image/mask pairs.
        image_size: height and width in pixels (at least 16).
        seed: the same seed gives the same data, on every machine.
        max_shapes: each image gets 1..max_shapes shapes (ignored when ``imbalanced``).
        noise: standard deviation of the Gaussian pixel noise (0 for none).
        imbalanced: one tiny shape per image, under 1% foreground.

    Returns:
        ``(images, masks)``: images float32 ``(N, H, W, 3)`` in [0, 1]; masks uint8
        ``(N, H, W)`` holding class ids 0..3 (see ``CLASS_NAMES``).

    >>> images, masks = make_shapes(8, 64)
    >>> images.shape, masks.shape, images.dtype, masks.dtype
    ((8, 64, 64, 3), (8, 64, 64), dtype('float32'), dtype('uint8'))
    """
    num_images = check_positive_int("num_images", num_images)
    image_size = check_positive_int("image_size", image_size, minimum=16)
    max_shapes = check_positive_int("max_shapes", max_shapes)
    if not (isinstance(noise, (int, float)) and 0 <= noise <= 1):
        raise ValueError(f"noise must be a number between 0 and 1, got {noise!r}.")
    rng = np.random.default_rng(seed)
    size = image_size
    images = np.empty((num_images, size, size, 3), dtype=np.float32)
    masks = np.zeros((num_images, size, size), dtype=np.uint8)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(num_images):
        # background: a random colour with a gentle gradient in a random direction
        base = rng.uniform(0.15, 0.85, size=3)
        direction = rng.uniform(-0.25, 0.25, size=2)
        image = base[None, None, :] + (direction[0] * (yy - 0.5) + direction[1] * (xx - 0.5))[..., None]
        if imbalanced:
            count, radius_range = 1, (max(1.5, size * 0.03), max(2.0, size * 0.07))
        else:
            count, radius_range = int(rng.integers(1, max_shapes + 1)), (size * 0.08, size * 0.22)
        for _ in range(count):
            kind = int(rng.integers(1, len(CLASS_NAMES)))
            shape = _shape_mask(kind, size, rng, radius_range)
            # a colour far enough from the background that the shape is visible
            colour = rng.uniform(0.0, 1.0, size=3)
            while np.abs(colour - base).max() < 0.3:
                colour = rng.uniform(0.0, 1.0, size=3)
            image[shape] = colour
            masks[i][shape] = kind
        if noise:
            image = image + rng.normal(0.0, noise, size=image.shape)
        images[i] = np.clip(image, 0.0, 1.0)
    return images, masks
