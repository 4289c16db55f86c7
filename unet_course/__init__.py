"""unet-course: build U-Net from scratch in Keras 3.

The notebooks in ``notebooks/`` teach each idea; this package holds the finished,
tested code they use afterwards:

- :mod:`unet_course.config`: FAST mode, paths, seeding, ``setup()`` for notebooks
- :mod:`unet_course.data`: the synthetic shapes dataset; ``sources`` (catalogue of real
  datasets), ``io`` (image/mask folders), ``isbi2012`` (the paper's data) and ``camvid``
  (street scenes, 11 classes + void), each a checksummed download (``download``), ``masks``
  (class ids, one-hot, boxes and connected components), ``pipeline`` (tf.data: crops,
  shuffle, batches), ``augment`` (one random draw for image and mask), ``weight_map`` (the
  paper's equation 2)
- :mod:`unet_course.metrics`: pixel accuracy, IoU (Jaccard) and Dice (F1), in NumPy and Keras,
  with an ignore value
- :mod:`unet_course.losses`: cross-entropy (class and per-pixel weights, ignore value), Dice,
  cross-entropy + Dice
- :mod:`unet_course.models`: ``build_unet`` and its blocks
- :mod:`unet_course.analysis`: reads models: ``receptive_field``, ``transposed_conv`` (by hand,
  overlap maps), ``profiling`` (parameters, multiply-adds, memory, timings), ``levels``
- :mod:`unet_course.training`: recipes (``"textbook"``, ``"course"``) and ``train_segmenter``, a
  thin layer over ``model.fit`` (time budget, best model as ``.keras``, live predictions)
- :mod:`unet_course.inference`: ``predict`` on images of any size (reflection padding, tiles, flip TTA)
- :mod:`unet_course.evaluation`: boundary IoU; ``reports`` (per-image tables, confusion matrix,
  threshold sweep, worst images, JSON/CSV)
- :mod:`unet_course.viz`, :mod:`unet_course.widgets`: figures (and the U-Net diagram), widgets
- :mod:`unet_course.exercises`: exercises with feedback, one module per notebook
- :mod:`unet_course.course` (``colab``, ``student``, ``execution``, ``slicing``, ``grading``) and
  :mod:`unet_course.cli` (``course_commands``, ``train_command``, ``model_commands``): Colab
  badges, student copies, running and grading notebooks, the ``unet-course`` command (course
  tools and ``train`` / ``evaluate`` / ``predict``)
"""

# config is the one place that quiets TensorFlow's logs; importing it first sets
# TF_CPP_MIN_LOG_LEVEL before any submodule imports Keras/TensorFlow.
from unet_course import config as _config  # noqa: F401

__version__ = "0.1.0"

#: The course's public home. Colab badges and the Colab install cell are built from it and
#: from :data:`RELEASE`, so a fork changes this one line and runs ``unet-course colab-links``
#: (which rewrites the badges and setup cells of every notebook and of the README).
REPOSITORY = "unet-course/unet-course"
#: The release tag the Colab badges open and the Colab setup cell installs: a tag, not a moving
#: branch, so that a notebook opened in Colab runs with the package it was written and run with.
#: It follows ``__version__``; each release is tagged ``vX.Y.Z`` (README, "Releasing").
RELEASE = f"v{__version__}"
