"""The examples in the package's docstrings run and print what they say (the paper's figures among them)."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "unet_course.models.unet",
        "unet_course.data.tiles",
        "unet_course.metrics",
        "unet_course.data.synthetic",
        "unet_course.analysis.receptive_field",
        "unet_course.analysis.levels",
        "unet_course.data.masks",
        "unet_course.viz.palette",
        "unet_course.evaluation",
        "unet_course.evaluation.challenge",
    ],
)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
