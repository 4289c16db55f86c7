"""unet_course.data.masks: one-hot, class ids, boxes, connected components and instances; clear errors."""

import matplotlib
import numpy as np
import pytest

from unet_course.data import make_shapes, masks

matplotlib.use("Agg")


def _random_binaries():
    rng = np.random.default_rng(7)
    yield from (rng.random((17, 23)) < p for p in (0.2, 0.45, 0.6))
    _, batch = make_shapes(6, image_size=48, seed=5)
    yield from (m == c for m in batch for c in (1, 2, 3))
    yield np.zeros((4, 5), dtype=bool)
    yield np.ones((4, 5), dtype=bool)


def test_label_components_agrees_with_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    for binary in _random_binaries():
        ours, count = masks.label_components(binary)
        theirs, their_count = ndimage.label(binary)  # 4-connectivity by default, same numbering
        assert count == their_count
        np.testing.assert_array_equal(ours, theirs)


def test_instances_of_the_notebook_scene():
    _, scene = make_shapes(20, image_size=96, seed=1)
    ids, classes = masks.instances(scene[2])
    assert classes == [1, 2, 2, 3]
    assert ids.max() == 4 and set(np.unique(ids)) == {0, 1, 2, 3, 4}
    for i, class_id in enumerate(classes, start=1):
        assert np.all(scene[2][ids == i] == class_id)


def test_mask_helpers_refuse_bad_input():
    with pytest.raises(ValueError, match="class id 3"):
        masks.to_one_hot([[0, 3]], 3)
    with pytest.raises(ValueError, match="fractional"):
        masks.to_one_hot([[0.5, 1.0]], 2)
    with pytest.raises(ValueError, match="num_classes"):
        masks.to_one_hot([[0, 1]], 0)
    with pytest.raises(ValueError, match="sigmoid"):
        masks.to_class_ids(np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match="masks\\[i\\]"):
        masks.bounding_box(np.zeros((2, 4, 4)), 1)
    with pytest.raises(ValueError, match="2-D"):
        masks.label_components(np.zeros((2, 4, 4)))
