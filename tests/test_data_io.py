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


# --- Folder loading for the command line: matched by stem, any size, every bad input named.
def save(path, array, mode=None, **options):
    path.parent.mkdir(parents=True, exist_ok=True)
    (Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)).save(path, **options)
    return path


def grey(height, width, seed=0):
    return (np.random.default_rng(seed).random((height, width)) * 255).astype(np.uint8)


def folders(tmp_path, sizes=((32, 32), (20, 28)), mask_scale=1):
    for i, (h, w) in enumerate(sizes):
        image = grey(h, w, i)
        save(tmp_path / "img" / f"im{i}.png", image)
        save(tmp_path / "msk" / f"im{i}.png", ((image > 128) * mask_scale).astype(np.uint8))
    return tmp_path / "img", tmp_path / "msk"


def test_pairs_of_different_sizes_come_back_as_lists(tmp_path):
    images, masks = folders(tmp_path)
    pairs = io.load_folder_pairs(images, masks, 2)
    assert pairs.stems == ["im0", "im1"]
    assert [im.shape for im in pairs.images] == [(32, 32, 1), (20, 28, 1)]
    assert [m.shape for m in pairs.masks] == [(32, 32), (20, 28)]
    expected = grey(20, 28, 1)
    np.testing.assert_allclose(pairs.images[1][..., 0], expected / 255.0, atol=1e-6)
    np.testing.assert_array_equal(pairs.masks[1], expected > 128)
    assert pairs.notes == []


def test_matched_by_stem_across_formats_and_natural_order(tmp_path):
    for stem in ("10", "2", "1"):
        save(tmp_path / "img" / f"{stem}.jpg", np.stack([grey(8, 8)] * 3, -1), quality=95)
        save(tmp_path / "msk" / f"{stem}.png", np.zeros((8, 8), np.uint8))
    pairs = io.load_folder_pairs(tmp_path / "img", tmp_path / "msk", 3)
    assert pairs.stems == ["1", "2", "10"]
    assert pairs.images[0].shape == (8, 8, 3)


def test_gif_tiff_16_bit_and_mixed_channels(tmp_path):
    colours = np.zeros((6, 6, 3), np.uint8)
    colours[:3] = [200, 30, 10]
    Image.fromarray(colours).convert("P", palette=Image.ADAPTIVE).save(tmp_path / "c.gif")
    gif = io.read_image(tmp_path / "c.gif")
    assert gif.shape == (6, 6, 3) and gif[0, 0, 0] > 0.7 and gif[0, 0, 1] < 0.2  # colour GIF stays colour
    Image.fromarray(grey(6, 6)).convert("P").save(tmp_path / "g.gif")
    assert io.read_image(tmp_path / "g.gif").shape == (6, 6, 1)  # a grey palette is grey
    deep = np.arange(36, dtype=np.uint16).reshape(6, 6) * 1800
    Image.fromarray(deep).save(tmp_path / "d.tif")
    np.testing.assert_allclose(io.read_image(tmp_path / "d.tif")[..., 0], deep / 65535.0, atol=1e-6)
    # a folder of grey and RGB images: the grey ones get 3 channels, and a note says so
    save(tmp_path / "mix" / "a.png", grey(6, 6))
    save(tmp_path / "mix" / "b.png", colours)
    images, stems, notes = io.load_image_folder(tmp_path / "mix")
    assert [im.shape for im in images] == [(6, 6, 3), (6, 6, 3)] and stems == ["a", "b"]
    assert "a.png" in notes[0] and "3 channels" in notes[0]


def test_binary_masks_saved_as_0_255_become_0_1_for_two_classes(tmp_path):
    images, masks = folders(tmp_path, mask_scale=255)
    pairs = io.load_folder_pairs(images, masks, 2)
    assert set(np.unique(pairs.masks[0])) == {0, 1}
    assert "255 became class 1" in pairs.notes[0]
    with pytest.raises(ValueError, match=r"outside the classes 0\.\.2: 255 in im0\.png, im1\.png.*--num-classes 2"):
        io.load_folder_pairs(images, masks, 3)
    # 255 as the void label instead: kept, and no note
    pairs = io.load_folder_pairs(images, masks, 2, ignore_index=255)
    assert 255 in np.unique(pairs.masks[0]) and pairs.notes == []


def test_mask_values_outside_the_classes_name_values_and_files(tmp_path):
    images, masks = folders(tmp_path)
    save(masks / "im1.png", np.full((20, 28), 7, np.uint8))
    with pytest.raises(ValueError, match=r"0\.\.1: 7 in im1\.png"):
        io.load_folder_pairs(images, masks, 2)
    assert io.load_folder_pairs(images, masks, 8).masks[1].max() == 7
    with pytest.raises(ValueError, match="and the ignore value 9"):
        io.load_folder_pairs(images, masks, 2, ignore_index=9)


def test_image_without_mask_names_the_stems_and_extra_masks_are_noted(tmp_path):
    images, masks = folders(tmp_path)
    save(images / "lonely.png", grey(5, 5))
    with pytest.raises(ValueError, match="1 image.*no mask.*: lonely"):
        io.load_folder_pairs(images, masks, 2)
    (images / "lonely.png").unlink()
    save(masks / "stray.png", np.zeros((5, 5), np.uint8))
    pairs = io.load_folder_pairs(images, masks, 2)
    assert pairs.stems == ["im0", "im1"] and "stray" in pairs.notes[0]


def test_size_mismatch_names_the_file(tmp_path):
    images, masks = folders(tmp_path)
    save(masks / "im1.png", np.zeros((21, 28), np.uint8))
    with pytest.raises(ValueError, match=r"im1\.png is 20x28.*is 21x28"):
        io.load_folder_pairs(images, masks, 2)


def test_unreadable_and_truncated_files_are_named(tmp_path):
    images, masks = folders(tmp_path)
    data = (images / "im0.png").read_bytes()
    (images / "im0.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"im0\.png is not a readable image"):
        io.load_folder_pairs(images, masks, 2)
    save(images / "im0.png", grey(32, 32))
    (masks / "im1.png").write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match=r"im1\.png is not a readable mask"):
        io.load_folder_pairs(images, masks, 2)


def test_colour_masks_are_refused_grey_rgb_masks_accepted(tmp_path):
    images, masks = folders(tmp_path, sizes=((4, 4),))
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[0, 0] = [128, 0, 0]
    save(masks / "im0.png", colour)
    with pytest.raises(ValueError, match="colour"):
        io.load_folder_pairs(images, masks, 2)
    save(masks / "im0.png", np.stack([np.eye(4, dtype=np.uint8)] * 3, -1))
    np.testing.assert_array_equal(io.load_folder_pairs(images, masks, 2).masks[0], np.eye(4))


def test_missing_empty_and_duplicate_folders(tmp_path):
    with pytest.raises(ValueError, match="images folder .*missing does not exist"):
        io.list_images(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="holds no images .*notes.txt"):
        io.list_images(tmp_path / "empty")
    save(tmp_path / "dup" / "a.png", grey(3, 3))
    save(tmp_path / "dup" / "a.tif", grey(3, 3))
    with pytest.raises(ValueError, match="same name stem"):
        io.list_images(tmp_path / "dup")
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        io.load_folder_pairs(tmp_path / "dup", tmp_path / "dup", 1)
