"""The entry point: ``python -m unet_course.cli``, argparse errors as one line, oneDNN off before TensorFlow."""

import subprocess
import sys

import pytest

from tests.cli_helpers import fresh_python
from unet_course.cli import main


def test_python_m_runs_the_command_and_the_parser_imports_no_keras():
    done = subprocess.run(
        [sys.executable, "-m", "unet_course.cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    for command in ("check", "student-notebooks", "colab-links", "run-notebooks", "grade", "train", "predict"):
        assert command in done.stdout
    code = "import sys; from unet_course.cli import build_parser; build_parser(); print('keras' in sys.modules)"
    assert fresh_python(code).stdout.strip() == "False"


def test_a_usage_error_is_one_line(capsys):
    assert main(["train", "--images", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("unet-course train: error:") and "--masks" in err
    assert main(["predict", "--verbose", "--model", "m.keras"]) == 2  # --verbose is an option of each model command
    assert "--images" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--devices", "2"], "0"),
        (["train", "--devices=4"], "0"),
        (["train", "--devices", "1"], None),
        (["train"], None),
    ],
)
def test_train_on_several_devices_turns_onednn_off_before_tensorflow_starts(argv, expected):
    # in a fresh process: here TensorFlow is imported already, and the switch must come before it
    code = (
        "import os, sys; os.environ.pop('TF_ENABLE_ONEDNN_OPTS', None)\n"
        "from unet_course.cli import without_onednn_for_devices\n"
        "assert 'tensorflow' not in sys.modules\n"
        f"without_onednn_for_devices({argv!r}); print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))"
    )
    done = fresh_python(code)
    assert done.stdout.strip() == str(expected)
