"""Error classes raised by the library.

The CLI turns every :class:`MobileSDKError` into a one-line message and a non-zero exit; anything else is a bug
and keeps its traceback.
"""


def first_line(exc: BaseException | str, limit: int | None = None, *, typed: bool = False) -> str:
    """The first non-blank line of an exception's message (or of a text), cut to ``limit`` characters; with
    ``typed``, prefixed by the exception's type (``ValueError: ...``). An exception without a message gives
    its type name, an empty text gives ``""``."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0][:limit] if lines else ""
    if isinstance(exc, BaseException):
        name = type(exc).__name__
        return f"{name}: {text}" if typed and text else (text or name)
    return text


class MobileSDKError(Exception):
    """Base class for every error a user can cause (bad card, bad checkpoint, bad flag...)."""


class CardError(MobileSDKError):
    """A model card is missing, malformed or inconsistent."""


class UnknownModelError(MobileSDKError):
    """A model id is not in the zoo."""


class CodecError(MobileSDKError):
    """A codec got outputs it cannot decode (wrong shape, wrong keypoint count, bad parameters)."""


class ArchitectureError(MobileSDKError):
    """An architecture name is unknown or its hyperparameters are invalid."""


class CheckpointError(MobileSDKError):
    """A checkpoint cannot be read or does not fit the model."""


class ExportError(MobileSDKError):
    """Export or lowering to a runtime failed (unsupported op, incomplete delegation...)."""


class VerifyError(MobileSDKError):
    """An artifact failed a parity gate or cannot be verified."""
