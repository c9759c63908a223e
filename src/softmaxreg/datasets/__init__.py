"""Fashion-MNIST from files to tensors: find, verify, download, parse (IDX), cache, label.

Parsing never downloads and downloading never parses. `FashionMNIST` is the d2l ``DataModule``
built on them.

May import: the core and ``book`` (``DataModule``, the plotting helpers). Never ``runs`` or
``commands``.
"""
