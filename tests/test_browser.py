"""The widget notebooks in a real browser: JupyterLab's front end, the widget manager, Chromium.

nbval proves that every cell runs in a kernel; this module proves that a learner *sees* the
widgets. One JupyterLab server (the course's environment, FAST mode, 127.0.0.1, a free port, a
token) serves, from a temporary folder, each widget notebook sliced to its widget cells and the
cells they need (``unet_course.course.slicing.cells_needed``: the rest nbval has run, and the
browser adds nothing to it); headless Chromium, driven by Playwright, opens each one in a page
of its own (all at once, so that their kernels run side by
side), runs all cells from JupyterLab's Run menu and waits until no cell is left and the kernel is
idle, then checks the page: no error or stderr output, every cell ran (in FAST mode), as many
widgets rendered as the committed run shows, and moving a slider (and choosing a dropdown value,
where there is one) redraws the widget's figure. A screenshot per notebook, the server's log and
the time of each phase (timings.json) land in ``$UNET_COURSE_SCREENSHOTS`` (default
``artifacts/browser/``, ignored by git).

The browser is Debian's ``chromium`` package (Playwright's own browser download cannot work
offline), launched by the ``playwright`` package with ``executable_path``. Without chromium or
playwright the tests are skipped with one line that says how to enable them, except under CI
(``CI=true``, which ``.ci/run`` sets), where they fail: CI must run them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SCREENSHOTS = Path(os.environ.get("UNET_COURSE_SCREENSHOTS", ROOT / "artifacts" / "browser"))
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}
ENABLE = "enable them with `apt-get install chromium` (Debian/Ubuntu) and `pip install -e '.[dev]'` (playwright)"

#: Every notebook that displays an ipywidget (``test_the_list_covers_every_widget_notebook``
#: keeps this list complete).
WIDGET_NOTEBOOKS = [
    "01_semantic_segmentation",
    "02_metrics",
    "03_encoder",
    "04_upsampling",
    "08_evaluation",
]
#: Source that makes a widget: ipywidgets itself, or a factory of unet_course.widgets.
_MAKES_A_WIDGET = re.compile(
    r"ipywidgets|\b(sample_browser|metrics_playground|overlap_explorer|threshold_widget|interact\w*)\("
)

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Chromium as root in a closed network: no sandbox (Playwright's default), and none of the
# background connections that this machine would refuse.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers with a small /dev/shm
]
SERVER_START_S = 90  # JupyterLab answering /api/status
RUN_ALL_S = 240  # Run All Cells of one notebook, FAST mode, while the others run too
REDRAW_S = 30  # a widget's redraw after one move

pytestmark = pytest.mark.timeout(300)
#: Seconds per notebook and phase, written beside the screenshots (timings.json).
TIMINGS: dict[str, dict[str, float]] = {}


def _notebook_needs(name: str) -> list[str]:
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    return nb.get("metadata", {}).get("unet_course", {}).get("needs", [])


def _widget_cells(name: str) -> list[int]:
    """The code cells (indices among the code cells) that make or, in the committed run, show a widget."""
    cells = [c for c in json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"] if c["cell_type"] == "code"]
    return [
        i
        for i, c in enumerate(cells)
        if _MAKES_A_WIDGET.search("".join(c["source"])) or any(_WIDGET_VIEW in o.get("data", {}) for o in c["outputs"])
    ]


def _sliced(name: str):
    """The notebook the browser runs: the widget cells and the cells they need (nbval runs the rest)."""
    import nbformat

    from unet_course.course.slicing import sliced_notebook

    return sliced_notebook(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4), _widget_cells(name))


def _code_cells(name: str) -> int:
    """How many code cells Run All Cells executes in the sliced notebook (JupyterLab skips empty ones)."""
    sliced, _ = _sliced(name)
    return sum(bool(c.source.strip()) for c in sliced.cells)


def _committed_widget_views(name: str) -> int:
    """How many widgets the committed (full, clean) run of the notebook displayed."""
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    return sum(_WIDGET_VIEW in o.get("data", {}) for o in outputs)


def test_the_list_covers_every_widget_notebook():
    """A new widget notebook must be added to WIDGET_NOTEBOOKS (no browser needed)."""
    found = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        makes = any(c["cell_type"] == "code" and _MAKES_A_WIDGET.search("".join(c["source"])) for c in cells)
        if makes or _committed_widget_views(path.stem):
            found.append(path.stem)
    assert found == WIDGET_NOTEBOOKS
    assert all(_committed_widget_views(name) for name in WIDGET_NOTEBOOKS)


# --- the browser and the server, once for the module ---------------------------------------


def _missing() -> str | None:
    """Why the browser cannot be started here, or None."""
    if shutil.which("chromium") is None:
        return "no `chromium` on PATH"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "no playwright package"
    return None


@pytest.fixture(scope="module")
def browser():
    problem = _missing()
    if problem:
        if IN_CI:
            pytest.fail(f"CI must run the browser tests, but there is {problem} (.ci/run installs it)", pytrace=False)
        pytest.skip(f"browser tests skipped: {problem}; {ENABLE}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings_dir: Path) -> None:
    """JupyterLab user settings: no news or update checks (a closed network), no autosave."""
    settings = {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    }
    for plugin, values in settings.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(browser):
    """One JupyterLab server for the module, on copies of the notebooks; yields (url, token)."""
    work = Path(tempfile.mkdtemp(prefix="unet-course-lab-"))
    root = work / "notebooks"
    root.mkdir()
    import nbformat

    for name in WIDGET_NOTEBOOKS:  # sliced copies: the committed notebooks are never written
        nbformat.write(_sliced(name)[0], root / f"{name}.ipynb")
    _write_settings(work / "settings")
    env = dict(os.environ)
    env.update(
        UNET_COURSE_FAST="1",
        JUPYTER_CONFIG_DIR=str(work / "config"),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        IPYTHONDIR=str(work / "ipython"),
    )
    env.pop("MPLBACKEND", None)  # conftest's Agg would hide every figure; the kernel picks inline
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={work / 'settings'}",
        f"--LabApp.workspaces_dir={work / 'workspaces'}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path = work / "jupyterlab.log"
    log = log_path.open("wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited ({server.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in {SERVER_START_S} s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()  # jupyter_server shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log_path, SCREENSHOTS / "jupyterlab.log")
        (SCREENSHOTS / "timings.json").write_text(json.dumps(TIMINGS, indent=1))
        shutil.rmtree(work, ignore_errors=True)


def _shut_down_kernel(lab, name: str) -> None:
    """End the notebook's session and kernel (it must not use the CPU the others need)."""
    url, token = lab
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api/sessions", headers=headers), timeout=10) as r:
        sessions = json.load(r)
    for session in sessions:
        if session.get("path", "").endswith(f"{name}.ipynb"):
            request = urllib.request.Request(f"{url}/api/sessions/{session['id']}", headers=headers, method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()


# --- one notebook in the page ----------------------------------------------------------------

_ERROR_TEXT = ("Error displaying widget", "Traceback (most recent call last)")
# The open notebook's kernel, through the app that --LabApp.expose_app_in_browser puts on window:
# started, connected and idle (the toolbar's indicator says "idle" before a kernel exists).
_KERNEL_IDLE = """() => {
    const context = window.jupyterapp?.shell.currentWidget?.sessionContext;
    const kernel = context?.session?.kernel;
    return !!kernel && context.isReady && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""


def _wait_idle(page, timeout_s: float) -> None:
    page.wait_for_function(_KERNEL_IDLE, timeout=timeout_s * 1000, polling=250)


def _run_all_cells(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()


def _prompts(page) -> list[str]:
    """The code cells' prompts: '[3]:' once run, '[*]:' while queued or running, '[ ]:' never run."""
    return [p.strip() for p in _texts(page, ".jp-CodeCell .jp-InputArea-prompt")]


def _texts(page, selector: str) -> list[str]:
    """textContent, not innerText: cells out of view are not rendered (content-visibility)."""
    return page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.textContent)")


def _widget_cell_state(cell) -> str:
    """What the widget's output shows (its figures, else its text), not its controls' readouts."""
    return cell.evaluate(
        """cell => [...cell.querySelectorAll('.widget-output')].map(out => {
            const images = [...out.querySelectorAll('img')].map(i => i.src);
            return images.length ? images.join('|') : out.textContent;
        }).join('||')"""
    )


def _wait_changed(page, cell, before: str, what: str) -> None:
    """Wait for the redraw: the widget's output differs and the kernel is idle again."""
    deadline = time.monotonic() + REDRAW_S
    while _widget_cell_state(cell) == before or not page.evaluate(_KERNEL_IDLE):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not change what the widget shows within {REDRAW_S} s")
        time.sleep(0.2)


def _move_slider(page, cell) -> str:
    handle = cell.locator(".widget-slider .noUi-handle").first
    now, top = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
    key = "ArrowLeft" if now >= top else "ArrowRight"
    before = _widget_cell_state(cell)
    handle.focus()
    page.keyboard.press(key)
    _wait_changed(page, cell, before, f"pressing {key} on the slider (value {now:g})")
    return f"slider {now:g} -> {handle.get_attribute('aria-valuenow')}"


def _choose_dropdown(page, cell) -> str:
    select = cell.locator(".widget-dropdown select").first
    options = select.locator("option").all_inner_texts()
    current = select.evaluate("s => s.options[s.selectedIndex].text")
    other = next(o for o in options if o != current)
    before = _widget_cell_state(cell)
    select.select_option(label=other)
    _wait_changed(page, cell, before, f"choosing {other!r} in the dropdown")
    return f"dropdown {current} -> {other}"


class _Open:
    """One notebook in its own page, started: Run All Cells clicked (or the error that stopped it)."""

    def __init__(self, lab, browser, name: str):
        self.name, self.error, self.context, self.page, self.started = name, None, None, None, None
        self.timings = TIMINGS.setdefault(name, {})
        url, token = lab
        self._mark = time.monotonic()
        try:
            self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
            self.page = self.context.new_page()
            self.page.set_default_timeout(30_000)
            # a workspace of its own: JupyterLab reopens nothing of another notebook
            self.page.goto(f"{url}/lab/workspaces/{name}/tree/{name}.ipynb?reset&token={token}")
            self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
            _wait_idle(self.page, 60)  # its kernel started
            self.phase("open")
            _run_all_cells(self.page)
            self.page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
                ".some(p => p.textContent.includes('*'))"
            )
            self.started = time.monotonic()
        except Exception as error:  # raised again by the notebook's own test
            self.error = error

    def phase(self, what: str) -> None:
        now = time.monotonic()
        self.timings[what] = round(now - self._mark, 1)
        self._mark = now

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


@pytest.fixture(scope="module")
def running(lab, browser):
    """Every widget notebook open in a page of its own, all running at once (their kernels share
    the CPU: the module takes about as long as the slowest notebook, not the sum)."""
    opened = {}
    for name in WIDGET_NOTEBOOKS:
        from unet_course.data.download import missing_data

        where = missing_data(_notebook_needs(name))
        if where:
            opened[name] = where  # the notebook's test skips with this reason
            continue
        opened[name] = _Open(lab, browser, name)
    try:
        yield opened
    finally:
        for notebook in opened.values():
            if isinstance(notebook, _Open):
                notebook.close()


def _wait_to_the_end(notebook: _Open) -> None:
    """Until no cell is queued or running and the kernel is idle."""
    page, deadline = notebook.page, notebook.started + RUN_ALL_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            queued = sum("*" in p for p in _prompts(page))
            raise AssertionError(f"{notebook.name}: Run All Cells did not end in {RUN_ALL_S} s ({queued} cells left)")
        _wait_idle(page, left)
        if not any("*" in p for p in _prompts(page)):
            return
        time.sleep(0.3)


@pytest.mark.parametrize("name", WIDGET_NOTEBOOKS)
def test_widgets_render_and_react(lab, running, name):
    notebook = running[name]
    if isinstance(notebook, str):
        pytest.skip(notebook)
    if notebook.error is not None:
        _keep_failure(notebook)
        raise notebook.error
    page = notebook.page
    try:
        _wait_to_the_end(notebook)
        notebook.phase("run all")
        errors = _texts(page, '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        shown = [t.strip() for t in errors if t.strip()]
        assert not shown, f"{name}: error output in the page:\n" + "\n---\n".join(t[:2000] for t in shown)
        text = "\n".join(_texts(page, ".jp-OutputArea-output"))
        for marker in _ERROR_TEXT:
            assert marker not in text, f"{name}: {marker!r} in the outputs"
        counts = [int(m.group(1)) for p in _prompts(page) if (m := re.fullmatch(r"\[(\d+)\]:", p))]
        assert counts == list(range(1, _code_cells(name) + 1)), f"{name}: not every cell ran: {_prompts(page)}"
        setup = _texts(page, ".jp-CodeCell .jp-OutputArea")[0]
        assert "FAST mode     : on" in setup, f"{name}: the kernel did not run in FAST mode:\n{setup}"

        # a rendered widget is a view of the widget manager at the top of a cell's output
        # (not one nested in another widget); one that failed shows "Error displaying widget"
        rendered = page.evaluate(
            """() => [...document.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets')]
                .filter(view => !view.parentElement.closest('.jupyter-widgets')).length"""
        )
        expected = _committed_widget_views(name)
        assert rendered == expected, f"{name}: {rendered} widgets rendered; the committed run shows {expected}"
        cells = page.locator(".jp-CodeCell").filter(has=page.locator(".jp-OutputArea-output > .jupyter-widgets"))
        moved = []
        for i in range(cells.count()):
            cell = cells.nth(i)
            cell.scroll_into_view_if_needed()
            controls = cell.locator(".widget-slider, .widget-dropdown")
            assert controls.count() >= 1, f"{name}: a widget box without a slider or dropdown"
            assert _widget_cell_state(cell), f"{name}: a widget that shows nothing"
            if cell.locator(".widget-slider .noUi-handle").count():
                moved.append(_move_slider(page, cell))
            if cell.locator(".widget-dropdown select").count():
                moved.append(_choose_dropdown(page, cell))
        assert moved
        notebook.phase("widgets")
        cells.last.scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    except BaseException:
        _keep_failure(notebook)
        raise
    finally:
        notebook.close()
        _shut_down_kernel(lab, name)


def _keep_failure(notebook: _Open) -> None:
    """A screenshot of the page as it was when the test failed, beside the others."""
    if notebook.page is not None and not notebook.page.is_closed():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        notebook.page.screenshot(path=str(SCREENSHOTS / f"{notebook.name}-failed.png"))
