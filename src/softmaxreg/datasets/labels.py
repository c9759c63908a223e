"""Class names of Fashion-MNIST, in English (d2l's strings) and Vietnamese.

Examples:
    >>> text_labels([0, 9])
    ['t-shirt', 'ankle boot']
    >>> text_labels([0, 9], lang="vi")
    ['áo phông', 'bốt cổ ngắn']
"""

from __future__ import annotations

from collections.abc import Iterable

from softmaxreg._validate import check_choice
from softmaxreg.errors import ConfigError

LABELS = {
    "en": (
        "t-shirt", "trouser", "pullover", "dress", "coat",
        "sandal", "shirt", "sneaker", "bag", "ankle boot",
    ),
    "vi": (
        "áo phông", "quần dài", "áo len chui đầu", "váy", "áo khoác",
        "dép xăng-đan", "áo sơ mi", "giày thể thao", "túi xách", "bốt cổ ngắn",
    ),
}  # fmt: skip
LANGUAGES = tuple(LABELS)


def class_names(lang: str = "en") -> tuple[str, ...]:
    """The ten class names in ``lang`` (``'en'`` or ``'vi'``), indexed by label."""
    return LABELS[check_choice("lang", lang, LANGUAGES)]


def text_labels(indices: Iterable[int], lang: str = "en") -> list[str]:
    """Names of the classes ``indices`` (ints or a tensor of them) in ``lang``.

    Raises:
        ConfigError: an index is not in 0..9, or ``lang`` is unknown.
    """
    names = class_names(lang)
    result = []
    for index in indices:
        i = int(index)
        if not 0 <= i < len(names):
            raise ConfigError(f"A Fashion-MNIST label must be in 0..{len(names) - 1}; got {i}.")
        result.append(names[i])
    return result
