"""The package's shared argument checks (``unet_course/_validation.py``): each refusal a ValueError that
names the value it got and what to give instead."""

import numpy as np
import pytest

from unet_course._validation import check_fraction, check_num_classes, check_positive_number


def test_a_positive_number_accepts_ints_and_floats_and_names_the_unit_and_an_example():
    assert check_positive_number("time_budget", 60) == 60.0 and check_positive_number("rate", np.float32(0.5)) == 0.5
    for bad in (0, -1.5, True, "60", None, float("nan")):
        with pytest.raises(ValueError, match=r"time_budget must be a positive number of seconds, got .*: e\.g\. 60 s"):
            check_positive_number("time_budget", bad, unit="seconds", example="60 s")
    with pytest.raises(ValueError, match=r"^learning_rate must be a positive number, got 0\.$"):
        check_positive_number("learning_rate", 0)


def test_num_classes_is_a_whole_number_of_at_least_two():
    assert check_num_classes(np.int64(3)) == 3
    for bad in (1, 0, 2.0, True, "2"):
        with pytest.raises(ValueError, match=r"num_classes must be an integer >= 2, got .*a binary task has 2 classes"):
            check_num_classes(bad)


def test_a_fraction_is_in_the_half_open_unit_interval():
    assert check_fraction("decay_fraction", 1) == 1.0
    with pytest.raises(ValueError, match=r"decay_fraction must be in \(0, 1\], got 0"):
        check_fraction("decay_fraction", 0)
