"""The exceptions rnnmem raises at its edges (files, options, user models).

Each message names the problem and the fix; the CLI catches `RnnmemError` once and
prints it in one or two lines.
"""


class RnnmemError(Exception):
    """Base class of every error rnnmem raises on purpose."""


class DataError(RnnmemError):
    """A corpus or data file cannot be used as given."""


class ConfigError(RnnmemError, ValueError):
    """A parameter or option has a value that cannot work."""


class ModelProtocolError(RnnmemError):
    """A model does not follow the protocol `assess` relies on."""


class TrainingError(RnnmemError):
    """Training could not produce a usable model (e.g. the loss diverged)."""


class StorageError(RnnmemError, OSError):
    """A file or store could not be written (disk full, permission denied); the message names the path and the fix."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)  # one argument: str() is the message alone, and the error pickles across processes
        self.errno = errno


class DataWarning(UserWarning):
    """Data that is legal but almost certainly a mistake (e.g. an ID column used as the label)."""


class OutputsWarning(UserWarning):
    """Files of an earlier run that rnnmem left in its output folder because it cannot prove it wrote them."""
