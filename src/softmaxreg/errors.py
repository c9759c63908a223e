"""The exceptions softmaxreg raises on purpose.

Every error softmaxreg reports derives from :class:`SoftmaxRegError`; the CLI prints those on one
line, without a traceback, and exits with code 2 when the input is at fault (an option, a file, a
run folder, the data) and with code 1 for a :class:`MachineError`, when the machine failed to do
what should have worked (a full disk, a folder that cannot be written). Each message says what was
expected, what was found, and how to fix it.

Examples:
    >>> issubclass(IDXFormatError, SoftmaxRegError) and issubclass(IDXFormatError, ValueError)
    True
"""

from __future__ import annotations


class SoftmaxRegError(Exception):
    """Base class of every error softmaxreg raises because of its input."""


class MachineError(SoftmaxRegError, OSError):
    """The machine could not write what softmaxreg had to write (a full disk, no permission): the
    input was fine, and the same command works once the machine is fixed. The CLI exits with 1."""


class ConfigError(SoftmaxRegError, ValueError):
    """An argument or option has a value softmaxreg cannot use."""


class DataError(SoftmaxRegError):
    """A data file is missing, unreadable or not what it should be."""


class IDXFormatError(DataError, ValueError):
    """A file is not a well-formed IDX file of the expected kind."""


class ChecksumError(DataError, ValueError):
    """A data file parses but its content is not the official Fashion-MNIST file."""


class DataNotFoundError(DataError, FileNotFoundError):
    """Fashion-MNIST was found nowhere softmaxreg looked, and could not be downloaded."""


class DownloadError(DataError, OSError):
    """Every mirror failed to deliver a verified file."""


class CheckpointError(SoftmaxRegError, ValueError):
    """A checkpoint or run folder is missing, incomplete or does not fit the model."""


class ImageError(SoftmaxRegError, ValueError):
    """An image given to `predict` cannot be read or used."""


class TrainingDivergedError(SoftmaxRegError, FloatingPointError):
    """The loss or a gradient became NaN or infinite during training."""


class TrainingCheckError(SoftmaxRegError, AssertionError):
    """The classic book's end-of-training checks in ``train_ch3`` failed (the book asserts them).

    An ``AssertionError`` too, so code written for the book's bare ``assert`` still catches it; unlike
    an ``assert``, it is raised under ``python -O`` as well.
    """


class MissingExtraError(SoftmaxRegError, ImportError):
    """A feature needs an optional package (an extra, e.g. ``softmaxreg[onnx]``) that is not installed."""


class RunFolderInUseError(SoftmaxRegError):
    """Another process holds the run folder (see `softmaxreg.runs.lock`): one run folder has one writer."""


class DistributedError(SoftmaxRegError, RuntimeError):
    """Another process of a data-parallel run (``torchrun``) died or stopped answering.

    Attributes:
        silent: ``True`` in every process but the one that reports it, so that the user sees the
            cause once.
    """

    exit_code = 1  # the machine's or another process's fault, not the user's input

    def __init__(self, message: str, silent: bool = False) -> None:
        super().__init__(message)
        self.silent = silent
