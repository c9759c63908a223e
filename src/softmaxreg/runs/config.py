"""`TrainConfig`: everything that decides what a training run computes, in one place.

The CLI fills it from its options, a run folder's ``config.json`` stores it, ``--resume`` reads it
back, and a recipe is just another instance. Where the run goes and what it prints (``--out``,
``--quiet``, ``--lang``) and where the data comes from are not part of it.

This module imports nothing heavy: the CLI reads its defaults for ``--help``.

Examples:
    >>> config = TrainConfig(lr=0.5)
    >>> config.lr, config.epochs
    (0.5, 10)
    >>> config.replace(epochs=4).epochs
    4
    >>> TrainConfig(batch_size=0)
    Traceback (most recent call last):
    ...
    softmaxreg.errors.ConfigError: `batch_size` must be a positive integer; got 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from softmaxreg._validate import (
    check_choice,
    check_nonnegative_number,
    check_positive_int,
    check_positive_number,
    check_probability,
    check_seed,
)
from softmaxreg.errors import ConfigError

MODEL_CHOICES = ("concise", "scratch")
SCHEDULE_CHOICES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """The settings of one training run (d2l §4.5's configuration by default).

    Attributes:
        epochs: total passes over the training data.
        lr: SGD learning rate.
        batch_size: examples per minibatch.
        model: ``'concise'`` (``nn.Flatten`` + ``nn.LazyLinear``, §4.5) or ``'scratch'`` (§4.4).
        weight_decay: SGD's L2 penalty on all parameters (``0``: none).
        momentum: SGD momentum (``0``: none).
        nesterov: use Nesterov's momentum (needs ``momentum > 0``).
        schedule: learning rate over the run: ``'constant'``, or ``'cosine'`` (from ``lr`` down to 0).
        seed: seed of torch's random number generator (initial weights, minibatch order).
        early_stopping: stop after this many epochs without a lower ``val_loss`` and keep the best
            epoch's model (``None``: train all epochs, keep the last).
        input_dropout: while training, zero each input pixel with this probability and scale the
            others by ``1 / (1 - input_dropout)`` (``0``: none); see `callbacks.InputDropout`.
    """

    epochs: int = 10
    lr: float = 0.1
    batch_size: int = 256
    model: str = "concise"
    weight_decay: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False
    schedule: str = "constant"
    seed: int = 0
    early_stopping: int | None = None
    input_dropout: float = 0.0

    def __post_init__(self) -> None:
        check_positive_int("epochs", self.epochs)
        check_positive_number("lr", self.lr)
        check_positive_int("batch_size", self.batch_size)
        check_choice("model", self.model, MODEL_CHOICES)
        check_nonnegative_number("weight_decay", self.weight_decay)
        check_nonnegative_number("momentum", self.momentum)
        check_choice("schedule", self.schedule, SCHEDULE_CHOICES)
        if self.nesterov and self.momentum == 0:
            raise ConfigError("`nesterov` needs a positive `momentum`; got momentum 0.")
        check_seed("seed", self.seed)
        if self.early_stopping is not None:
            check_positive_int("early_stopping", self.early_stopping)
        check_probability("input_dropout", self.input_dropout)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (and validated); ``None`` values are ignored."""
        changes = {key: value for key, value in changes.items() if value is not None}
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(f"Unknown training setting(s) {', '.join(unknown)}; expected {', '.join(field_names())}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Read the settings back from a dict (extra keys, e.g. the rest of ``config.json``, are ignored)."""
        return cls(**{name: values[name] for name in field_names() if name in values})


def field_names() -> tuple[str, ...]:
    """The names of the settings, in order.

    Examples:
        >>> field_names()[:3]
        ('epochs', 'lr', 'batch_size')
    """
    return tuple(f.name for f in dataclasses.fields(TrainConfig))


DEFAULTS = TrainConfig()
