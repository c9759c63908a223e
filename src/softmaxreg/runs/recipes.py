"""Training recipes (no torch import: the CLI reads them for ``--help``).

``seed`` is the book's configuration. ``best`` (``softmaxreg train --recipe best``) is the most
accurate linear model we found: the same model — ``Flatten`` + ``Linear`` on the raw pixels, nothing
else — trained differently:

- SGD with Nesterov momentum 0.9 and learning rate 0.3, decayed to 0 by a cosine over all steps;
- weight decay 1e-4;
- input dropout 0.05 while training (`callbacks.InputDropout`; the saved model has no dropout);
- 20 epochs of batch 256 (about 3 s on a 2-core CPU).

Every choice was made by 5-fold cross-validation on the 60,000 *training* images; the test set was
only read to report the result (0.8462, against 0.836 for ``seed``; seeds 0–4 give 0.8457–0.8473).
Cross-validated accuracies (standard error about 0.0014, but the differences between variants are
paired: same folds), with momentum 0.9 and a cosine decay unless said otherwise:

====================================================================  ======
variant                                                               CV acc
====================================================================  ======
raw pixels, lr 0.3, wd 1e-4, 20 ep., input dropout 0.05 (``best``)    0.8592
  same, seeds 1 / 2                                                    0.8591 / 0.8594
  same, window offsets drawn from torch's generator (seeds 0 / 1 / 2)  0.8596 / 0.8593 / 0.8589
    and input dropout 0.025 / 0.1                                      0.8591 / 0.8588
    and wd 0                                                           0.8596
  same, a fresh mask per batch (F.dropout, 3x slower)                  0.8592
    and 15 epochs                                                      0.8588
    and 10 epochs, input dropout 0.1 / 0.3                             0.8573 / 0.8513
raw pixels, lr 0.3, wd 1e-4, 10 epochs (``best`` until the above)      0.8579
  same, seeds 1 / 2                                                    0.8583 / 0.8572
  same, 20 epochs (seeds 0 / 1)                                        0.8572 / 0.8577
raw pixels, lr 0.1, wd 1e-4, 10 epochs / lr 0.3, wd 0, 20 epochs       0.857
other folds (``best`` scores 0.8572 on them): raw pixels, lr 0.3,
  20 epochs, wd 1e-4                                                   0.8572
  20 epochs, wd 3e-5                                                   0.8566
  20 epochs, wd 2e-4                                                   0.8578
  lr 0.6, batch 512, wd 1e-4, 20 epochs                                0.8561
standardised pixels (x − mean)/(std + 0.2), lr 0.1, wd 0–1e-3, 5 ep.   0.857
  same, std floor 0.05 / 0.5                                           0.856 / 0.853
  same, 3 epochs                                                       0.856
  same, wd 3e-3                                                        0.855
  same, tail-averaged iterates instead of the cosine decay             0.857
  same, L2 penalty of the raw-pixel weights (preconditioned solve)     0.856
  same, label smoothing 0.1                                            0.851
  same, 1-pixel random shifts as augmentation                          0.833
  same, horizontal flips as augmentation                               0.827
====================================================================  ======

Augmentations lose because the garments are aligned and a linear template cannot be shift- or
flip-invariant. Input dropout is the one change that wins for every seed, and on 13 of the 15
(fold, seed) pairs: a small, consistent gain of about 0.0014. To second order, dropout on a linear
model is an L2 penalty whose weight for each pixel grows with that pixel's mean square on the
examples the model is unsure of (Wager et al., 2013). It needs the longer run; longer training
alone does not help. Everything else sits on a plateau that cross-validation cannot separate.
Full-batch L-BFGS to convergence reaches the same plateau 100× slower.

Examples:
    >>> RECIPES["best"].schedule, RECIPES["seed"] == TrainConfig()
    ('cosine', True)
"""

from __future__ import annotations

from softmaxreg.runs.config import TrainConfig

RECIPES = {
    "seed": TrainConfig(),
    "best": TrainConfig(epochs=20, lr=0.3, batch_size=256, momentum=0.9, nesterov=True, weight_decay=1e-4,
                        schedule="cosine", input_dropout=0.05),
}  # fmt: skip
RECIPE_CHOICES = tuple(RECIPES)
