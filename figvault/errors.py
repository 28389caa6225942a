"""Errors figvault reports to people: each carries a one-line reason."""

from __future__ import annotations


class FigvaultError(Exception):
    """Base class; ``str(err)`` is the one-line reason shown to the user."""


class ExtractionError(FigvaultError):
    """One document could not be read. The batch goes on."""


class UnsupportedFileError(ExtractionError):
    pass


class UnsafeFileError(ExtractionError):
    """Zip bombs, decompression bombs, oversized files."""


class ModelUnavailableError(FigvaultError):
    """Model weights are missing (typically offline); the message says what and how to provide it."""


class StoreError(FigvaultError):
    pass


class VersionMismatchError(StoreError):
    """The store serves vectors of another embedding_version than the configured encoders produce."""


def one_line(exc: BaseException) -> str:
    """The first non-blank line of ``str(exc)``, else the exception's type name: a one-line reason."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def typed_line(exc: BaseException) -> str:
    """``"TypeName: first line"``; the type name alone when the exception has no message."""
    name, first = type(exc).__name__, one_line(exc)
    return name if first == name else f"{name}: {first}"
