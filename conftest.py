"""Root pytest configuration: every test, and every notebook kernel nbval starts, runs in
FAST mode and headless, whatever command started pytest.

Real data offline: when ``UNET_COURSE_ISBI2012_SOURCE`` is not set and a copy of the ISBI
2012 files sits beside the project (``../shared/data/isbi2012_membrane``, as on CI), the
setting points there, so the real checksummed download code runs against it. Notebooks
whose metadata say ``"unet_course": {"needs": ["isbi2012"]}`` are skipped, with the
reason, when the data is neither cached nor available locally.
"""

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("UNET_COURSE_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_LOCAL_ISBI = Path(__file__).resolve().parent.parent / "shared" / "data" / "isbi2012_membrane"
if not os.environ.get("UNET_COURSE_ISBI2012_SOURCE") and _LOCAL_ISBI.is_dir():
    os.environ["UNET_COURSE_ISBI2012_SOURCE"] = str(_LOCAL_ISBI)

# The student copies are not nbval notebooks of their own: tests/test_student_copies.py runs what
# they do not share with the course notebooks (a copy named on the command line still runs).
collect_ignore_glob = ["notebooks/student/*.ipynb"]


def _needs(path: Path) -> list[str]:
    try:
        return json.loads(path.read_text()).get("metadata", {}).get("unet_course", {}).get("needs", [])
    except (OSError, ValueError):
        return []


def pytest_collection_modifyitems(config, items):
    cache: dict[Path, list[str]] = {}
    reason = None
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix != ".ipynb":
            continue
        if path not in cache:
            cache[path] = _needs(path)
        if "isbi2012" in cache[path]:
            if reason is None:
                from unet_course.data.isbi2012 import availability

                ok, where = availability()
                reason = "" if ok else where
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
