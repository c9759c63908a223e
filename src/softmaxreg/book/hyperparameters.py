"""The two helpers every d2l class is built with: `add_to_class` and `HyperParameters`.

Both exist because the book's code calls them (`import softmaxreg as d2l`); softmaxreg's own code
never patches itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def add_to_class(Class: type) -> Callable[[F], F]:
    """Return a decorator that installs the decorated function as a method of ``Class``.

    The book uses it to grow a class cell by cell. Unlike d2l's, the decorator returns the function,
    so the module-level name keeps pointing at it instead of becoming ``None``.

    Args:
        Class: the class that receives the method, under the function's own name.

    Returns:
        A decorator that returns its argument unchanged.

    Examples:
        >>> class A:
        ...     pass
        >>> @add_to_class(A)
        ... def hello(self):
        ...     return "hi"
        >>> A().hello(), hello.__name__
        ('hi', 'hello')
    """

    def wrapper(fn: F) -> F:
        setattr(Class, fn.__name__, fn)
        return fn

    return wrapper


def _argument_names(code: Any) -> tuple[str, ...]:
    """Names of a function's parameters, in order, from its code object."""
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return tuple(code.co_varnames[:count])


class HyperParameters:
    """Mixin whose `save_hyperparameters` turns ``__init__`` arguments into attributes.

    Examples:
        >>> class Net(HyperParameters):
        ...     def __init__(self, num_outputs, lr, _secret=1, data=None):
        ...         self.save_hyperparameters(ignore=["data"])
        >>> net = Net(10, lr=0.1)
        >>> net.num_outputs, net.lr, net.hparams
        (10, 0.1, {'num_outputs': 10, 'lr': 0.1})
    """

    def save_hyperparameters(self, ignore: Iterable[str] = ()) -> None:
        """Save the calling function's arguments as attributes and in ``self.hparams``.

        Skips ``self``, names starting with ``_`` and the names in ``ignore``. Works in classes that
        never call ``super().__init__()``, as the book's do.

        Args:
            ignore: argument names not to save.
        """
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        if caller is None:  # pragma: no cover - only on interpreters without frames
            raise RuntimeError("save_hyperparameters() needs Python frames to read the arguments.")
        try:
            skip = {"self", *ignore}
            values = caller.f_locals
            self.hparams = {
                name: values[name]
                for name in _argument_names(caller.f_code)
                if name not in skip and not name.startswith("_") and name in values
            }
        finally:
            del frame, caller  # frames in locals keep whole call stacks alive
        for name, value in self.hparams.items():
            setattr(self, name, value)
