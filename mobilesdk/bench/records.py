"""What the benchmark history keeps of a run: the device it ran on, the conditions, and per candidate (one
runtime or artifact at one thread count) every sample with its statistics. Plain data; the store is
:mod:`mobilesdk.bench.history`.

A run measured on the host fills ``Device.cpu/cores/machine``; a phone fills serial, manufacturer, model, SoC
id and name, Android version, SDK and ABI, and each candidate's ``core_mask``; an emulated-arm64 run names its
core profile in ``Device.model``. ``unit`` is what samples count: ``ms``, or ``instructions`` for an
emulated-cost run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mobilesdk import __version__
from mobilesdk.bench.stats import Stats

if TYPE_CHECKING:
    from mobilesdk.bench.host import BenchResult

UNITS = ("ms", "instructions")
DEVICE_KINDS = ("host", "phone", "emulated-arm64")


@dataclass(frozen=True)
class Device:
    """What a run was measured on. Unused fields stay None (a host has no serial, a phone fills them all)."""

    kind: str  # host | phone | emulated-arm64
    cpu: str | None = None
    cores: int | None = None
    machine: str | None = None
    serial: str | None = None
    manufacturer: str | None = None
    model: str | None = None  # ro.product.model, or the emulated core profile
    soc_id: str | None = None  # ro.soc.model, e.g. SM8650
    soc_name: str | None = None  # e.g. Snapdragon 8 Gen 3
    android_version: str | None = None
    sdk: int | None = None
    abi: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # build fingerprint, board platform, python...

    @staticmethod
    def host(info: Mapping[str, Any]) -> Device:
        """From :func:`mobilesdk.bench.host.host_info`."""
        extra = {k: v for k, v in info.items() if k not in ("cpu", "cores", "machine")}
        return Device(
            "host", cpu=info.get("cpu"), cores=info.get("cores"), machine=info.get("machine"), extra=extra
        )

    @property
    def key(self) -> str:
        """Which runs come from the same device: a host by its CPU, a phone by its serial."""
        if self.kind == "host":
            return f"host:{self.machine}:{self.cpu}:{self.cores}"
        if self.serial:
            return f"{self.kind}:{self.serial}"
        return f"{self.kind}:{self.manufacturer}:{self.model}:{self.soc_id}"

    @property
    def label(self) -> str:
        if self.kind == "host":
            return f"host {self.cpu} ({self.cores} cores, {self.machine})"
        name = " ".join(str(p) for p in (self.manufacturer, self.model, self.soc_name or self.soc_id) if p)
        return f"{self.kind} {name}" + (f" ({self.serial})" if self.serial else "")

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **asdict(self)}


@dataclass
class StoredCandidate:
    """One candidate at one thread count; samples (in run order) and statistics in the run's unit."""

    name: str
    kind: str  # artifact | eager | onnxruntime | native
    runtime: str
    threads: int
    stats: Stats
    samples: list[float]
    runtime_version: str | None = None
    recipe: str | None = None
    file: str | None = None
    artifact_sha256: str | None = None
    bytes: int | None = None
    core_mask: str | None = None  # the CPUs a phone bench pinned the runner to (hex)
    load_ms: float | None = None
    ratios: dict[str, float] = field(default_factory=dict)  # p50 / a baseline's p50 in the same run
    stages: dict[str, Any] | None = None  # per-stage statistics (native runner)

    def to_json(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("stats", "samples")}
        return {**doc, **self.stats.to_json(), "samples": self.samples}


@dataclass
class StoredRun:
    model: str
    device: Device
    candidates: list[StoredCandidate]
    created_at: str  # UTC, ISO 8601
    unit: str = "ms"
    model_fingerprint: str | None = None
    mobilesdk_version: str = __version__
    plan: dict[str, Any] = field(default_factory=dict)  # warm-up, iterations or seconds, threads, --compare
    freqs_before: dict[str, Any] | None = None  # kHz per CPU; None where not readable
    freqs_after: dict[str, Any] | None = None
    temps_before: dict[str, Any] | None = None  # degrees C per sensor; None where not readable
    temps_after: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # what a later bench records beyond these columns
    id: int | None = None  # set once stored

    def to_json(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("device", "candidates")}
        return {
            **doc,
            "device": self.device.to_json(),
            "candidates": [c.to_json() for c in self.candidates],
        }


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def run_of(result: BenchResult, device: Device | None = None) -> StoredRun:
    """The record of a finished bench; ``device`` defaults to the host it ran on (``result.host``)."""
    before, after = result.state_before or {}, result.state_after or {}
    candidates = [
        StoredCandidate(
            name=r.name,
            kind=r.kind,
            runtime=r.runtime,
            threads=r.threads,
            stats=r.stats,
            samples=[float(s) for s in r.samples],
            runtime_version=r.runtime_version,
            recipe=r.recipe,
            file=r.file,
            artifact_sha256=r.sha256,
            bytes=r.bytes,
            load_ms=r.load_ms,
            core_mask=r.core_mask,
            ratios=dict(r.ratios),
            stages={k: v.to_json() for k, v in r.stages.items()} if r.stages else None,
        )
        for r in result.results
    ]
    return StoredRun(
        model=result.model,
        device=device or Device.host(result.host),
        candidates=candidates,
        created_at=result.finished_at or now_utc(),
        unit=result.unit,
        model_fingerprint=result.fingerprint,
        plan=result.to_json()["plan"],
        freqs_before=before.get("freqs_khz"),
        freqs_after=after.get("freqs_khz"),
        temps_before=before.get("temps_c"),
        temps_after=after.get("temps_c"),
        notes=list(result.notes),
    )
