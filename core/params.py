"""How a tunable parameter (of an algorithm or a dataset) is described to the UI."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence


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
