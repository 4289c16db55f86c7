"""ISBI 2012 EM membranes: the data of the U-Net paper, downloaded and checked.

30 training slices (512x512, grey) with labels, and 30 unlabelled test slices, from the
PNG export at :data:`BASE_URL`. Every file is fetched with ``keras.utils.get_file`` and
checked against its SHA-256 in ``isbi2012_sha256.txt``; a file that fails the check is
deleted, so no partial or corrupt file stays in the cache.

Labels: 255 = cell interior, 0 = membrane; :func:`load_isbi2012` maps them to class
ids 1 and 0 (``CLASS_NAMES``). Cite Cardona et al. 2010 and Arganda-Carreras et al. 2015.
"""

from __future__ import annotations

import os
from pathlib import Path

from unet_course import config
from unet_course._validation import check_choice
from unet_course.data.io import load_pairs, read_image

BASE_URL = "https://raw.githubusercontent.com/zhixuhao/unet/b45af4d458437d8281cc218a07fd4380818ece4a/data/membrane"
CLASS_NAMES = ("membrane", "cell")
VALUE_MAP = {0: 0, 255: 1}
FOLDER = "isbi2012_membrane"


def checksums() -> dict[str, str]:
    """``{relative path: sha256}`` of every file, from the committed list."""
    text = (Path(__file__).with_name("isbi2012_sha256.txt")).read_text()
    return {path: digest for digest, path in (line.split() for line in text.splitlines() if line.strip())}


def fetch(url: str, target: Path, sha256: str) -> Path:
    """Download ``url`` to ``target`` with ``keras.utils.get_file``, verified by ``sha256``.

    A file already there with the right hash is not downloaded again. On any failure the
    partial or corrupt file is removed and the error says what to do.
    """
    import keras

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        keras.utils.get_file(fname=target.name, origin=url, file_hash=sha256, hash_algorithm="sha256",
                             cache_dir=str(target.parent), cache_subdir=".")
    except ValueError:  # the hash did not match: get_file leaves the bad file behind
        target.unlink(missing_ok=True)
        raise ValueError(
            f"{url} did not match its SHA-256 checksum {sha256[:12]}...; the file was deleted. "
            "The source may have changed or the download was cut: try again, or check BASE_URL."
        ) from None
    except Exception as error:  # network: get_file already removed the partial file
        target.unlink(missing_ok=True)
        raise ConnectionError(
            f"Could not download {url} ({error}). Check your internet connection, or copy the files by hand into {target.parent}."
        ) from None
    return target


def download_isbi2012(root=None, *, base_url: str = BASE_URL, files: dict[str, str] | None = None) -> Path:
    """Download (or find in the cache) every ISBI 2012 file; return the dataset folder."""
    root = Path(root) if root is not None else config.cache_dir() / FOLDER
    for relative, digest in (files or checksums()).items():
        fetch(f"{base_url}/{relative}", root / relative, digest)
    return root


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
