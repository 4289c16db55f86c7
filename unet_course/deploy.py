"""A trained model leaves the notebook: saved, exported, and applied to new images of any size.

Two artifacts, for two readers:

- **``.keras``** (``model.save("model.keras")``, what ``train_segmenter`` writes): the whole
  Keras model (architecture, weights, and the loss, metrics and optimizer it was compiled
  with), for Keras to load and train further. :func:`load_model` loads it in Keras's *safe
  mode*: a file that would need arbitrary Python code to load (a ``Lambda`` layer's
  bytecode) is refused, so a ``.keras`` from elsewhere cannot run code on your machine. The
  course's models need no such code: their layers are Keras's own, and the course's losses,
  metrics and layers are registered (``keras.saving.register_keras_serializable``) by
  importing their modules, which :func:`load_model` does.
- **A TensorFlow SavedModel** (:func:`export_model`, over ``model.export``): the forward pass
  alone, as a TensorFlow graph with its weights, for serving. TensorFlow Serving loads it
  (from a folder ``MODEL_NAME/VERSION/``), and so does ``tf.saved_model.load`` in any Python
  with TensorFlow, without Keras and without this course. It takes images of any height and
  width the network accepts (multiples of ``2 ** depth``), and a file beside it,
  ``assets.extra/unet_course.json`` (a folder TensorFlow Serving ignores), records that
  divisor and the input and output shapes.

:class:`ExportedModel` (from :func:`load_exported`) gives
:func:`unet_course.inference.predict` what it needs from a model (``input_shape``,
``output_shape``, ``divisor`` and a call on a batch), so the exported artifact predicts images
of any size as the Keras model does: padding to the divisor, tiles for large images, overlap
tiles for a valid-padding model::

    export_model(model, "serving/unet/1")
    exported = load_exported("serving/unet/1")
    labels = predict(exported, image)          # == predict(model, image)

**Tile size.** ``predict(model, image, tile_size=T)`` bounds memory by predicting ``T x T``
tiles. :func:`largest_tile` finds the largest ``T`` whose activations fit a memory budget,
from the shapes (:func:`unet_course.analysis.profiling.activation_bytes`, notebook 06).

This module sits beside :mod:`unet_course.inference`: it imports ``data``, ``models``,
``losses``, ``metrics``, ``inference`` and ``analysis``, nothing above them.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np

from unet_course._validation import check_positive_int

#: Where :func:`export_model` writes what ``predict`` needs to know, inside the SavedModel folder.
METADATA = Path("assets.extra") / "unet_course.json"
#: The SavedModel's endpoint :class:`ExportedModel` calls (``model.export`` names it so;
#: TensorFlow Serving's ``serving_default`` signature is the same function).
ENDPOINT = "serve"


def _register_course_objects() -> None:
    import unet_course.losses  # noqa: F401  (CrossEntropy, DiceLoss, CrossEntropyDiceLoss)
    import unet_course.metrics  # noqa: F401  (IoUScore, DiceScore, ...)
    import unet_course.models  # noqa: F401  (the layers of backbone U-Nets, e.g. ReverseChannels)


def load_model(path, *, compile: bool = True, safe_mode: bool = True):
    """Load a ``.keras`` model saved by the course (or by ``model.save``), in safe mode.

    The course's losses, metrics and layers are registered first, so a compiled model comes
    back with its loss and metrics (``compile=False`` loads the architecture and weights only:
    enough to predict). ``safe_mode=True`` (Keras's default, kept here on purpose) refuses a
    file whose loading would run arbitrary code; only turn it off for a file you made.
    """
    import keras

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(
            f"{path} is not a .keras file. A SavedModel folder (from export_model or model.export) is loaded with "
            "load_exported(folder), for prediction; a .keras file with load_model."
        )
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    _register_course_objects()
    return keras.models.load_model(path, compile=compile, safe_mode=safe_mode)


def _shape(shape) -> list:
    return [None if d is None else int(d) for d in shape]


def export_model(model, directory, *, divisor: int | None = None, overwrite: bool = False) -> Path:
    """Export ``model`` for serving: a TensorFlow SavedModel in ``directory``; return its path.

    ``model.export(directory, format="tf_saved_model")`` writes the forward pass (inference
    mode: batch norm with its moving averages, no dropout) with the model's input signature:
    ``(batch, height, width, channels)``, any height and width for a ``padding="same"`` model
    built with ``None`` sizes. On the JAX backend the graph is converted by ``jax2tf``, told
    that height and width are multiples of ``divisor`` (without that, JAX cannot prove that a
    skip connection and the upsampled tensor it joins have the same size).

    ``divisor`` (default: read from the model, :func:`~unet_course.inference.model_divisor`)
    is saved with the input and output shapes in ``assets.extra/unet_course.json``, for
    :class:`ExportedModel`. An existing non-empty ``directory`` is replaced only with
    ``overwrite=True``. For TensorFlow Serving, export into ``NAME/1`` (a version number).
    """
    import keras

    from unet_course.inference import model_divisor

    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{directory} exists and is not empty; give overwrite=True to replace it.")
        shutil.rmtree(directory)
    if isinstance(model.input_shape, list) or isinstance(model.output_shape, list):
        raise ValueError("export_model expects a model with one image input and one output.")
    divisor = model_divisor(model) if divisor is None else check_positive_int("divisor", divisor)
    options = {}
    backend = keras.backend.backend()
    if backend == "jax":
        _, height, width, channels = model.input_shape
        dims = [str(size) if size is not None else f"{divisor}*{name}" for size, name in ((height, "h"), (width, "w"))]
        options["jax2tf_kwargs"] = {"polymorphic_shapes": [f"(batch, {dims[0]}, {dims[1]}, {channels})"]}
    elif backend != "tensorflow":
        raise ValueError(
            f"export_model writes a TensorFlow SavedModel, from the tensorflow or jax backend; this is {backend!r}."
        )
    model.export(str(directory), format="tf_saved_model", verbose=False, **options)
    metadata = {
        "format": "tf_saved_model",
        "endpoint": ENDPOINT,
        "divisor": divisor,
        "input_shape": _shape(model.input_shape),
        "output_shape": _shape(model.output_shape),
        "model_name": model.name,
        "keras_version": keras.__version__,
        "backend": backend,
    }
    (directory / METADATA).parent.mkdir(parents=True, exist_ok=True)
    (directory / METADATA).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return directory


class ExportedModel:
    """An exported SavedModel with what :func:`~unet_course.inference.predict` reads from a model.

    ``input_shape`` and ``output_shape`` (with the batch axis, as Keras gives them),
    ``divisor`` (the height and width must be multiples of it), and a call on a batch
    ``(N, H, W, C)`` that returns the probabilities ``(N, H', W', classes)`` as a NumPy array.
    The artifact is run by TensorFlow itself (``tf.saved_model.load``): no Keras model is
    rebuilt. Shapes and divisor come from ``assets.extra/unet_course.json`` when the folder
    has it (:func:`export_model`), else from the SavedModel's signature; then ``divisor``
    must be given.
    """

    def __init__(self, directory, *, divisor: int | None = None):
        import tensorflow as tf

        self.directory = Path(directory)
        if not (self.directory / "saved_model.pb").is_file():
            raise FileNotFoundError(
                f"{self.directory} holds no SavedModel (saved_model.pb); export one with export_model(model, folder)."
            )
        self._loaded = tf.saved_model.load(str(self.directory))
        function = getattr(self._loaded, ENDPOINT, None)
        if function is None:
            raise ValueError(
                f"The SavedModel in {self.directory} has no {ENDPOINT!r} endpoint; export it with export_model "
                "(or keras.Model.export)."
            )
        self._function = function
        path = self.directory / METADATA
        self.metadata = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        inputs, outputs = self._signature_shapes()
        self.input_shape = tuple(self.metadata.get("input_shape", inputs))
        self.output_shape = tuple(self.metadata.get("output_shape", outputs))
        if divisor is None:
            divisor = self.metadata.get("divisor")
        if divisor is None:
            raise ValueError(
                f"{self.directory} has no {METADATA.as_posix()} (it was not written by export_model): give divisor=, "
                "the number the height and width must be divisible by (2 ** depth for a U-Net)."
            )
        self.divisor = check_positive_int("divisor", divisor)
        self.name = self.metadata.get("model_name", self.directory.name)

    def _signature_shapes(self):
        signature = self._loaded.signatures.get("serving_default")
        if signature is None:
            return (None, None, None, None), (None, None, None, None)
        (spec,) = signature.structured_input_signature[1].values()
        (out,) = signature.structured_outputs.values()
        return tuple(spec.shape.as_list()), tuple(out.shape.as_list())

    @property
    def num_classes(self) -> int | None:
        return self.output_shape[-1]

    def __call__(self, batch, training: bool = False) -> np.ndarray:
        """Probabilities for a batch ``(N, H, W, C)`` (``training`` is ignored: a SavedModel only infers)."""
        import tensorflow as tf

        return self._function(tf.constant(np.asarray(batch, dtype=np.float32))).numpy()

    def predict_on_batch(self, batch) -> np.ndarray:
        return self(batch)

    def __repr__(self) -> str:
        return (
            f"ExportedModel({str(self.directory)!r}, input_shape={self.input_shape}, "
            f"output_shape={self.output_shape}, divisor={self.divisor})"
        )


def largest_tile(
    build, budget_bytes: float, *, batch_size: int = 1, bytes_per_value: int = 4, divisor: int = 16, stop: int = 16384
) -> int | None:
    """The largest square tile (a multiple of ``divisor``) whose activations fit ``budget_bytes``.

    ``build(size)`` returns a model for ``(size, size, channels)`` inputs (e.g.
    ``lambda s: build_unet((s, s, 1), 2, depth=4, base_filters=16, batch_norm=True)``). The
    memory of a tile is :func:`~unet_course.analysis.profiling.activation_bytes` of that model:
    every layer's output for ``batch_size`` tiles, ``bytes_per_value`` each (4: float32, 2:
    bfloat16 or float16), which is what a training step keeps for its backward pass and an
    upper bound for prediction; weights and the framework's workspace come on top. ``build``
    must accept every multiple of ``divisor`` (a ``padding="same"`` model). Memory grows with
    the tile: the search starts from the size that memory proportional to the pixels would
    give, steps until it brackets the answer, then bisects.
    Returns ``None`` when not even ``divisor`` fits, and ``stop`` rounded down to a multiple of
    ``divisor`` when that fits.

    >>> from unet_course.models import build_unet
    >>> largest_tile(lambda s: build_unet((s, s, 1), 2, depth=2, base_filters=4), 2**20)  # 1 MiB
    48
    """
    from unet_course.analysis.profiling import activation_bytes

    divisor = check_positive_int("divisor", divisor)
    if not isinstance(budget_bytes, (int, float)) or budget_bytes <= 0:
        raise ValueError(
            f"budget_bytes must be a positive number of bytes (e.g. 2**30 for 1 GiB), got {budget_bytes!r}."
        )

    def fits(steps: int) -> bool:
        return activation_bytes(build(steps * divisor), batch_size, bytes_per_value) <= budget_bytes

    smallest = activation_bytes(build(divisor), batch_size, bytes_per_value)
    if smallest > budget_bytes:
        return None
    last = max(1, stop // divisor)
    # first guess: memory proportional to the pixels (exact for a same-padding U-Net)
    guess = min(last, max(1, math.isqrt(int(budget_bytes // smallest))))
    if fits(guess):  # gallop up from the guess to the first size that does not fit
        low, step, high = guess, 1, last + 1
        while low + step <= last:
            if not fits(low + step):
                high = low + step
                break
            low, step = low + step, 2 * step
    else:  # gallop down to a size that fits (1 does)
        low, step, high = 1, 1, guess
        while high - step > 1:
            if fits(high - step):
                low = high - step
                break
            high, step = high - step, 2 * step
    while high - low > 1:  # fits(low), not fits(high)
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low * divisor


def load_exported(directory, *, divisor: int | None = None) -> ExportedModel:
    """The SavedModel in ``directory`` as an :class:`ExportedModel`, ready for ``predict``."""
    return ExportedModel(directory, divisor=divisor)
