"""Reading images and masks from disk (PNG, TIFF, JPEG, via Pillow).

Masks are read as integer class ids. Bad files and mismatched folders give a
``ValueError`` that names the file and the fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")


def read_image(path) -> np.ndarray:
    """One image as float32 ``(H, W, C)`` in [0, 1] (C = 1 for grey, 3 for colour)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            array = np.asarray(image.convert("L") if image.mode in ("L", "I;16", "I", "F", "1", "P") else image.convert("RGB"))
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist; check the folder and the file name.") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"{path} is not a readable image ({error}); remove it from the folder or re-download it.") from None
    array = array.astype(np.float32) / 255.0
    return array[..., None] if array.ndim == 2 else array


def read_mask(path, value_map: dict | None = None) -> np.ndarray:
    """One mask as uint8 class ids ``(H, W)``.

    ``value_map`` maps stored pixel values to class ids (e.g. ``{0: 0, 255: 1}``); a value
    outside it is an error that lists the values found.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("L") if image.mode not in ("L", "P", "I", "I;16") else image)
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist; check the folder and the file name.") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"{path} is not a readable mask ({error}); remove it from the folder or re-download it.") from None
    if value_map is None:
        return array.astype(np.uint8)
    values = np.unique(array)
    unknown = [int(v) for v in values if int(v) not in value_map]
    if unknown:
        raise ValueError(
            f"{path} holds the values {unknown[:6]}, not in the expected {sorted(value_map)}. "
            "Masks must be saved without smoothing (PNG, not JPEG) and resized with nearest neighbour."
        )
    lookup = np.zeros(int(values.max()) + 1, dtype=np.uint8)
    for value, class_id in value_map.items():
        if value < len(lookup):
            lookup[value] = class_id
    return lookup[array]


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder.")
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: (len(p.stem), p.stem))


def load_pairs(image_dir, mask_dir, value_map: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images and masks from two folders, paired by file name (``0.png`` with ``0.png``).

    Returns ``(images (N, H, W, C) float32, masks (N, H, W) uint8)``.
    """
    images_paths, mask_paths = _files(Path(image_dir)), _files(Path(mask_dir))
    if len(images_paths) != len(mask_paths):
        raise ValueError(
            f"{image_dir} holds {len(images_paths)} images but {mask_dir} holds {len(mask_paths)} masks; "
            "every image needs exactly one mask with the same file name."
        )
    unpaired = sorted({p.stem for p in images_paths} ^ {p.stem for p in mask_paths})
    if unpaired:
        raise ValueError(f"These names have an image or a mask but not both: {unpaired[:6]}; rename or remove them.")
    images = [read_image(p) for p in images_paths]
    masks = [read_mask(p, value_map) for p in mask_paths]
    for image_path, image, mask in zip(images_paths, images, masks):
        if image.shape[:2] != mask.shape:
            raise ValueError(f"{image_path.name}: the image is {image.shape[:2]} but its mask is {mask.shape}; they must be the same size.")
    return np.stack(images), np.stack(masks)
