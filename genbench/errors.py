"""Exceptions that the command line turns into one-line messages and exit codes.

A ``UsageError`` is the user's to fix (a name, an option, a path): the CLI exits with 2.
Everything else that genbench raises on purpose derives from ``GenbenchError`` and exits with 1.
"""

from __future__ import annotations

from collections.abc import Iterable


class GenbenchError(Exception):
    """An expected failure with a message a user can act on."""


class UsageError(GenbenchError, ValueError):
    """Bad input from the user: an unknown name, a malformed or out-of-range option."""


class UnknownNameError(UsageError, KeyError):
    """A name that is not in a registry; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: Iterable[str], alternative: str = ""):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}{alternative}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.args[0]


class DataMissingError(UsageError, FileNotFoundError):
    """A dataset's files are not where genbench looked, and downloading was not allowed."""


class DataFormatError(UsageError):
    """A dataset file that genbench cannot use: unreadable, corrupt, or inconsistent with the others."""


class CapabilityError(GenbenchError, NotImplementedError):
    """A model was asked for something it does not declare (a GAN's likelihood, say)."""


class TrainingFailed(GenbenchError, RuntimeError):
    """Training could not go on: a non-finite loss, divergence, out of memory."""


class InvalidSamples(GenbenchError, ValueError):
    """A model's samples that no metric may compare with the data: NaN or infinite values, the wrong shape or
    type, values outside the data's range."""


class CheckpointError(GenbenchError):
    """A checkpoint that is corrupt, truncated or does not match the model it is loaded into."""


def first_sentence(error: BaseException) -> str:
    """The first sentence of an exception's message (library messages can run to paragraphs)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0].split(". ")[0]
