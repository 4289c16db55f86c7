"""Folder loading for the command line: matched by stem, any size, every bad input named."""

import numpy as np
import pytest
from PIL import Image

from unet_course.data import io


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
    with pytest.raises(ValueError, match="at least 2"):
        io.load_folder_pairs(tmp_path / "dup", tmp_path / "dup", 1)
