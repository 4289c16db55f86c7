"""Reading image/mask folders, and real downloads (keras.utils.get_file + SHA-256) from
file:// sources that the tests build: no network."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unet_course.data import io, isbi2012

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "isbi2012_membrane"


def write_png(path: Path, array) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def source(tmp_path):
    """A miniature ISBI layout: 2 training pairs and 1 test image, with their checksums."""
    root = tmp_path / "source"
    rng = np.random.default_rng(0)
    files = {}
    for i in range(2):
        files[f"train/image/{i}.png"] = write_png(root / f"train/image/{i}.png", rng.integers(0, 256, (8, 8)))
        files[f"train/label/{i}.png"] = write_png(root / f"train/label/{i}.png", 255 * (rng.random((8, 8)) > 0.3))
    files["test/0.png"] = write_png(root / "test/0.png", rng.integers(0, 256, (8, 8)))
    return root, files


def test_download_and_load_from_file_url(source, tmp_path):
    root, files = source
    cache = tmp_path / "cache"
    options = dict(base_url=root.as_uri(), files=files)
    images, masks = isbi2012.load_isbi2012("train", cache, **options)
    assert images.shape == (2, 8, 8, 1) and images.dtype == np.float32 and images.max() <= 1.0
    assert masks.shape == (2, 8, 8) and set(np.unique(masks)) <= {0, 1}
    label = np.asarray(Image.open(root / "train/label/1.png"))
    np.testing.assert_array_equal(masks[1], label // 255)
    assert isbi2012.load_isbi2012("test", cache, **options).shape == (1, 8, 8, 1)
    # second call: found in the cache, nothing downloaded (the source may even be gone)
    for path in root.rglob("*.png"):
        path.unlink()
    assert isbi2012.load_isbi2012("train", cache, **options)[1].shape == (2, 8, 8)


def test_checksum_mismatch_leaves_no_file(source, tmp_path):
    root, files = source
    files["train/image/0.png"] = "0" * 64
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="did not match its SHA-256"):
        isbi2012.download_isbi2012(cache, base_url=root.as_uri(), files=files)
    assert not (cache / "train/image/0.png").exists()


def test_unreachable_source_leaves_no_file(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(ConnectionError, match="Could not download"):
        isbi2012.download_isbi2012(cache, base_url=(tmp_path / "nowhere").as_uri(), files={"test/0.png": "0" * 64})
    assert not any(p.is_file() for p in cache.rglob("*"))


def test_committed_checksums_cover_the_dataset():
    files = isbi2012.checksums()
    assert len(files) == 90 and all(len(d) == 64 for d in files.values())
    assert sum(p.startswith("train/label/") for p in files) == 30


def test_the_whole_dataset_layout_downloads_from_a_file_archive(tmp_path):
    """Always runs, offline: a file:// archive with every one of the 90 committed paths (tiny PNGs)."""
    root = tmp_path / "archive"
    rng = np.random.default_rng(1)
    files = {}
    for relative in isbi2012.checksums():
        values = (
            255 * (rng.random((4, 4)) > 0.5) if relative.startswith("train/label/") else rng.integers(0, 256, (4, 4))
        )
        files[relative] = write_png(root / relative, values)
    cache = tmp_path / "cache"
    options = dict(base_url=root.as_uri(), files=files)
    images, masks = isbi2012.load_isbi2012("train", cache, **options)
    assert images.shape == (30, 4, 4, 1) and masks.shape == (30, 4, 4) and set(np.unique(masks)) <= {0, 1}
    np.testing.assert_array_equal(masks[29], np.asarray(Image.open(root / "train/label/29.png")) // 255)
    assert isbi2012.load_isbi2012("test", cache, **options).shape == (30, 4, 4, 1)
    assert sorted(str(p.relative_to(cache)) for p in cache.rglob("*.png")) == sorted(files)


# The committed checksums against the real data: only where a copy of it sits beside the project
# (the test above covers the download itself in every clone).
@pytest.mark.skipif(not SHARED.exists(), reason="no local copy of the ISBI data beside the project")
def test_committed_checksums_match_a_real_copy(tmp_path):
    files = isbi2012.checksums()
    for relative in ("train/image/0.png", "train/label/29.png", "test/7.png"):
        assert hashlib.sha256((SHARED / relative).read_bytes()).hexdigest() == files[relative]


def test_load_pairs_errors(tmp_path):
    write_png(tmp_path / "img/0.png", np.zeros((4, 4)))
    write_png(tmp_path / "img/1.png", np.zeros((4, 4)))
    write_png(tmp_path / "msk/0.png", np.zeros((4, 4)))
    with pytest.raises(ValueError, match="2 images but .* 1 masks"):
        io.load_pairs(tmp_path / "img", tmp_path / "msk")
    write_png(tmp_path / "msk/2.png", np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"not both: \['1', '2'\]"):
        io.load_pairs(tmp_path / "img", tmp_path / "msk")
    (tmp_path / "msk/2.png").unlink()
    write_png(tmp_path / "msk/1.png", np.full((4, 4), 128))
    with pytest.raises(ValueError, match=r"values \[128\]"):
        io.load_pairs(tmp_path / "img", tmp_path / "msk", {0: 0, 255: 1})
    write_png(tmp_path / "msk/1.png", np.zeros((5, 4)))
    with pytest.raises(ValueError, match="same size"):
        io.load_pairs(tmp_path / "img", tmp_path / "msk")
    (tmp_path / "img/1.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="not a readable image"):
        io.load_pairs(tmp_path / "img", tmp_path / "msk")
    with pytest.raises(ValueError, match="is not a folder"):
        io.load_pairs(tmp_path / "missing", tmp_path / "msk")
