"""What a run's model takes as input: the contract between training on some data and using the model.

``model.json`` keeps it under ``"input"``; `predict`, `evaluate`, `serve` and `export` read it back
with `InputSpec.from_metadata`, so a run folder alone says how to turn a user's image or table row
into the model's input, on any machine, without the training data. Runs written before the entry
existed were all Fashion-MNIST: grey 28×28 images, light objects on a dark background.

Images reach the model as uint8 pixels ``(C, H, W)`` divided by 255; features as float32 values
standardised with the training split's statistics, ``(x - mean) / std``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from softmaxreg.errors import CheckpointError

Kind = Literal["images", "features"]


@dataclass(frozen=True)
class InputSpec:
    """The input a run's model takes, and how raw data becomes it.

    Attributes:
        kind: ``"images"`` (uint8 pixels) or ``"features"`` (numeric table columns).
        channels: images: 1 (grey) or 3 (RGB).
        height: images: rows of pixels.
        width: images: columns of pixels.
        light_on_dark: images: the training images show light objects on a dark background (as
            Fashion-MNIST does), so an upload on a light background is inverted to match.
        feature_names: features: the columns, in the model's order.
        mean: features: the training split's mean of each column.
        std: features: the training split's standard deviation of each column (1 where it was 0).

    Examples:
        >>> InputSpec().input_shape, InputSpec().num_inputs
        ((1, 28, 28), 784)
        >>> spec = InputSpec("features", feature_names=("a", "b"), mean=(0.0, 1.0), std=(1.0, 2.0))
        >>> spec.input_shape, InputSpec.from_metadata({"input": spec.to_metadata()}) == spec
        ((2,), True)
    """

    kind: Kind = "images"
    channels: int = 1
    height: int = 28
    width: int = 28
    light_on_dark: bool = True
    feature_names: tuple[str, ...] = ()
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    @property
    def input_shape(self) -> tuple[int, ...]:
        """``(C, H, W)`` for images, ``(F,)`` for features: one example, without the batch axis."""
        if self.kind == "features":
            return (len(self.feature_names),)
        return (self.channels, self.height, self.width)

    @property
    def num_inputs(self) -> int:
        """The linear layer's input width."""
        return math.prod(self.input_shape)

    def to_metadata(self) -> dict[str, Any]:
        """``model.json``'s ``"input"`` entry (JSON types only)."""
        if self.kind == "features":
            return {
                "kind": "features",
                "feature_names": list(self.feature_names),
                "mean": list(self.mean),
                "std": list(self.std),
            }
        return {
            "kind": "images",
            "channels": self.channels,
            "height": self.height,
            "width": self.width,
            "light_on_dark": self.light_on_dark,
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> InputSpec:
        """The spec ``model.json`` (``meta``) describes; Fashion-MNIST's for runs older than the entry.

        Raises:
            CheckpointError: the ``"input"`` entry is malformed.
        """
        entry = meta.get("input")
        if entry is None:
            return cls()
        try:
            if entry["kind"] == "features":
                names, mean, std = entry["feature_names"], entry["mean"], entry["std"]
                spec = cls("features", feature_names=tuple(map(str, names)), mean=_floats(mean), std=_floats(std))
                if not names or len(mean) != len(names) or len(std) != len(names):
                    raise ValueError("feature_names, mean and std must be non-empty and of one length")
                return spec
            if entry["kind"] == "images":
                spec = cls("images", int(entry["channels"]), int(entry["height"]), int(entry["width"]))
                spec = cls(**{**spec.__dict__, "light_on_dark": bool(entry.get("light_on_dark", False))})
                if spec.channels not in (1, 3) or spec.height < 1 or spec.width < 1:
                    raise ValueError("channels must be 1 or 3 and height, width positive")
                return spec
            raise ValueError(f"kind must be 'images' or 'features', not {entry['kind']!r:.40}")
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"model.json's `input` entry is malformed ({err}); retrain the run.") from None


def _floats(values: Sequence[Any]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
