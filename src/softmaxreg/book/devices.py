"""Devices, with d2l's helper names (`cpu`, `gpu`, `num_gpus`, `try_gpu`, `try_all_gpus`).

Examples:
    >>> cpu()
    device(type='cpu')
    >>> resolve_device("cpu")
    device(type='cpu')
"""

from __future__ import annotations

from typing import Any

import torch

from softmaxreg.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def cpu() -> torch.device:
    """The CPU device."""
    return torch.device("cpu")


def gpu(i: int = 0) -> torch.device:
    """The ``i``-th CUDA device."""
    return torch.device(f"cuda:{i}")


def num_gpus() -> int:
    """The number of CUDA devices available."""
    return torch.cuda.device_count()


def try_gpu(i: int = 0) -> torch.device:
    """``gpu(i)`` if it exists, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


def try_all_gpus() -> list[torch.device]:
    """All CUDA devices, or ``[cpu()]`` when there are none."""
    return [gpu(i) for i in range(num_gpus())] or [cpu()]


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(spec: Any = "auto") -> torch.device:
    """Turn ``'auto'``, ``'cpu'``, ``'cuda[:i]'``, ``'mps'`` or a device into an available device.

    ``'auto'`` picks CUDA, then Apple's MPS, then the CPU.

    Raises:
        ConfigError: the device is unknown or not available on this machine.
    """
    if isinstance(spec, torch.device):
        device = spec
    elif spec == "auto":
        return gpu(0) if num_gpus() else torch.device("mps") if _mps_available() else cpu()
    else:
        try:
            device = torch.device(spec)
        except (RuntimeError, TypeError):
            raise ConfigError(f"`device` must be one of {', '.join(DEVICE_CHOICES)}; got {spec!r}.") from None
    if device.type not in DEVICE_CHOICES:  # torch knows meta, xpu, ...: softmaxreg trains on none of them
        raise ConfigError(f"`device` must be one of {', '.join(DEVICE_CHOICES)}; got {str(spec)!r}.")
    if device.type == "cuda" and (device.index or 0) >= num_gpus():
        raise ConfigError(
            f"`device` {str(device)!r} is not available: this machine has {num_gpus()} CUDA device(s). "
            "Use --device cpu (or auto)."
        )
    if device.type == "mps" and not _mps_available():
        raise ConfigError("`device` 'mps' is not available on this machine. Use --device cpu (or auto).")
    return device
