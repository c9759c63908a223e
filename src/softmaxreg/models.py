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
