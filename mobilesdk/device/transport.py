"""The transport interface: what the bench needs from a place that runs commands on a phone.

``adb`` (mobilesdk.device.adb) is the one implementation today. A device farm (Qualcomm AI Hub profile jobs,
Firebase Test Lab, AWS Device Farm) would implement the same five calls; nothing above this module may call
``adb`` itself. docs/device-transport.md describes the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mobilesdk.errors import MobileSDKError


class DeviceError(MobileSDKError):
    """A phone cannot be reached or used as asked (the message says what to do)."""


class DeviceDisconnected(DeviceError):
    """The connection to the phone dropped while a command ran: its result is unknown."""


class DeviceStorageFull(DeviceError):
    """The phone has no space left where we write."""


@dataclass(frozen=True)
class RunResult:
    """A finished device command. ``exit_code`` is the command's own (128 + N when killed by signal N)."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str  # empty when the transport merges the streams (adb without shell_v2)
    seconds: float

    @property
    def signal(self) -> int | None:
        """The signal that killed the command, if it died by one (shell convention: exit 128 + N)."""
        return self.exit_code - 128 if 128 < self.exit_code < 128 + 65 else None


Progress = Callable[[int, int], None]  # (bytes done, bytes total)


class Transport(Protocol):
    """One phone. Every call has a timeout and raises :class:`DeviceError` (or a subclass) on failure."""

    serial: str

    def run(self, args: Sequence[str], *, timeout: float = 60.0, stdin: bytes | None = None) -> RunResult:
        """Run ``args`` (an argv: each element reaches the phone as one argument) and prove it finished."""
        ...

    def push(
        self, local: Path, remote: str, *, timeout: float = 600.0, progress: Progress | None = None
    ) -> None:
        """Copy a local file to ``remote`` (a full path on the phone), keeping its mode; verified by size."""
        ...

    def pull(self, remote: str, local: Path, *, timeout: float = 600.0) -> None:
        """Copy ``remote`` from the phone to ``local`` (written to a temp file and renamed)."""
        ...

    def read_text(self, path: str, *, timeout: float = 30.0) -> str | None:
        """A small text file of the phone (sysfs, procfs), or None when it is absent or unreadable."""
        ...

    def properties(self) -> dict[str, str]:
        """The phone's system properties (``getprop``)."""
        ...
