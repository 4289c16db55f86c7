"""ISBI 2012 EM membranes: the data of the U-Net paper, downloaded and checked.

30 training slices (512x512, grey) with labels, and 30 unlabelled test slices, from the
PNG export at :data:`BASE_URL`. Every file is fetched with ``keras.utils.get_file`` and
checked against its SHA-256 in ``isbi2012_sha256.txt``; a file that fails the check is
deleted, so no partial or corrupt file stays in the cache.

Labels: 255 = cell interior, 0 = membrane; :func:`load_isbi2012` maps them to class
ids 1 and 0 (``CLASS_NAMES``). Cite Cardona et al. 2010 and Arganda-Carreras et al. 2015.

**A local copy, with the same code.** Set ``UNET_COURSE_ISBI2012_SOURCE`` to a folder
that holds the files (``train/image/0.png``...) or to another base URL: the loader then
"downloads" from there with the same ``keras.utils.get_file`` call and the same SHA-256
checks, into the same cache. The tests and CI use it to run the real download code
offline (``.ci/run`` points it at ``../shared/data/isbi2012_membrane`` when that exists).
Without the setting, the files come from :data:`BASE_URL`.
"""

from __future__ import annotations

import os
from pathlib import Path

from unet_course._validation import check_choice
from unet_course.data.download import RemoteDataset
from unet_course.data.io import load_pairs, read_image

BASE_URL = "https://raw.githubusercontent.com/zhixuhao/unet/b45af4d458437d8281cc218a07fd4380818ece4a/data/membrane"
CLASS_NAMES = ("membrane", "cell")
VALUE_MAP = {0: 0, 255: 1}
FOLDER = "isbi2012_membrane"
#: The one setting for a local copy (a folder or a base URL), see the module docstring.
SOURCE_ENV = "UNET_COURSE_ISBI2012_SOURCE"

DATASET = RemoteDataset(
    name="ISBI 2012",
    folder=FOLDER,
    base_url=BASE_URL,
    setting=SOURCE_ENV,
    example="train/image/0.png",
    checksum_file=Path(__file__).with_name("isbi2012_sha256.txt"),
    loader="load_isbi2012()",
)


def source_url() -> str:
    """Where the files come from: ``$UNET_COURSE_ISBI2012_SOURCE`` (folder or URL), else :data:`BASE_URL`."""
    return DATASET.source_url()


def availability(root=None) -> tuple[bool, str]:
    """``(True, where)`` if the data can be loaded without asking the internet, else ``(False, reason)``.

    True when ``UNET_COURSE_ISBI2012_SOURCE`` names a local folder, or when every file is
    already in the cache with the right checksum. Notebooks and tests that need the data
    skip with the reason instead of failing.
    """
    return DATASET.availability(root)


def checksums() -> dict[str, str]:
    """``{relative path: sha256}`` of every file, from the committed list."""
    return DATASET.checksums()


def download_isbi2012(root=None, *, base_url: str | None = None, files: dict[str, str] | None = None) -> Path:
    """Download (or find in the cache) every ISBI 2012 file; return the dataset folder.

    ``base_url`` defaults to :func:`source_url` (the local-copy setting, else :data:`BASE_URL`).
    """
    return DATASET.download(root, base_url=base_url, files=files)


def load_isbi2012(split: str = "train", root=None, **download_options):
    """``(images, masks)`` of the training split, or ``images`` of the test split.

    Images are float32 ``(30, 512, 512, 1)`` in [0, 1]; masks uint8 ``(30, 512, 512)`` with
    0 = membrane and 1 = cell.
    """
    check_choice("split", split, ("train", "test"))
    root = download_isbi2012(root, **download_options)
    if split == "train":
        return load_pairs(root / "train" / "image", root / "train" / "label", VALUE_MAP)
    import numpy as np

    paths = sorted((root / "test").glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else os.fspath(p))
    return np.stack([read_image(p) for p in paths])
