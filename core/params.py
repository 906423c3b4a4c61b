"""How a tunable parameter (of an algorithm or a dataset) is described to the UI."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence


class _FromEstimator:
    def __repr__(self) -> str:
        return "FROM_ESTIMATOR"


# An algorithm parameter's default: the estimator's own (filled in by AlgorithmSpec), so the form and
# the estimator cannot disagree.
FROM_ESTIMATOR = _FromEstimator()


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
