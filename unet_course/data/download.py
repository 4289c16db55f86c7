"""Checksummed downloads shared by the real-data loaders (:mod:`~unet_course.data.isbi2012`,
:mod:`~unet_course.data.camvid`).

A data set is a :class:`RemoteDataset`: a pinned public base URL, a committed list of the
SHA-256 of every file (``<digest>  <relative path>`` a line, as ``sha256sum`` writes it), a
cache folder under ``data/cache/`` and **one setting** (an environment variable) that points
the same code at a local copy: a folder, or another base URL. Every file is fetched with
``keras.utils.get_file`` and checked against its hash:

- resumable: a file already in the cache with the right hash is not fetched again, so a
  second call after a cut connection fetches only what is missing;
- no partial file: a file that fails its check, or whose download fails, is deleted, and the
  error says what to do (offline: how to point the setting at a local copy);
- one progress bar over the whole set (``quiet=True`` for none), not one per file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from unet_course import config

#: The data sets that a notebook can name in its metadata, ``"unet_course": {"needs": [...]}``,
#: and the module whose ``availability()`` says whether they can be loaded without a network.
NEEDS = {"isbi2012": "unet_course.data.isbi2012", "camvid": "unet_course.data.camvid"}


def read_checksums(path) -> dict[str, str]:
    """``{relative path: sha256}`` from a ``sha256sum``-style list (``<digest>  <path>`` a line)."""
    text = Path(path).read_text()
    return {relative: digest for digest, relative in (line.split() for line in text.splitlines() if line.strip())}


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, target: Path, sha256: str, *, offline_hint: str = "") -> Path:
    """Download ``url`` to ``target`` with ``keras.utils.get_file``, verified by ``sha256``.

    A file already there with the right hash is not downloaded again. On any failure the
    partial or corrupt file is removed and the error says what to do (``offline_hint`` is
    added to the message of a failed download).
    """
    import keras

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()  # no progress bar and message per file
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
            "The source may have changed or the download was cut: try again, or check the source."
        ) from None
    except Exception as error:  # network: get_file already removed the partial file
        target.unlink(missing_ok=True)
        raise ConnectionError(
            f"Could not download {url} ({error}). Check your internet connection"
            f"{', ' + offline_hint if offline_hint else ''}, or copy the files by hand into {target.parent}."
        ) from None
    finally:
        if interactive:
            keras.config.enable_interactive_logging()
    return target


@dataclass(frozen=True)
class RemoteDataset:
    """A data set downloaded file by file from ``base_url``, every file checked by its SHA-256."""

    name: str  #: for messages, e.g. ``"CamVid"``
    folder: str  #: its folder in ``data/cache/``
    base_url: str  #: the pinned public source, ``<base_url>/<relative path>``
    setting: str  #: the environment variable naming a local copy (a folder or a base URL)
    example: str  #: one relative path, to say what the local folder must hold
    checksum_file: Path  #: the committed ``sha256sum`` list
    loader: str = "the loader"  #: what to run once with a network, for messages

    def checksums(self) -> dict[str, str]:
        """``{relative path: sha256}`` of every file, from the committed list."""
        return read_checksums(self.checksum_file)

    def cache(self, root=None) -> Path:
        return Path(root) if root is not None else config.cache_dir() / self.folder

    def source_url(self) -> str:
        """``$setting`` (a folder, as a ``file://`` URL, or a base URL) if set, else :attr:`base_url`."""
        value = os.environ.get(self.setting, "").strip()
        if not value:
            return self.base_url
        if "://" in value:
            return value.rstrip("/")
        folder = Path(value).expanduser().resolve()
        if not folder.is_dir():
            raise ValueError(
                f"{self.setting}={value!r} is not a folder; point it at a copy holding {self.example} ..., or unset it."
            )
        return folder.as_uri()

    def names_local_copy(self) -> bool:
        """True when the setting names a folder that exists, or a ``file://`` URL."""
        value = os.environ.get(self.setting, "").strip()
        return value.startswith("file://") or bool(value and "://" not in value and Path(value).expanduser().is_dir())

    def availability(self, root=None, files: dict[str, str] | None = None) -> tuple[bool, str]:
        """``(True, where)`` if the files can be had without the internet, else ``(False, reason)``."""
        if self.names_local_copy():
            return True, f"the local copy named by {self.setting}"
        root = self.cache(root)
        files = files if files is not None else self.checksums()
        if all((root / rel).is_file() for rel in files) and all(
            sha256_of(root / rel) == digest for rel, digest in files.items()
        ):
            return True, f"the download cache {root.name}/"
        return False, (
            f"{self.name} is not in the cache and {self.setting} names no local copy (this machine may have no "
            f"network): run {self.loader} once with a network, or set {self.setting} to a folder with the files."
        )

    def download(self, root=None, *, base_url: str | None = None, files=None, quiet: bool = True) -> Path:
        """Fetch every file of ``files`` (default: all) not already in the cache; return the cache folder.

        ``base_url`` defaults to :meth:`source_url`. Files in the cache with the right hash are
        kept; the others are fetched, with one progress bar over them unless ``quiet``.
        """
        root = self.cache(root)
        files = files if files is not None else self.checksums()
        missing = {rel: digest for rel, digest in files.items() if not _cached(root / rel, digest)}
        if not missing:
            return root
        base_url = base_url if base_url is not None else self.source_url()
        hint = f"or set {self.setting} to a local copy (a folder holding {self.example} ...)"
        bar = None
        if not quiet:
            import keras

            print(f"{self.name}: fetching {len(missing)} of {len(files)} files from {base_url} into {root}")
            bar = keras.utils.Progbar(len(missing), unit_name="file")
        for count, (relative, digest) in enumerate(missing.items(), start=1):
            fetch(f"{base_url}/{relative}", root / relative, digest, offline_hint=hint)
            if bar is not None:
                bar.update(count)
        return root


def _cached(path: Path, digest: str) -> bool:
    """True if ``path`` holds the file with this hash; a file with another hash is deleted."""
    if not path.is_file():
        return False
    if sha256_of(path) == digest:
        return True
    path.unlink()  # corrupt or outdated: fetched again
    return False


def missing_data(needs) -> str:
    """``""`` if every data set in ``needs`` (names of :data:`NEEDS`) can be loaded offline, else why not."""
    import importlib

    for name in needs:
        if name in NEEDS:
            ok, where = importlib.import_module(NEEDS[name]).availability()
            if not ok:
                return where
    return ""
