"""Root pytest configuration: every test, and every notebook kernel nbval starts, runs in
FAST mode and headless, whatever command started pytest."""

import os

os.environ.setdefault("UNET_COURSE_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
