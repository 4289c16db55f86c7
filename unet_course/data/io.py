"""Reading images and masks from disk (PNG, TIFF, JPEG, GIF, BMP, via Pillow).

Masks are read as integer class ids. Bad files and mismatched folders give a
``ValueError`` that names the file and the fix.

- :func:`read_image`, :func:`read_mask`: one file.
- :func:`load_pairs`: two folders of same-sized images and masks, stacked (the ISBI data).
- :func:`list_images`, :func:`load_image_folder`, :func:`load_folder_pairs`: folders for the
  ``unet-course`` command: files matched by stem, sizes may differ (lists come back), mask
  values checked against the classes (0/255 accepted for two classes), grey and RGB images
  of one folder brought to the same number of channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unet_course._validation import check_num_classes
from unet_course.data.masks import check_label_values

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".gif")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def read_image(path) -> np.ndarray:
    """One image as float32 ``(H, W, C)`` in [0, 1] (C = 1 for grey, 3 for colour)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                array = _scale_deep(np.asarray(image))
            elif image.mode in _GREY_MODES:
                array = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
            else:  # RGB, RGBA, CMYK, YCbCr, palette (GIF): colour, unless every pixel is grey
                array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
                if (
                    image.mode == "P"
                    and np.array_equal(array[..., 0], array[..., 1])
                    and np.array_equal(array[..., 0], array[..., 2])
                ):
                    array = array[..., 0]
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist; check the folder and the file name.") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(
            f"{path} is not a readable image ({error}); remove it from the folder or re-download it."
        ) from None
    return array[..., None] if array.ndim == 2 else array


def _scale_deep(array: np.ndarray) -> np.ndarray:
    """16-bit or 32-bit grey to [0, 1]: by the type's range (uint16: 65535), or as is for floats in [0, 1]."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        top = float(np.nanmax(array)) if array.size else 1.0
        return np.clip(array / (top if top > 1 else 1.0), 0, 1).astype(np.float32)
    top = float(array.max()) if array.size else 0.0
    scale = 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
    return (array.astype(np.float32) / scale).clip(0, 1)


def read_mask(path, value_map: dict | None = None) -> np.ndarray:
    """One mask as uint8 class ids ``(H, W)``.

    ``value_map`` maps stored pixel values to class ids (e.g. ``{0: 0, 255: 1}``); a value
    outside it is an error that lists the values found.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            array = np.asarray(image.convert("L") if image.mode not in ("L", "P", "I", "I;16") else image)
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist; check the folder and the file name.") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(
            f"{path} is not a readable mask ({error}); remove it from the folder or re-download it."
        ) from None
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
    return sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: (len(p.stem), p.stem)
    )


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
            raise ValueError(
                f"{image_path.name}: the image is {image.shape[:2]} but its mask is {mask.shape}; "
                "they must be the same size."
            )
    return np.stack(images), np.stack(masks)


# --------------------------------------------------------------------------------------
# Folders for the command line: matched by stem, sizes may differ
# --------------------------------------------------------------------------------------


def list_images(folder, what: str = "images") -> list[Path]:
    """The image files of ``folder`` (suffixes in ``IMAGE_SUFFIXES``), sorted by name.

    A missing or empty folder, or two files with the same stem (``a.png`` and ``a.tif``), is a
    ``ValueError`` that names it. Hidden files (``.name``) are skipped.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ValueError(f"the {what} folder {folder} does not exist; check the path.")
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder of {what}; give the folder that holds them.")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        others = f" (it holds {len(files)} other files, e.g. {files[0].name})" if files else ""
        kinds = ", ".join(s.lstrip(".").upper() for s in IMAGE_SUFFIXES)
        raise ValueError(f"the {what} folder {folder} holds no images{others}; it needs {kinds} files.")
    stems: dict[str, list[str]] = {}
    for p in images:
        stems.setdefault(p.stem, []).append(p.name)
    duplicated = {k: v for k, v in stems.items() if len(v) > 1}
    if duplicated:
        example = next(iter(duplicated.values()))
        raise ValueError(
            f"{folder} holds several files with the same name stem ({', '.join(example)}); keep one file per stem."
        )
    return sorted(images, key=_natural_key)


def _natural_key(path: Path):
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.stem)]


def _names(items, limit: int = 8) -> str:
    items = list(items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(str(i) for i in items[:limit]) + more


def _same_channels(images: list[np.ndarray], paths: list[Path], notes: list[str]) -> list[np.ndarray]:
    channels = {im.shape[-1] for im in images}
    if len(channels) == 1:
        return images
    if channels == {1, 3}:
        grey = [p.name for p, im in zip(paths, images) if im.shape[-1] == 1]
        notes.append(f"{len(grey)} grey image(s) among colour ones were repeated to 3 channels: {_names(grey, 4)}.")
        return [np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im for im in images]
    raise ValueError(
        f"the images have different numbers of channels {sorted(channels)}; convert them all to grey or all to RGB."
    )


def load_image_folder(folder) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Every image of ``folder``: ``(images, stems, notes)``.

    ``images`` is a list of float32 ``(H, W, C)`` arrays in [0, 1] (sizes may differ);
    ``notes`` lists what was changed (grey images repeated to RGB in a mixed folder).
    """
    paths = list_images(folder)
    notes: list[str] = []
    images = _same_channels([read_image(p) for p in paths], paths, notes)
    return images, [p.stem for p in paths], notes


def _read_mask_values(path: Path) -> np.ndarray:
    """A mask file's stored values as integers ``(H, W)`` (palette indices for palette PNGs)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            array = np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(
            f"{path} is not a readable mask ({error}); remove it from the folder or save it again."
        ) from None
    if array.ndim == 3:
        colour = array[..., :3] if array.shape[-1] >= 3 else array[..., :1]
        if not all(np.array_equal(colour[..., 0], colour[..., c]) for c in range(1, colour.shape[-1])):
            raise ValueError(
                f"{path} is a colour ({mode}) mask; masks must hold one class id per pixel: save it as a "
                "greyscale or palette PNG whose values are the class ids."
            )
        array = colour[..., 0]
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(array == np.round(array)):
            raise ValueError(f"{path} holds fractional values; masks hold whole class ids.")
    return array.astype(np.int64)


@dataclass
class FolderPairs:
    """Images and masks loaded from two folders (see :func:`load_folder_pairs`)."""

    images: list
    masks: list
    stems: list
    notes: list = field(default_factory=list)
    image_paths: list = field(default_factory=list)
    mask_paths: list = field(default_factory=list)

    def subset(self, indices) -> FolderPairs:
        indices = list(indices)
        pick = lambda items: [items[i] for i in indices] if items else []  # noqa: E731
        return FolderPairs(
            pick(self.images),
            pick(self.masks),
            pick(self.stems),
            list(self.notes),
            pick(self.image_paths),
            pick(self.mask_paths),
        )


def check_mask_values(masks, paths, num_classes: int, ignore_index=None, notes=None) -> list[np.ndarray]:
    """Masks whose values are class ids ``0 .. num_classes - 1`` (or ``ignore_index``).

    For two classes a 0/255 mask is accepted: 255 becomes 1 (and ``notes`` says so). Any other
    value is a ``ValueError`` that lists the values and the files that hold them
    (:func:`~unet_course.data.masks.check_label_values`, with a hint for the command line).
    """
    notes = [] if notes is None else notes
    allowed = set(range(num_classes)) | ({int(ignore_index)} if ignore_index is not None else set())
    values = [set(np.unique(m).tolist()) for m in masks]
    found = set().union(*values)
    if num_classes == 2 and 255 in found - allowed and found - allowed == {255} and found - {ignore_index} <= {0, 255}:
        masks = [np.where(m == 255, 1, m) for m in masks]
        changed = [p.name for p, v in zip(paths, values) if 255 in v]
        notes.append(f"the masks hold 0 and 255: 255 became class 1 ({len(changed)} of {len(masks)} masks).")
        found = (found - {255}) | {1}
    hint = "Check --num-classes, give --ignore-index for a void label, or remap the mask values."
    if num_classes > 2 and found - allowed == {255} and found <= {0, 1, 255}:
        hint = "A 0/255 binary mask needs --num-classes 2 (255 then becomes 1), or --ignore-index 255 for void."
    if any(p.suffix.lower() in (".jpg", ".jpeg") for p in paths):
        hint += " JPEG masks gain new values around edges: save masks as PNG."
    check_label_values(masks, num_classes, ignore_index, names=[p.name for p in paths], hint=hint)
    dtype = np.uint8 if max(found) <= 255 and min(found) >= 0 else np.int32
    return [m.astype(dtype) for m in masks]


def load_folder_pairs(image_dir, mask_dir, num_classes: int, ignore_index: int | None = None) -> FolderPairs:
    """Images and masks from two folders, matched by file stem (``a.jpg`` with ``a.png``).

    Returns a :class:`FolderPairs`: ``images`` (list of float32 ``(H, W, C)`` in [0, 1]),
    ``masks`` (list of ``(H, W)`` class ids), ``stems``, and ``notes`` (what was changed, e.g.
    255 became 1). Checks, each a ``ValueError`` naming the files: missing or empty folders, an
    image without a mask, unreadable files, a mask of another size than its image, mask values
    outside ``0 .. num_classes - 1`` (plus ``ignore_index``). Masks without an image are
    skipped and named in ``notes``.
    """
    num_classes = check_num_classes(num_classes)
    image_paths = list_images(image_dir, "images")
    mask_paths = {p.stem: p for p in list_images(mask_dir, "masks")}
    missing = [p.stem for p in image_paths if p.stem not in mask_paths]
    if missing:
        raise ValueError(
            f"{len(missing)} image(s) in {image_dir} have no mask in {mask_dir} with the same stem: {_names(missing)}. "
            "Masks are matched to images by file name without the extension."
        )
    notes: list[str] = []
    extra = sorted(set(mask_paths) - {p.stem for p in image_paths})
    if extra:
        notes.append(f"{len(extra)} mask(s) without an image were skipped: {_names(extra, 4)}.")
    images = [read_image(p) for p in image_paths]
    masks_paths = [mask_paths[p.stem] for p in image_paths]
    masks = [_read_mask_values(p) for p in masks_paths]
    for image_path, mask_path, image, mask in zip(image_paths, masks_paths, images, masks):
        if image.shape[:2] != mask.shape:
            raise ValueError(
                f"{image_path.name} is {image.shape[0]}x{image.shape[1]} (height x width) but its mask {mask_path} is "
                f"{mask.shape[0]}x{mask.shape[1]}; an image and its mask must have the same size."
            )
    masks = check_mask_values(masks, masks_paths, num_classes, ignore_index, notes)
    images = _same_channels(images, image_paths, notes)
    return FolderPairs(images, masks, [p.stem for p in image_paths], notes, image_paths, masks_paths)
