"""The exercise engine: :class:`Exercise`, :class:`Case`, :class:`Verdict`, ``call`` and ``exercise``.

In a notebook::

    from unet_course.exercises import ex00 as ex
    ex.q1.check(foreground_fraction)   # prints the verdict: correct, or the likely mistake
    ex.q1.hint()                       # the next hint (ex.q1.hint(2): the second one)
    ex.q1.solution()                   # one correct answer

In tests and in the grader::

    verdict = ex.q1.verdict(answer)    # Verdict(passed=..., message=...), prints nothing

A checker either hand-writes its loop (``@exercise(...)`` on a function that raises
:class:`Mistake`) or lists its cases (``exercise(..., cases=[Case(...), ...], coerce=...)``):
each :class:`Case` has the inputs, the expected answer (by default the reference's) and the
wrong answers with the mistake each one reveals.

A check runs the learner's code on several inputs and compares behaviour with the
reference, never the exact code. Whatever the learner's code does (return ``None``,
raise ``NotImplementedError`` or any other error, return the wrong type or shape), the
learner gets a sentence that says what to fix, never a raw stack trace.

For grading, set ``UNET_COURSE_GRADE_LOG`` to a file: every check appends one JSON line
(exercise, passed, message) to it. ``unet-course grade`` uses this.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

GRADE_LOG_ENV = "UNET_COURSE_GRADE_LOG"


class Mistake(Exception):
    """Raised by a checker with a message for the learner."""


class NotDone(Exception):
    """The learner's answer is still the ``raise NotImplementedError()`` placeholder."""


def _short_error(error: BaseException) -> str:
    """The learner-facing description of an error raised inside their code."""
    frames = traceback.extract_tb(error.__traceback__)
    # the innermost frame from the learner's notebook cell (not from the course or libraries)
    own = [f for f in frames if "ipykernel" in f.filename or f.filename.startswith("<")]
    where = f" (line {own[-1].lineno} of your cell: `{(own[-1].line or '').strip()}`)" if own else ""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # Keras colours its messages for terminals
    text = text.split("\n\nArguments received by")[0].strip()  # and lists every argument after them
    return f"{type(error).__name__}: {text}{where}"


def call(function, *args, describe: str = "", allow_none: bool = False, **kwargs):
    """Call the learner's ``function``; turn what can go wrong into a ``Mistake``.

    ``describe`` says what the inputs were, for the message ("on a 4x4 mask of zeros").
    ``allow_none``: None is a possible right answer (else it means a missing ``return``).
    """
    if function is None:
        raise Mistake("You passed None. Pass your function itself, e.g. check(my_function), without calling it.")
    if not callable(function):
        raise Mistake(
            f"Expected a function, got {type(function).__name__} {function!r:.60}. Pass the function, not its result."
        )
    try:
        result = function(*args, **kwargs)
    except NotImplementedError:
        raise NotDone() from None
    except Exception as error:  # the learner's code failed: say how, briefly
        on = f" {describe}" if describe else ""
        raise Mistake(f"Your function raised {_short_error(error)}{on}.") from None
    if result is None and not allow_none:
        raise Mistake("Your function returned None. Did you forget the `return` statement?")
    _check_connected(result, args, describe)
    return result


def _check_connected(result, args, describe: str) -> None:
    """A Keras tensor the learner returns must be computed from the Keras tensors they were given.

    Otherwise every checker that builds ``keras.Model(inputs, output)`` would fail with Keras'
    "not connected to inputs" and report its own failure instead of the learner's mistake.
    """
    keras = sys.modules.get("keras")
    if keras is None or not isinstance(result, keras.KerasTensor):
        return
    inputs = [a for a in args if isinstance(a, keras.KerasTensor)]
    if not inputs:
        return
    try:
        keras.Model(inputs, result)
    except ValueError as error:
        if "not connected" not in str(error):
            raise
        on = f" {describe}" if describe else ""
        raise Mistake(
            f"The tensor your function returned{on} is not computed from the inputs it was given: it comes from a "
            "keras.Input (or tensor) made inside your function. Start from the arguments, e.g. "
            "x = layers.Conv2DTranspose(...)(x), and return the last layer's output."
        ) from None


def log_verdict(notebook: str, name: str, passed: bool, message: str) -> None:
    """Append one JSON line to the grading log named by ``UNET_COURSE_GRADE_LOG`` (nothing when unset)."""
    path = os.environ.get(GRADE_LOG_ENV)
    if not path:
        return
    record = {"notebook": notebook, "exercise": name, "passed": passed, "message": message}
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


class Verdict(NamedTuple):
    """What a check concluded: ``passed`` and the message the learner reads."""

    passed: bool
    message: str


_DEFAULT = object()


@dataclass
class Case:
    """One input of a listed-case checker.

    - ``label``: what the input is, for messages ("an 8x8 mask with a 4x4 square of class 2")
    - ``args`` / ``kwargs``: passed to the learner's function (copied first: arrays are copied)
    - ``expected``: the right answer; by default the reference's answer on the same inputs
    - ``mistakes``: ``(wrong, message)`` pairs, tried in order when the answer is not right.
      ``wrong`` is a wrong answer (compared like the right one) or a predicate
      ``wrong(got) -> bool``. ``message`` may use ``{label}``, ``{got}`` and ``{expected}``.
    - ``otherwise``: the message when no listed mistake matches (same fields); a default says
      what was returned and what was expected.
    - ``on_error``: a sentence added when the learner's function raises an error on this case
      (e.g. the convention for two empty masks, where a plain formula divides by zero).
    """

    label: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expected: Any = _DEFAULT
    mistakes: tuple = ()
    otherwise: str | None = None
    on_error: str | None = None


def same(got, expected) -> bool:
    """Default comparison of a listed case: equal shape and values (floats to 1e-6), or ``==``."""
    if expected is None or got is None:
        return got is expected
    try:
        a, b = np.asarray(got), np.asarray(expected)
    except Exception:  # pragma: no cover - exotic values
        return got == expected
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        return bool(np.allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True))
    return bool(np.array_equal(a, b))


def distinct(mistakes, expected, compare=same) -> tuple:
    """``mistakes`` without the wrong answers that equal ``expected`` (on this input the mistake gives the right
    answer, so it cannot be what went wrong) or an earlier wrong answer (its message would never be reached).
    Predicates are kept as they are."""
    kept: list = []
    for wrong, message in mistakes:
        if not callable(wrong) and (
            compare(wrong, expected) or any(not callable(w) and compare(wrong, w) for w, _ in kept)
        ):
            continue
        kept.append((wrong, message))
    return tuple(kept)


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _show(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_cases(answer, cases, *, reference=None, coerce=None, compare=same, success=None, allow_none=False):
    """Run ``answer`` on each :class:`Case`; raise :class:`Mistake` with the first mistake found.

    ``coerce(got, case)`` turns what the learner returned into the form compared (e.g. a float)
    or raises :class:`Mistake` when it cannot; ``compare(got, expected)`` says whether it is right.
    A mistake whose predicate or value does not apply to a case (e.g. "you counted class 1 only"
    on a mask without class 1) is simply left out of that case's ``mistakes``.
    """
    for case in cases() if callable(cases) else cases:
        args = tuple(_copy(a) for a in case.args)
        kwargs = {k: _copy(v) for k, v in case.kwargs.items()}
        expected = case.expected
        if expected is _DEFAULT:
            if reference is None or isinstance(reference, str):
                raise TypeError(f"Case {case.label!r} has no expected answer and the exercise no callable reference.")
            expected = reference(*(_copy(a) for a in case.args), **{k: _copy(v) for k, v in case.kwargs.items()})
        try:
            with np.errstate(all="ignore"):  # a 0/0 in the learner's code is judged, not printed as a warning
                got = call(answer, *args, describe=f"on {case.label}", allow_none=allow_none, **kwargs)
        except Mistake as mistake:
            if case.on_error and str(mistake).startswith("Your function raised"):
                raise Mistake(f"{mistake} {case.on_error}") from None
            raise
        if coerce is not None:
            got = coerce(got, case)
        if compare(got, expected):
            continue
        fields = {"label": case.label, "got": _show(got), "expected": _show(expected)}
        for wrong, message in case.mistakes:
            matched = wrong(got) if callable(wrong) else compare(got, wrong)
            if matched:
                raise Mistake(message.format(**fields))
        raise Mistake((case.otherwise or "On {label} you returned {got}; expected {expected}.").format(**fields))
    return success


@dataclass
class Exercise:
    """One exercise: a checker, one or more hints and a reference solution.

    ``target`` is the name of the definition the notebook asks the learner to write (e.g.
    ``"foreground_fraction"``): ``unet-course grade`` looks it up in the learner's kernel and
    runs the checker on it itself.
    """

    name: str
    title: str
    checker: Callable
    hints: tuple[str, ...]
    reference: Callable | str
    notebook: str = ""
    target: str = ""
    _last: Verdict | None = field(default=None, repr=False)
    _hints_given: int = field(default=0, repr=False)

    def verdict(self, answer=None) -> Verdict:
        """The verdict on ``answer``, without printing or logging: for tests and the grader."""
        return self._run(answer)

    def check(self, answer=None) -> None:
        """Run the checker on ``answer`` and print the verdict (also logged when grading)."""
        passed, message = self._run(answer)
        self._last = Verdict(passed, message)
        mark = "✅" if passed else "❌"
        print(f"{mark} {self.name} ({self.title}): {message}")
        if not passed:
            print(
                f"   Try again, or ask for help: {self._handle()}.hint() gives a hint, "
                f"{self._handle()}.solution() shows an answer."
            )
        self._log(passed, message)

    def _handle(self) -> str:
        return f"ex.{self.name}"

    def _run(self, answer) -> Verdict:
        try:
            message = self.checker(answer)
        except NotDone:
            return Verdict(
                False,
                "not yet implemented: replace `raise NotImplementedError()` with your code and run the cell again.",
            )
        except Mistake as mistake:
            return Verdict(False, f"not yet. {mistake}")
        except Exception as error:  # a bug in a checker must not hide behind the learner's answer
            return Verdict(
                False, f"the checker itself failed ({type(error).__name__}: {error}). Please report this to the course."
            )
        return Verdict(True, message or "correct, well done!")

    def _log(self, passed: bool, message: str) -> None:
        log_verdict(self.notebook, self.name, passed, message)

    @property
    def hint_text(self) -> str:
        """All hints, one per line."""
        return "\n".join(self.hints)

    def hint(self, number: int | None = None) -> None:
        """Print hint ``number`` (1, 2, ...), or the next one: each call without a number goes one further."""
        count = len(self.hints)
        if number is None:
            self._hints_given = min(self._hints_given + 1, count)
            number = self._hints_given
        elif not isinstance(number, int) or not 1 <= number <= count:
            raise ValueError(
                f"{self.name} has {count} hint(s); ask for hint(1) to hint({count}), not hint({number!r})."
            )
        more = (
            f" (hint {number} of {count}; call hint() again for the next)"
            if number < count
            else (f" (hint {number} of {count})" if count > 1 else "")
        )
        print(f"💡 {self.name}{more}: {self.hints[number - 1]}")

    def solution(self) -> None:
        """Print one correct answer (the reference the checker compares with)."""
        source = self.reference if isinstance(self.reference, str) else inspect.getsource(self.reference)
        print(f"One solution to {self.name} ({self.title}):\n")
        print(textwrap.dedent(source).strip())


def exercise(
    name: str,
    title: str,
    *,
    hint,
    reference,
    notebook: str,
    target: str = "",
    cases=None,
    coerce=None,
    compare=same,
    success: str | None = None,
    allow_none: bool = False,
):
    """Make an :class:`Exercise`.

    Without ``cases``: a decorator that turns a hand-written checker function into an exercise.
    With ``cases`` (a list of :class:`Case`, or a function returning one): the exercise itself,
    checked by :func:`check_cases`; ``coerce``, ``compare``, ``success`` and ``allow_none`` go there.
    ``hint`` is one string or a sequence of successive hints. ``target`` defaults to the
    reference's name.
    """
    hints = (hint,) if isinstance(hint, str) else tuple(hint)
    if not hints:
        raise ValueError(f"Exercise {name} needs at least one hint.")
    target = target or getattr(reference, "__name__", "")

    def make(checker):
        return Exercise(
            name=name, title=title, checker=checker, hints=hints, reference=reference, notebook=notebook, target=target
        )

    if cases is None:
        return make

    def checker(answer):
        return check_cases(
            answer, cases, reference=reference, coerce=coerce, compare=compare, success=success, allow_none=allow_none
        )

    checker.__name__ = name
    return make(checker)


def exercises_of(module) -> list[Exercise]:
    """The exercises a module defines, in order of their names (q1, q2, ...)."""
    found = [value for value in vars(module).values() if isinstance(value, Exercise)]
    return sorted(found, key=lambda e: (len(e.name), e.name))


# --------------------------------------------------------------------------------------
# reading what a Keras answer is made of
# --------------------------------------------------------------------------------------


def walk_layers(model) -> list:
    """The operations of ``model`` in graph order, looking inside everything that contains others.

    A Keras answer can be written in many correct ways: layers called one by one, a
    ``keras.Sequential([...])`` or a nested ``keras.Model`` called like a layer, ``keras.ops`` calls
    (``ops.relu``, ``ops.concatenate``: they appear as operations of the graph), or a subclassed
    layer holding its own layers. This returns the leaves: every layer that holds no other layer
    and every ``keras.ops`` operation, without the input layers, so that a checker counts the
    layers of an answer the same way whichever way it was written. (What a subclassed layer does
    with ``keras.ops`` inside its ``call`` is not visible here: compare behaviour for that.)
    """
    import keras

    found: list = []

    def visit(operation) -> None:
        if isinstance(operation, keras.layers.InputLayer):
            return
        if isinstance(operation, keras.Model):
            children = getattr(operation, "operations", None)
            if children is None:  # Sequential, or a subclassed model
                children = operation.layers
        elif isinstance(operation, keras.layers.Layer):
            children = operation._flatten_layers(include_self=False, recursive=False)
        else:
            children = []
        if not children:
            found.append(operation)
        for child in children:
            visit(child)

    for operation in getattr(model, "operations", None) or model.layers:
        visit(operation)
    return found


def layers_of(model, *kinds) -> list:
    """The leaves of :func:`walk_layers` that are instances of ``kinds`` (classes) or whose class
    name is one of ``kinds`` (strings, e.g. ``"Concatenate"`` for the layer and ``ops.concatenate``)."""
    classes = tuple(k for k in kinds if isinstance(k, type))
    names = {k for k in kinds if isinstance(k, str)}
    return [op for op in walk_layers(model) if isinstance(op, classes) or type(op).__name__ in names]


def applies_relu(operation) -> bool:
    """Whether one operation applies a ReLU: ``layers.ReLU()``, ``layers.Activation("relu")``,
    ``keras.ops.relu``, ``keras.activations.relu`` or a layer built with ``activation="relu"``."""
    if type(operation).__name__ in ("ReLU", "Relu"):
        return True
    return getattr(getattr(operation, "activation", None), "__name__", "") == "relu"
