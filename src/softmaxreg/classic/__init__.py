"""The classic d2l API (d2l 0.17, d2l-zh 2.0): the names the Chinese edition's linear-networks chapter calls.

``load_data_fashion_mnist``, ``train_ch3``, ``sgd``, ``Animator`` ... reachable as ``d2l.<name>``
next to the 1.0 names. A thin layer over the 1.0 machinery, not a second framework: the data is
`FashionMNIST`'s (in-memory tensors, `TensorLoader`), the losses and accuracies are
`softmaxreg.functional`'s, ``Animator`` is a `LivePlot` like ``ProgressBoard``.

- ``linear``: §3.2–3.3 (``linreg``, ``squared_loss``, ``sgd``, ``load_array``, ``synthetic_data``);
- ``data``: §3.5 (``load_data_fashion_mnist``, ``get_fashion_mnist_labels``, ``get_dataloader_workers``);
- ``training``: §3.6 (``accuracy``, ``evaluate_accuracy``, ``train_epoch_ch3``, ``train_ch3``,
  ``predict_ch3``);
- ``animator``: ``Animator``; ``utils``: ``Accumulator``, ``Timer``.

May import: the core, ``book``, ``datasets`` and ``models``. Never ``runs`` or ``commands``.
"""
