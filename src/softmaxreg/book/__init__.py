"""The d2l 1.0 API that the book's code calls as ``d2l.<name>``: what to compute and how to train it.

``Module``/``Classifier`` (what to compute), ``DataModule``/``TensorLoader`` (where data comes
from), ``Trainer`` (when and how), ``ProgressBoard`` and the plotting helpers, the tensor aliases,
the chapter 3 models and data, devices, and the lean ``SGD`` the Trainer uses. The private helpers
``_metric_log`` (exact metric means) and ``_display`` (where figures go) serve only this layer
(and the figures of ``runs``).

``distributed`` is data parallelism under ``torchrun``: the few points where the Trainer's loop talks
to the other processes (a no-op outside torchrun); ``runs`` and ``commands`` ask it which process
they are in.

May import: the core at the top of the package (``errors``, ``functional``, ``numerics``,
``_validate``, ``_atomic``) and ``interop`` (the Trainer's TensorBoard logger, imported only when
asked for). Never ``datasets``, ``models``, ``runs`` or ``commands``.
"""
