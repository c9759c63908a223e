"""Boundary checks with one message template: "`name` must be ...; got value."

Validate once at the boundary (constructors, the start of ``fit``, CLI parsing), then trust the values.

Examples:
    >>> check_positive_int("batch_size", 256)
    256
    >>> check_positive_number("lr", -1)
    Traceback (most recent call last):
    ...
    softmaxreg.errors.ConfigError: `lr` must be a positive number; got -1.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any, TypeGuard

from softmaxreg.errors import ConfigError


def _fail(name: str, expected: str, value: object, hint: str = "") -> ConfigError:
    message = f"`{name}` must be {expected}; got {_shown(value)}."
    return ConfigError(f"{message} {hint}".strip())


def _shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (a value from a request may be megabytes long)."""
    if isinstance(value, numbers.Integral) and int(value).bit_length() > 256:
        return f"an integer of about {int(int(value).bit_length() * math.log10(2)) + 1:,} digits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_real(value: object) -> TypeGuard[float]:  # numbers.Real: a float to the type checker
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    """``math.isfinite`` that says False for an int too large for a float (10**400) instead of raising."""
    try:
        return math.isfinite(value)  # type: ignore[arg-type]
    except OverflowError:
        return False


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int ≥ 1, else raise :class:`ConfigError`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise _fail(name, "a positive integer", value)
    return int(value)


def check_nonnegative_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int ≥ 0, else raise :class:`ConfigError`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise _fail(name, "a non-negative integer", value)
    return int(value)


SEED_LIMIT = 2**64  # torch.manual_seed takes 0 ... 2**64 - 1 (a 64-bit generator state)


def check_seed(name: str, value: object) -> int:
    """Return ``value`` if it is an int in ``[0, 2**64)`` (what torch's generator takes), else raise `ConfigError`."""
    seed = check_nonnegative_int(name, value)
    if seed >= SEED_LIMIT:
        raise _fail(name, f"an integer from 0 to {SEED_LIMIT - 1:,} (2**64 - 1)", value)
    return seed


def check_positive_number(name: str, value: object) -> float:
    """Return ``value`` as a float if it is finite and > 0, else raise :class:`ConfigError`."""
    if not _is_real(value) or not _finite(value) or value <= 0:
        raise _fail(name, "a positive number", value)
    return float(value)


def check_nonnegative_number(name: str, value: object) -> float:
    """Return ``value`` as a float if it is finite and ≥ 0, else raise :class:`ConfigError`."""
    if not _is_real(value) or not _finite(value) or value < 0:
        raise _fail(name, "a non-negative number", value)
    return float(value)


def check_probability(name: str, value: object) -> float:
    """Return ``value`` as a float if it is in [0, 1), else raise :class:`ConfigError`.

    Examples:
        >>> check_probability("input_dropout", 1)
        Traceback (most recent call last):
        ...
        softmaxreg.errors.ConfigError: `input_dropout` must be a probability in [0, 1); got 1.
    """
    if not _is_real(value) or not 0 <= value < 1:
        raise _fail(name, "a probability in [0, 1)", value)
    return float(value)


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`ConfigError`."""
    if value not in choices:
        raise _fail(name, "one of " + ", ".join(repr(c) for c in choices), value)
    return str(value)


def env_number(name: str, default: Any, kind: type = float, minimum: float = 0.0) -> Any:
    """The environment variable ``name`` as a finite ``kind`` (float or int) ≥ ``minimum``; ``default`` if unset.

    Raises:
        ConfigError: it is set to anything else ("`NAME` must be ...; got 'text'. Unset it or fix its value.").
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value >= minimum or value == math.inf:
        what = "a positive number of seconds" if kind is float else "a non-negative integer"
        raise _fail(name, what, text, "Unset it or fix its value.")
    return value
