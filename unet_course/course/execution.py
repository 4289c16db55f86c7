"""Execution: run a notebook top to bottom in a fresh kernel, and say what makes a run unfit to commit.

:func:`execute` is ``unet-course run-notebooks`` and ``make notebooks``; :func:`problems` lists
error outputs, local paths, TensorFlow log lines on stderr and broken execution counts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat

_LOCAL_PATH = re.compile(r"(/work/|/tmp/|/root/|/home/[^/\s]+/|/Users/[^/\s]+/|\.venv/lib|site-packages/)")
#: An error or warning line of TensorFlow's C++ log (absl format: "E0000 00:00:..."), which a
#: kernel prints on stderr: noise a learner cannot act on, or a problem to fix in the code.
_NATIVE_LOG = re.compile(r"^[EWF]\d{4} \d\d:\d\d:\d\d", re.M)


def problems(notebook) -> list[str]:
    """What makes an executed notebook unfit to commit: error outputs, local paths, broken order."""
    found = []
    counts = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        counts.append(cell.execution_count)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: error output {output.get('ename')}: {output.get('evalue')}")
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            match = _LOCAL_PATH.search(text)
            if match:
                found.append(f"cell {index}: output shows a local path ({match.group(0)}...)")
            if output.output_type == "stream" and output.get("name") == "stderr" and "Traceback" in text:
                found.append(f"cell {index}: a traceback on stderr")
            if output.output_type == "stream" and output.get("name") == "stderr" and _NATIVE_LOG.search(text):
                found.append(f"cell {index}: a TensorFlow log line on stderr ({text.strip()[:60]}...)")
    if counts != list(range(1, len(counts) + 1)):
        found.append(f"execution counts are not 1..{len(counts)}: {counts[:10]}")
    return found


def execute(path: str | os.PathLike, *, fast: bool = False, timeout: int = 600, write: bool = True):
    """Run a notebook top to bottom in a fresh kernel, in its own folder.

    Full mode unless ``fast``; ``timeout`` is in seconds per cell. A run that times out is
    tried once more in a new kernel: on a busy machine the kernel and the client now and then
    miss each other at start-up and then wait for ever. The executed notebook is written back
    in place when ``write`` and it has no problems (see :func:`problems`); otherwise a
    ``RuntimeError`` lists them and the file on disk is left as it was.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    path = Path(path)
    saved = os.environ.get("UNET_COURSE_FAST")
    os.environ["UNET_COURSE_FAST"] = "1" if fast else "0"
    try:
        for attempt in (1, 2):
            notebook = nbformat.read(path, as_version=4)
            client = NotebookClient(
                notebook,
                timeout=timeout,
                startup_timeout=120,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            )
            try:
                client.execute()
                break
            except CellTimeoutError:
                if attempt == 2:
                    raise
                print(f"{path.name}: a cell ran longer than {timeout} s; trying once more in a new kernel", flush=True)
    finally:
        if saved is None:
            os.environ.pop("UNET_COURSE_FAST", None)
        else:
            os.environ["UNET_COURSE_FAST"] = saved
    issues = problems(notebook)
    if issues:
        raise RuntimeError(f"{path} is not fit to commit:\n  " + "\n  ".join(issues))
    if write:
        nbformat.write(notebook, path)
    return notebook
