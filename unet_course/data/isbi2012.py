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

from unet_course import config
from unet_course._validation import check_choice
from unet_course.data.io import load_pairs, read_image

BASE_URL = "https://raw.githubusercontent.com/zhixuhao/unet/b45af4d458437d8281cc218a07fd4380818ece4a/data/membrane"
CLASS_NAMES = ("membrane", "cell")
VALUE_MAP = {0: 0, 255: 1}
FOLDER = "isbi2012_membrane"
#: The one setting for a local copy (a folder or a base URL), see the module docstring.
SOURCE_ENV = "UNET_COURSE_ISBI2012_SOURCE"


def source_url() -> str:
    """Where the files come from: ``$UNET_COURSE_ISBI2012_SOURCE`` (folder or URL), else :data:`BASE_URL`."""
    value = os.environ.get(SOURCE_ENV, "").strip()
    if not value:
        return BASE_URL
    if "://" in value:
        return value.rstrip("/")
    folder = Path(value).expanduser().resolve()
    if not folder.is_dir():
        raise ValueError(
            f"{SOURCE_ENV}={value!r} is not a folder; point it at a copy holding train/image/0.png ..., or unset it."
        )
    return folder.as_uri()


def availability(root=None) -> tuple[bool, str]:
    """``(True, where)`` if the data can be loaded without asking the internet, else ``(False, reason)``.

    True when every file is already in the cache with the right checksum, or when
    ``UNET_COURSE_ISBI2012_SOURCE`` names a local folder. Notebooks and tests that need
    the data skip with the reason instead of failing.
    """
    import hashlib

    root = Path(root) if root is not None else config.cache_dir() / FOLDER
    files = checksums()
    cached = all((root / rel).is_file() for rel in files)
    if cached and all(hashlib.sha256((root / rel).read_bytes()).hexdigest() == digest for rel, digest in files.items()):
        return True, f"the download cache {root.name}/"
    value = os.environ.get(SOURCE_ENV, "").strip()
    if value and "://" not in value and Path(value).expanduser().is_dir():
        return True, f"the local copy named by {SOURCE_ENV}"
    if value.startswith("file://"):
        return True, f"the local copy named by {SOURCE_ENV}"
    return False, (
        f"ISBI 2012 is not in the cache and {SOURCE_ENV} names no local copy (this machine may have no network): "
        f"run load_isbi2012() once with a network, or set {SOURCE_ENV} to a folder with the files."
    )


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
    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()  # no progress bar per file (60 of them in a notebook)
    try:
        keras.utils.get_file(
            fname=target.name,
            origin=url,
            file_hash=sha256,
            hash_algorithm="sha256",
            cache_dir=str(target.parent),
            cache_subdir=".",
        )
    except ValueError:  # the hash did not match: get_file leaves the bad file behind
        target.unlink(missing_ok=True)
        raise ValueError(
            f"{url} did not match its SHA-256 checksum {sha256[:12]}...; the file was deleted. "
            "The source may have changed or the download was cut: try again, or check BASE_URL."
        ) from None
    except Exception as error:  # network: get_file already removed the partial file
        target.unlink(missing_ok=True)
        raise ConnectionError(
            f"Could not download {url} ({error}). Check your internet connection, "
            f"or copy the files by hand into {target.parent}."
        ) from None
    finally:
        if interactive:
            keras.config.enable_interactive_logging()
    return target


def download_isbi2012(root=None, *, base_url: str | None = None, files: dict[str, str] | None = None) -> Path:
    """Download (or find in the cache) every ISBI 2012 file; return the dataset folder.

    ``base_url`` defaults to :func:`source_url` (the local-copy setting, else :data:`BASE_URL`).
    """
    root = Path(root) if root is not None else config.cache_dir() / FOLDER
    base_url = base_url if base_url is not None else source_url()
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
