"""No stale numbers in the prose: what the text quotes, a run printed above it.

A number typed into markdown goes stale at the next ``make notebooks`` when it was measured
(a trained score, a timing). So every decimal number with 3 or more decimals in a markdown cell
of a course notebook must appear in the source or the output of a code cell above it, unless it
is shown as inline arithmetic (``173 / 461 = 0.375``: the division is checked) or it is a figure
quoted from the literature, listed below with its source.

The README's row for notebook 09 quotes that notebook's results: each number in it must be in
notebook 09's outputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from unet_course.course import course_notebooks

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = course_notebooks(ROOT / "notebooks")

#: Figures quoted from the literature, not measured by the course: number -> source.
LITERATURE = {
    # Ronneberger, Fischer and Brox (2015), Table 1: the ISBI 2012 leaderboard (warping, Rand and pixel error)
    "0.000353": "U-Net paper, Table 1: u-net warping error",
    "0.0382": "U-Net paper, Table 1: u-net Rand error",
    "0.0611": "U-Net paper, Table 1: u-net pixel error",
    "0.000005": "U-Net paper, Table 1: human values, warping error",
    "0.0021": "U-Net paper, Table 1: human values, Rand error",
    "0.0010": "U-Net paper, Table 1: human values, pixel error",
    # the ImageNet mean of B and G that Caffe-style VGG16 subtracts (keras.applications.imagenet_utils, mode="caffe")
    "103.939": "keras.applications.imagenet_utils: Caffe's ImageNet mean, blue",
    "116.779": "keras.applications.imagenet_utils: Caffe's ImageNet mean, green",
}

#: A decimal number with at least 3 decimals (not part of a longer number or a version string).
DECIMAL = re.compile(r"(?<![\d.])(?<!\d,)-?\d+\.\d{3,}(?![\d.]*\d)")
#: Inline arithmetic: "a / b = c" (thousands separators allowed in a and b).
DIVISION = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*/\s*(\d[\d,]*(?:\.\d+)?)\s*=\s*(-?\d+\.\d+)")


def _output_text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return "\n".join(str(data[key]) for key in ("text/plain", "text/markdown") if key in data)


def _code_text(cell) -> str:
    return "\n".join([cell.source, *(_output_text(o) for o in cell.get("outputs", []))])


def _arithmetic(text: str) -> set[str]:
    """The results of correct inline divisions in ``text`` (``173 / 461 = 0.375``)."""
    shown = set()
    for a, b, result in DIVISION.findall(text):
        numerator, denominator = float(a.replace(",", "")), float(b.replace(",", ""))
        decimals = len(result.split(".")[1])
        if denominator and abs(numerator / denominator - float(result)) <= 0.5 * 10**-decimals + 1e-12:
            shown.add(result)
    return shown


def _appears(number: str, text: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", text) is not None


def unsupported_numbers(path: Path) -> list[tuple[int, str]]:
    """``(cell index, number)`` for each number in the prose that nothing above supports."""
    nb = nbformat.read(path, as_version=4)
    above, found = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            above.append(_code_text(cell))
            continue
        if cell.cell_type != "markdown":
            continue
        shown = _arithmetic(cell.source)
        code = "\n".join(above)
        for number in DECIMAL.findall(cell.source):
            if number in LITERATURE or number in shown or _appears(number, code):
                continue
            found.append((index, number))
    return found


#: Notebooks another stream of work owns and this test flags today: (notebook, cell, number) with why.
#: Keep it empty; an entry is a promise to fix the notebook at its next full run.
KNOWN_STALE: dict[tuple[str, int, str], str] = {}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_number_in_the_prose_is_printed_above_it(path):
    stale = [(i, n) for i, n in unsupported_numbers(path) if (path.stem, i, n) not in KNOWN_STALE]
    assert not stale, (
        f"{path.name}: numbers in markdown that no code cell above prints (cell, number): {stale}. "
        "Print them from code, word them as ratios, show the arithmetic (a / b = c), or, for a figure "
        "from the literature, add it to LITERATURE with its source."
    )


def test_the_rules_of_the_check():
    assert DECIMAL.findall("IoU 0.823, boundary 0.54, 3.15.1, 12.0345 and 1,234.5678") == ["0.823", "12.0345"]
    assert _arithmetic("IoU = 173 / 461 = 0.375, Dice = 346 / 634 = 0.546") == {"0.375", "0.546"}
    assert _arithmetic("a wrong one: 173 / 461 = 0.400") == set()
    assert _appears("0.823", "iou 0.823 ") and not _appears("0.823", "iou 0.8231") and not _appears("0.82", "0.823")


# ---------------------------------------------------------------- the README quotes notebook 09


def _readme_row(number: str) -> str:
    rows = [
        line
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| {number} |")
    ]
    assert len(rows) == 1, f"README.md should have one table row for notebook {number}"
    return rows[0]


def _quoted_results(row: str) -> list[str]:
    """The measured numbers a README row quotes: decimals, and durations in seconds ("45 s")."""
    decimals = [n for n in re.findall(r"(?<![\d.])\d+\.\d+(?![\d.]*\d)", row) if n not in LITERATURE]
    seconds = [f"{n} s" for n in re.findall(r"(?<![\d.])(\d+) s\b", row)]
    return decimals + seconds


def test_readme_row_of_notebook_09_quotes_its_outputs():
    path = next((p for p in NOTEBOOKS if p.name.startswith("09_")), None)
    if path is None:
        pytest.skip("notebook 09 is not in the course yet")
    nb = nbformat.read(path, as_version=4)
    outputs = "\n".join(_output_text(o) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    quoted = _quoted_results(_readme_row("09"))
    assert quoted, "the README row of notebook 09 quotes no result"
    missing = [n for n in quoted if not _appears(n, outputs)]
    assert not missing, f"README.md's row for notebook 09 quotes {missing}, which notebook 09's outputs do not show"
