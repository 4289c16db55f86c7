"""Execution: a notebook run top to bottom, written back only when clean; what makes a run unfit to commit."""

import nbformat
import pytest

from unet_course.course import execution


def _tiny_notebook(path, source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_execute_writes_a_clean_run_and_refuses_an_error(tmp_path):
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    _tiny_notebook(good, "print(6 * 7)")
    _tiny_notebook(bad, "1 / 0")
    before = bad.read_text()
    execution.execute(good, fast=True, timeout=60)
    cell = nbformat.read(good, as_version=4).cells[0]
    assert cell.execution_count == 1 and cell.outputs[0]["text"] == "42\n"
    with pytest.raises(Exception, match="ZeroDivisionError"):
        execution.execute(bad, fast=True, timeout=60)
    assert bad.read_text() == before  # nothing written


def test_execute_retries_a_timed_out_run_once(tmp_path, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    path = tmp_path / "nb.ipynb"
    _tiny_notebook(path, "x = 1")
    calls = []

    def flaky(self, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise CellTimeoutError("stuck at start-up")
        for number, cell in enumerate(self.nb.cells, 1):
            cell.execution_count = number
        return self.nb

    monkeypatch.setattr(NotebookClient, "execute", flaky)
    execution.execute(path, timeout=5)
    assert len(calls) == 2
    calls.clear()

    def always_stuck(self, **kwargs):
        calls.append(1)
        raise CellTimeoutError("stuck again")

    monkeypatch.setattr(NotebookClient, "execute", always_stuck)
    with pytest.raises(CellTimeoutError):
        execution.execute(path, timeout=5)
    assert len(calls) == 2


def test_problems_finds_native_log_lines_on_stderr():
    """A TensorFlow C++ log line (absl format) in a committed output is caught; a plain stderr note is not."""

    def notebook_with(text):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("x = 1", execution_count=1)
        cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=text)]
        nb.cells = [cell]
        return nb

    line = "E0000 00:00:1796505141.007376    8882 util.cc:131] oneDNN supports DT_INT32 only on ...\n"
    assert any("TensorFlow log line" in p for p in execution.problems(notebook_with(line)))
    assert execution.problems(notebook_with("Training interrupted: the best weights so far are kept.\n")) == []
