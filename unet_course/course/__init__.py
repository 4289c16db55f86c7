"""Instructor tooling, apart from the ML code: notebooks (badges, setup cell, student copies,
execution) and grading (``unet-course grade``)."""
