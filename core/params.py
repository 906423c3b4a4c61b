"""Parameters, declared once: what an estimator's parameter accepts (a constraint), and how a form shows it.

An estimator declares each of its parameters as a :class:`Param` in its own module: the constraint `fit`
checks, and for those the form shows, the label, the form's range and step or options, and a line of
help. The form, the command line, sweeps and messages read a :class:`ParamSpec`, the form's view of a
`Param` with the estimator's default filled in. Datasets declare their options as ParamSpecs directly.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Optional, Sequence




class Interval:
    """An allowed numeric range for a parameter: ``Interval(int, 1, None)`` means integers >= 1."""

    def __init__(self, kind, low=None, high=None, *, low_open: bool = False, allow_none: bool = False):
        self.kind, self.low, self.high, self.low_open, self.allow_none = kind, low, high, low_open, allow_none

    def accepts(self, value) -> bool:
        if value is None:
            return self.allow_none
        if isinstance(value, bool):
            return False
        numeric = numbers.Integral if self.kind is int else numbers.Real
        if not isinstance(value, numeric) or not math.isfinite(value):  # NaN passes every comparison
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or value <= self.high

    def __str__(self) -> str:
        kind = "an integer" if self.kind is int else "a number"
        low = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low}"
        high = "" if self.high is None else f"<= {self.high}"
        text = f"{kind} {' and '.join(p for p in (low, high) if p)}".strip()
        return f"left empty or {text}" if self.allow_none else text


class OneOf:
    """An allowed set of values."""

    def __init__(self, *options):
        self.options = options

    def accepts(self, value) -> bool:
        return value in self.options

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


class PositiveInts:
    """A non-empty sequence of positive integers (e.g. hidden layer widths)."""

    def accepts(self, value) -> bool:
        return (isinstance(value, (tuple, list)) and len(value) > 0
                and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value))

    def __str__(self) -> str:
        return "a non-empty sequence of positive integers"


class ParameterError(ValueError):
    """A parameter value an estimator does not take, or one that does not fit the data.

    The message names parameters by their own names (``"latent_dim" must be ...``); `names` lists them,
    so that the edge that speaks to a person (the form, the command line) can say each as the person
    knows it with :meth:`say`. `template` holds each name as ``{name}``.
    """

    def __init__(self, template: str, *names: str):
        self.template, self.names = template, names
        super().__init__(self.say(lambda name: name))

    def say(self, label) -> str:
        """The message with each parameter as ``"label(name)"``."""
        text = self.template
        for name in self.names:
            text = text.replace("{" + name + "}", f'"{label(name)}"')
        return text


@dataclass(frozen=True)
class ParamSpec:
    """One tunable parameter: how the UI shows it and its default.

    `kind` is "int", "float", "choice" or "optional_float" (a number that may be left empty, None, for
    an automatic value); `advanced` parameters go into the Advanced expander.
    """

    name: str
    label: str
    kind: str
    default: Any
    low: Optional[float] = None
    high: Optional[float] = None
    step: Optional[float] = None
    options: Sequence[Any] = ()
    help: str = ""
    advanced: bool = False
    # (other parameter, its values) for which this one applies, e.g. ("space", ("autoencoder",)): a
    # classical method clustering pixels trains no autoencoder, so its latent size is not used.
    applies_when: tuple = ()

    def applies_to(self, values: dict) -> bool:
        """Whether this parameter is used by a run whose parameters are `values`."""
        if not self.applies_when:
            return True
        other, allowed = self.applies_when
        return values.get(other) in allowed

    def parse(self, text: str):
        """The value written as `text` (command line, a text box) in this parameter's type.

        Raises ValueError naming the parameter (by its label) and what it takes.
        """
        text = str(text).strip()
        if self.kind == "choice":
            for option in self.options:
                if str(option).lower() == text.lower() or (option is None and text.lower() in ("auto", "none")):
                    return option
            shown = ", ".join("auto" if o is None else str(o) for o in self.options)
            raise ValueError(f"{text!r} is not an option of {self.label}; options: {shown}.")
        if self.kind == "optional_float" and text.lower() in ("", "auto", "none"):
            return None
        try:
            value = int(text) if self.kind == "int" else float(text)
        except ValueError:
            raise ValueError(f"{self.label} takes {'whole numbers' if self.kind == 'int' else 'numbers'}, "
                             f"not {text!r}.") from None
        self.check(value)
        return value

    def range_text(self) -> str:
        """"from 2 to 64", "at least 0", or "" for a parameter without bounds."""
        if self.low is not None and self.high is not None:
            return f"from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"at least {self.low:g}"
        return f"at most {self.high:g}" if self.high is not None else ""

    def check(self, value) -> None:
        """Raise ValueError (naming the parameter by its label) when `value` is not one the form offers."""
        if self.kind == "choice":
            if value not in self.options:
                shown = ", ".join("auto" if o is None else str(o) for o in self.options)
                raise ValueError(f"{value!r} is not an option of {self.label}; options: {shown}.")
            return
        if value is None and self.kind == "optional_float":
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                self.kind == "int" and not float(value).is_integer()):
            raise ValueError(f"{self.label} takes {'whole numbers' if self.kind == 'int' else 'numbers'}; "
                             f"got {value!r}.")
        if not math.isfinite(value):
            raise ValueError(f"{self.label} must be a finite number; got {value}.")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(f"{self.label} must be {self.range_text()}; got {value:g}.")


@dataclass(frozen=True)
class Param:
    """One parameter of an estimator, declared once beside it.

    `constraint` is what `fit` accepts (:class:`Interval`, :class:`OneOf`, :class:`PositiveInts`). A
    parameter with a `label` is on the form: `low` (default: the constraint's own lower bound), `high` and
    `step` give a number box's range, `options` the values a choice offers (default: all a
    :class:`OneOf` allows). The default is the estimator's own (its constructor's), never written twice.
    `renamed` lists values an earlier release spelled otherwise, so that what it saved still reads.
    """

    name: str
    constraint: Any
    label: str = ""
    help: str = ""
    low: Optional[float] = None
    high: Optional[float] = None
    step: Optional[float] = None
    options: Sequence[Any] = ()
    advanced: bool = False
    applies_when: tuple = ()
    renamed: tuple = ()  # (old value, new value) pairs: spellings of earlier releases, read back as the new one

    @property
    def on_form(self) -> bool:
        return bool(self.label)

    def spec(self, default) -> ParamSpec:
        """The form's view of this parameter, with the estimator's `default`."""
        constraint = self.constraint
        options = tuple(self.options) or (constraint.options if isinstance(constraint, OneOf) else ())
        if options:
            kind = "choice"
        elif isinstance(constraint, Interval) and constraint.kind is int:
            kind = "int"
        elif isinstance(constraint, Interval):
            kind = "optional_float" if constraint.allow_none else "float"
        else:
            raise TypeError(f"the form cannot show {self.name!r}: {constraint} has no box or options.")
        low = self.low if self.low is not None or kind == "choice" else constraint.low
        return ParamSpec(self.name, self.label, kind, default, low, self.high, self.step, options, self.help,
                         self.advanced, self.applies_when)
