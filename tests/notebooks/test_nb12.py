"""Notebook 12 keeps its protocol (the test split is loaded in exactly one cell, after every choice),
the class shares it prints agree with the masks, its teaching code agrees with simple loops, and its
exercise solutions pass their checkers."""

import re

import nbformat
import numpy as np
import pytest

from tests.notebook_code import NOTEBOOKS, notebook_namespace
from unet_course.exercises import ex12

PATH = NOTEBOOKS / "12_street_scenes_camvid.ipynb"
TEST_SPLIT = re.compile(r"""load_camvid\(\s*(split\s*=\s*)?["']test["']|["']test["']\s*\)|split\s*=\s*["']test["']""")
CHOICES = ("run_configuration(", "compare_to(", "FROZEN =")


@pytest.fixture(scope="module")
def cells():
    return [c for c in nbformat.read(PATH, as_version=4).cells if c.cell_type == "code"]


def _text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_the_test_split_is_loaded_in_exactly_one_cell_after_every_choice(cells):
    loading = [i for i, cell in enumerate(cells) if TEST_SPLIT.search(cell.source)]
    assert len(loading) == 1, f"the test split is loaded in {len(loading)} code cells (expected exactly 1)"
    choices = [i for i, cell in enumerate(cells) if any(word in cell.source for word in CHOICES)]
    assert choices and max(choices) < loading[0], "a choice (training, comparison, FROZEN) comes after the test cell"
    assert "FROZEN" in cells[loading[0]].source, "the test cell scores something other than the frozen choice"


def test_the_pattern_finds_the_ways_to_load_a_split():
    for source in ('load_camvid("test")', "load_camvid('test', size=SIZE)", 'load_camvid(split="test")'):
        assert TEST_SPLIT.search(source), source
    assert not TEST_SPLIT.search('load_camvid("train", size=SIZE)')


def _printed_shares(cells):
    cell = next(c for c in cells if "def shares_of" in c.source)
    rows = re.findall(r"^(\w+)\s+([\d.]+)%\s+([\d.]+)%", _text(cell), flags=re.M)
    return {name: (float(train), float(val)) for name, train, val in rows}


def test_printed_shares_agree_with_class_counts(cells):
    from unet_course.data import camvid
    from unet_course.data.masks import class_counts

    available, reason = camvid.availability()
    if not available:
        pytest.skip(reason)
    header = _text(cells[next(i for i, c in enumerate(cells) if "SIZE = config.pick" in c.source)])
    found = re.search(r"size (\d+)x(\d+): train images \((\d+),", header)
    assert found, "the data cell's output does not say the size and the number of frames"
    height, width, frames = map(int, found.groups())
    limit = None if frames == camvid.SPLIT_SIZES["train"] else frames  # FAST outputs: the first frames
    printed = _printed_shares(cells)
    assert set(camvid.CLASS_NAMES) <= set(printed), sorted(printed)
    masks = camvid.load_camvid("val", size=(height, width), limit=limit, quiet=True).masks
    counts = class_counts(list(masks), 11, ignore_index=camvid.VOID)
    for c, name in enumerate(camvid.CLASS_NAMES):
        assert printed[name][1] == pytest.approx(100 * counts[c] / counts.sum(), abs=0.006), name
    assert printed["void"][1] == pytest.approx(100 * np.mean(masks == camvid.VOID), abs=0.006)
    assert sum(printed[n][0] for n in camvid.CLASS_NAMES) == pytest.approx(100, abs=0.06)


@pytest.fixture(scope="module")
def nb():
    return notebook_namespace(
        "12_street_scenes_camvid",
        [
            "void_touching_labels",
            "boundary_share",
            "per_class_iou",
            "median_frequency_weights",
            "worst_confusion",
            "mean_iou_from_confusion",
        ],
        preamble="import numpy as np\nVOID = 11\n",
    )


def _neighbours(masks, n, i, j):
    h, w = masks.shape[1:]
    return [masks[n, a, b] for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)) if 0 <= a < h and 0 <= b < w]


def test_void_touching_labels_and_boundary_share_agree_with_loops(nb):
    rng = np.random.default_rng(4)
    masks = rng.choice([0, 2, 3, 11], size=(3, 9, 11), p=[0.4, 0.1, 0.3, 0.2])
    void = [(n, i, j) for n, i, j in zip(*np.nonzero(masks == 11))]
    touching = sum(any(v != 11 for v in _neighbours(masks, *p)) for p in void)
    assert nb["void_touching_labels"](masks) == pytest.approx(touching / len(void))
    for c in (0, 2, 3):
        pixels = list(zip(*np.nonzero(masks == c)))
        boundary = sum(any(v != c for v in _neighbours(masks, *p)) for p in pixels)
        assert nb["boundary_share"](masks, c) == pytest.approx(boundary / len(pixels))


def test_a_two_pixel_wide_bar_is_all_boundary_and_a_block_is_not(nb):
    masks = np.zeros((1, 8, 8), np.uint8)
    masks[0, :, 3:5] = 2  # a pole two pixels wide: every pixel touches the background
    assert nb["boundary_share"](masks, 2) == 1.0
    assert nb["boundary_share"](masks, 0) < 1.0


@pytest.mark.parametrize(
    ("exercise", "name"),
    [
        (ex12.q1, "per_class_iou"),
        (ex12.q2, "median_frequency_weights"),
        (ex12.q3, "worst_confusion"),
        (ex12.q4, "mean_iou_from_confusion"),
    ],
)
def test_the_notebook_solutions_pass(nb, exercise, name):
    verdict = exercise.verdict(nb[name])
    assert verdict.passed, verdict.message
