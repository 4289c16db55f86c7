"""CamVid (unet_course.data.camvid), offline: a tiny fake CamVid tree served as ``file://``, and
the real local copy where one sits beside the project (as on CI)."""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unet_course.data import camvid

# The real copy: the one setting when it names a folder (conftest sets it to ../shared/data/camvid
# when that exists, as on CI), else that folder itself.
_SETTING = os.environ.get(camvid.SOURCE_ENV, "")
REAL = Path(_SETTING) if _SETTING and Path(_SETTING).is_dir() else Path(__file__).parents[2] / "shared/data/camvid"
needs_real_copy = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"no local copy of CamVid ({camvid.SOURCE_ENV} unset and no ../shared/data/camvid)"
)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """``(source folder, checksums)`` of a fake CamVid: 3 train, 2 val, 1 test frames of 6x8 pixels,
    labels using every id 0-11; the checksum list is written here and patched in."""
    monkeypatch.delenv(camvid.SOURCE_ENV, raising=False)
    source = tmp_path / "source"
    rng = np.random.default_rng(0)
    files = {}
    for split, count in {"train": 3, "val": 2, "test": 1}.items():
        for i in range(count):
            name = f"0001TP_{i:06d}.png"
            arrays = {split: rng.integers(0, 256, (6, 8, 3)), f"{split}annot": rng.permutation(48).reshape(6, 8) % 12}
            for folder, array in arrays.items():
                path = source / folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(array.astype(np.uint8)).save(path)
                files[f"{folder}/{name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (source / "train.txt").write_text("not needed by the loader\n")
    files["train.txt"] = hashlib.sha256(b"not needed by the loader\n").hexdigest()
    monkeypatch.setattr(camvid, "checksums", lambda: files)
    return source, files


def load(source, tmp_path, split="train", **options):
    return camvid.load_camvid(split, root=tmp_path / "cache", base_url=source.as_uri(), quiet=True, **options)


def test_a_split_loads_with_names_and_colours(fake, tmp_path):
    source, files = fake
    images, masks, names, colours = load(source, tmp_path)
    assert images.shape == (3, 6, 8, 3) and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    assert masks.shape == (3, 6, 8) and masks.dtype == np.uint8 and set(np.unique(masks)) == set(range(12))
    np.testing.assert_array_equal(masks[2], np.asarray(Image.open(source / "trainannot/0001TP_000002.png")))
    np.testing.assert_allclose(images[1] * 255, np.asarray(Image.open(source / "train/0001TP_000001.png")), atol=1e-3)
    assert names == camvid.CLASS_NAMES and colours == camvid.COLOURS
    # only the split asked for is fetched (its frames and labels, not the list file)
    cached = sorted(str(p.relative_to(tmp_path / "cache")) for p in (tmp_path / "cache").rglob("*.png"))
    assert cached == sorted(p for p in files if p.startswith(("train/", "trainannot/")))
    assert load(source, tmp_path, "test").images.shape == (1, 6, 8, 3)


def test_a_corrupted_file_is_refused_and_removed(fake, tmp_path):
    source, _ = fake
    (source / "valannot/0001TP_000001.png").write_bytes(b"not the file")
    with pytest.raises(ValueError, match="valannot/0001TP_000001.png did not match its SHA-256"):
        load(source, tmp_path, "val")
    assert not (tmp_path / "cache/valannot/0001TP_000001.png").exists()


def test_a_second_call_fetches_only_the_missing_file(fake, tmp_path):
    source, _ = fake
    load(source, tmp_path)
    cache = tmp_path / "cache"
    kept = cache / "train/0001TP_000000.png"
    before = kept.stat().st_mtime_ns
    (cache / "trainannot/0001TP_000001.png").unlink()
    os.utime(kept, ns=(before - 10**9, before - 10**9))  # any re-download would change it
    before = kept.stat().st_mtime_ns
    assert load(source, tmp_path).masks.shape == (3, 6, 8)
    assert kept.stat().st_mtime_ns == before and (cache / "trainannot/0001TP_000001.png").is_file()


def test_offline_the_message_says_how_to_point_at_a_local_copy(fake, tmp_path):
    with pytest.raises(ConnectionError, match=f"set {camvid.SOURCE_ENV} to a local copy"):
        camvid.load_camvid("val", root=tmp_path / "cache", base_url=(tmp_path / "offline").as_uri(), quiet=True)
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_the_setting_points_the_loader_at_a_local_copy(fake, tmp_path, monkeypatch):
    source, _ = fake
    monkeypatch.setenv(camvid.SOURCE_ENV, str(source))
    assert camvid.source_url() == source.resolve().as_uri()
    assert camvid.availability(tmp_path / "empty")[0]
    assert camvid.load_camvid("val", root=tmp_path / "cache", quiet=True).images.shape == (2, 6, 8, 3)
    monkeypatch.delenv(camvid.SOURCE_ENV)
    assert camvid.source_url() == camvid.BASE_URL
    ok, reason = camvid.availability(tmp_path / "empty")
    assert not ok and camvid.SOURCE_ENV in reason


def test_size_keeps_the_labels_exact(fake, tmp_path):
    source, _ = fake
    full = load(source, tmp_path)
    for options, shape in [({"size": (3, 4)}, (3, 4)), ({"size": (12, 20)}, (12, 20)), ({"scale": 0.5}, (3, 4))]:
        small = load(source, tmp_path, **options)
        assert small.images.shape == (3, *shape, 3) and small.masks.shape == (3, *shape)
        for mask, original in zip(small.masks, full.masks):  # nearest: no value that was not there
            assert set(np.unique(mask)) <= set(np.unique(original))
        assert small.images.dtype == np.float32 and small.images.max() <= 1


def test_limit_takes_the_first_frames_and_fetches_only_them(fake, tmp_path):
    source, _ = fake
    images, masks, _, _ = load(source, tmp_path, limit=2)
    np.testing.assert_array_equal(masks, load(source, tmp_path).masks[:2])
    assert len(images) == 2 and load(source, tmp_path, "val", limit=50).images.shape[0] == 2
    assert len(list((tmp_path / "cache/val").glob("*.png"))) == 2


@pytest.mark.parametrize(
    "options, message",
    [
        ({"split": "valid"}, "split='valid' is not an option; use one of 'train', 'val', 'test'"),
        ({"size": (180, 240), "scale": 0.5}, "size or scale, not both"),
        ({"size": 180}, r"size must be \(height, width\), got 180"),
        ({"size": (180, 0)}, r"size\[1\] \(width\) must be at least 1"),
        ({"scale": 2}, r"scale must be in \(0, 1\], got 2"),
        ({"limit": 0}, "limit must be at least 1, got 0"),
    ],
)
def test_arguments_are_checked_before_anything_is_fetched(options, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        camvid.load_camvid(root=tmp_path / "cache", base_url=(tmp_path / "offline").as_uri(), **options)
    assert not (tmp_path / "cache").exists()


def test_the_constants_follow_segnet():
    assert len(camvid.CLASS_NAMES) == len(camvid.COLOURS) == len(camvid.MEDIAN_FREQUENCY_WEIGHTS) == 11
    assert camvid.VOID == 11 and camvid.CLASS_NAMES[:4] == ("Sky", "Building", "Pole", "Road")
    assert camvid.COLOURS[3] == (128, 64, 128) and camvid.VOID_COLOUR == (0, 0, 0)
    rarest = sorted(range(11), key=lambda k: -camvid.MEDIAN_FREQUENCY_WEIGHTS[k])[:4]
    assert {camvid.CLASS_NAMES[k] for k in rarest} == {"SignSymbol", "Bicyclist", "Pedestrian", "Pole"}


def test_the_committed_checksums_cover_the_three_splits():
    files = camvid.checksums()
    assert len(files) == 1405 and all(len(digest) == 64 for digest in files.values())
    for split, size in camvid.SPLIT_SIZES.items():
        assert len(camvid.split_files(split, files)) == 2 * size
    assert {"train.txt", "val.txt", "test.txt"} <= set(files)


@needs_real_copy
def test_the_real_copy_matches_the_checksums_and_the_class_order(tmp_path):
    files = camvid.checksums()
    for split, size in camvid.SPLIT_SIZES.items():
        assert len(list((REAL / split).glob("*.png"))) == len(list((REAL / f"{split}annot").glob("*.png"))) == size
    for relative in ("train/0001TP_006690.png", "valannot/0016E5_07959.png", "test.txt"):
        assert hashlib.sha256((REAL / relative).read_bytes()).hexdigest() == files[relative]
    images, masks, _, _ = camvid.load_camvid(
        "train", limit=40, scale=0.125, root=tmp_path / "cache", base_url=REAL.resolve().as_uri(), quiet=True
    )
    assert images.shape == (40, 45, 60, 3) and masks.max() == camvid.VOID
    # SegNet's order: the top rows of the street scenes are mostly Sky (0), the bottom rows Road (3)
    assert np.bincount(masks[:, :4].ravel()).argmax() == 0 and np.bincount(masks[:, -4:].ravel()).argmax() == 3
