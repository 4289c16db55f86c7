"""What the tests of the ``unet-course`` command share: tiny image folders, one-line errors, a fresh Python."""

import subprocess
import sys

import numpy as np
from PIL import Image

from unet_course.cli import main


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def make_folders(root, count=4, size=(32, 32), extra_size=None, mask_scale=1, channels=1):
    rng = np.random.default_rng(0)
    for i in range(count):
        h, w = extra_size if (extra_size and i == count - 1) else size
        image = (rng.random((h, w)) * 255).astype(np.uint8)
        save(root / "img" / f"s{i}.png", np.stack([image] * 3, -1) if channels == 3 else image)
        save(root / "msk" / f"s{i}.png", ((image > 128) * mask_scale).astype(np.uint8))
    return root / "img", root / "msk"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *phrases):
    assert code != 0
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("unet-course") and "error:" in lines[0] and "Traceback" not in err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def train_argv(images, masks, out, *extra):
    """``train`` on two classes for one epoch (a repeated option: argparse keeps the last value)."""
    return ["train", "--images", images, "--masks", masks, "--num-classes", 2, "--epochs", 1, "--out", out, *extra]


def evaluate_argv(model, images, masks, *extra):
    return ["evaluate", "--model", model, "--images", images, "--masks", masks, *extra]


def fresh_python(code: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a new Python process (where TensorFlow is not imported yet); it must succeed."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done
