"""The ISBI 2012 local-copy setting: the real checksummed download code, pointed at a folder."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from unet_course.data import isbi2012


def mini_copy(tmp_path):
    """A miniature ISBI layout (2 training pairs, 1 test image) and its checksums."""
    root = tmp_path / "copy"
    files = {}
    rng = np.random.default_rng(0)
    for rel, array in {
        "train/image/0.png": rng.integers(0, 255, (8, 8)),
        "train/image/1.png": rng.integers(0, 255, (8, 8)),
        "train/label/0.png": np.where(rng.random((8, 8)) > 0.3, 255, 0),
        "train/label/1.png": np.where(rng.random((8, 8)) > 0.3, 255, 0),
        "test/0.png": rng.integers(0, 255, (8, 8)),
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array.astype(np.uint8)).save(path)
        files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return root, files


def test_the_setting_points_the_download_at_a_folder(tmp_path, monkeypatch):
    root, files = mini_copy(tmp_path)
    monkeypatch.setenv(isbi2012.SOURCE_ENV, str(root))
    assert isbi2012.source_url() == root.resolve().as_uri()
    cache = tmp_path / "cache"
    images, masks = isbi2012.load_isbi2012("train", cache, files=files)
    assert images.shape == (2, 8, 8, 1) and set(np.unique(masks)) <= {0, 1}
    assert all((cache / rel).is_file() for rel in files)


def test_a_wrong_folder_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(isbi2012.SOURCE_ENV, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="is not a folder"):
        isbi2012.source_url()


def test_availability_says_why_not(monkeypatch, tmp_path):
    monkeypatch.delenv(isbi2012.SOURCE_ENV, raising=False)
    ok, reason = isbi2012.availability(tmp_path / "empty")
    assert not ok and isbi2012.SOURCE_ENV in reason
    monkeypatch.setenv(isbi2012.SOURCE_ENV, str(tmp_path))
    assert isbi2012.availability(tmp_path / "empty")[0]


def test_without_the_setting_the_public_source_is_used(monkeypatch):
    monkeypatch.delenv(isbi2012.SOURCE_ENV, raising=False)
    assert isbi2012.source_url() == isbi2012.BASE_URL
