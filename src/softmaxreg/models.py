"""The models of d2l §4.5: softmax regression, the concise way.

Examples:
    >>> model = SoftmaxRegression(num_outputs=10, lr=0.1)
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> model.hparams
    {'num_outputs': 10, 'lr': 0.1}
"""

from __future__ import annotations

import torch
from torch import nn

from softmaxreg.module import Classifier


class SoftmaxRegression(Classifier):
    """Softmax regression: ``Flatten`` then one fully connected layer (d2l §4.5).

    The input width is inferred at the first forward pass (``LazyLinear``); the loss is the
    numerically stable cross-entropy of `Classifier`.

    Args:
        num_outputs: number of classes.
        lr: learning rate of the SGD optimizer.
    """

    def __init__(self, num_outputs: int, lr: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch_size, num_outputs)`` of images ``(batch_size, 1, H, W)``."""
        return self.net(X)


class SoftmaxRegressionScratch(Classifier):
    """d2l §4.4's softmax regression with explicit parameters ``W`` and ``b``.

    Unlike the book's version, ``forward`` returns logits and the loss is the stable cross-entropy
    of `Classifier`, so large logits do not overflow.

    Args:
        num_inputs: input features (784 for 28×28 images).
        num_outputs: number of classes.
        lr: learning rate of the SGD optimizer.
        sigma: standard deviation of the initial weights.
    """

    def __init__(self, num_inputs: int, num_outputs: int, lr: float, sigma: float = 0.01) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.W = nn.Parameter(torch.normal(0, sigma, size=(num_inputs, num_outputs)))
        self.b = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch_size, num_outputs)`` of inputs reshaped to ``(batch_size, num_inputs)``."""
        return X.reshape((-1, self.W.shape[0])) @ self.W + self.b


MODELS = {"concise": SoftmaxRegression, "scratch": SoftmaxRegressionScratch}


def build_model(name: str, num_inputs: int, num_outputs: int, lr: float) -> Classifier:
    """Make the model the CLI calls ``name`` (``'concise'`` or ``'scratch'``).

    Examples:
        >>> type(build_model("scratch", num_inputs=784, num_outputs=10, lr=0.1)).__name__
        'SoftmaxRegressionScratch'
    """
    from softmaxreg._validate import check_choice

    check_choice("model", name, tuple(MODELS))
    if name == "scratch":
        return SoftmaxRegressionScratch(num_inputs, num_outputs, lr)
    return SoftmaxRegression(num_outputs, lr)
