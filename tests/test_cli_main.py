"""The entry point: ``python -m unet_course.cli``, argparse errors as one line, oneDNN off before TensorFlow."""

import subprocess
import sys

import pytest


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
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(expected)
