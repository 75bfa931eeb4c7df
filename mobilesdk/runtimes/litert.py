"""LiteRT (``.tflite``) on the host (ai-edge-litert's interpreter, XNNPACK on CPU): sessions, metadata, export.

Untrusted files: a ``.tflite`` is a flatbuffer with the file identifier ``TFL3`` at offset 4; the header is
checked and the flatbuffer unpacked in Python (which raises, never crashes, on garbage) before the interpreter
sees it.

Outputs: the converter's single signature ``serving_default`` names inputs ``args_0..`` and outputs
``output_0..`` in the PyTorch order; the interpreter lists them sorted as strings (``output_10`` before
``output_2``), so sessions order them by index.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobilesdk.errors import first_line
from mobilesdk.export import EMBED_KEY
from mobilesdk.export.quiet import quiet
from mobilesdk.runtimes import ExportJob, RuntimeFileError, Session, SessionError, TensorSpec, read_header

if TYPE_CHECKING:
    import numpy as np

TFLITE_IDENTIFIER = b"TFL3"
SIGNATURE = "serving_default"
MANIFEST_METADATA = EMBED_KEY


def open_model(path: Path) -> tuple[bytes, Any]:
    """The file's bytes and its object-API model, after checking it is a readable ``.tflite`` flatbuffer
    (RuntimeFileError otherwise): one read, one unpack."""
    head = read_header(path, 8)
    if len(head) < 8 or head[4:8] != TFLITE_IDENTIFIER:
        raise RuntimeFileError(
            f"{path}: not a TFLite model (no '{TFLITE_IDENTIFIER.decode()}' flatbuffer header)"
        )
    content = Path(path).read_bytes()
    return content, read_model(content, path)


def check_model_file(path: Path) -> bytes:
    """The file's bytes, after checking it is a readable ``.tflite`` flatbuffer (RuntimeFileError otherwise)."""
    return open_model(path)[0]


def read_model(content: bytes, path: Path) -> Any:
    """The object-API model of ``content``; a malformed flatbuffer is a RuntimeFileError naming ``path``."""
    from mobilesdk.export.tflite_flatbuffer import read_model as unpack

    try:
        model = unpack(content)
    except Exception as exc:  # noqa: BLE001 — garbage surfaces as struct.error, IndexError, TypeError...
        raise RuntimeFileError(f"{path}: corrupt TFLite flatbuffer ({type(exc).__name__})") from None
    if not model.subgraphs:
        raise RuntimeFileError(f"{path}: the TFLite model has no subgraph")
    return model


def _index_key(name: str) -> tuple[int, str]:
    match = re.search(r"(\d+)$", name)
    return (int(match.group(1)) if match else sys.maxsize, name)


class LiteRTSession(Session):
    runtime = "litert"

    def __init__(self, path: Path, threads: int | None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        t0 = time.perf_counter()
        self.path = path
        self.threads = threads or 0  # 0: the interpreter's default
        content = check_model_file(path)
        with quiet() as log:
            try:
                self._interpreter = Interpreter(model_content=content, num_threads=threads)
                self._interpreter.allocate_tensors()  # resolves every op: an unknown custom op fails here
                failure = None
            except Exception as exc:  # noqa: BLE001 — unresolvable ops, bad tensors...
                failure = exc
        if failure is not None:
            lines = [line for line in log.text.splitlines() if line.strip()]
            raise RuntimeFileError(
                f"{path}: LiteRT cannot load it: {first_line(failure, 300)}"
                + (f" [{lines[-1][:200]}]" if lines else "")
            )
        signatures = self._interpreter.get_signature_list()
        if SIGNATURE in signatures:
            self._runner = self._interpreter.get_signature_runner(SIGNATURE)
            self._in_names = sorted(signatures[SIGNATURE]["inputs"], key=_index_key)
            self._out_names = sorted(signatures[SIGNATURE]["outputs"], key=_index_key)
            details = self._runner.get_input_details()
            out_details = self._runner.get_output_details()
            self.inputs = tuple(
                TensorSpec(n, tuple(int(d) for d in details[n]["shape"]), details[n]["dtype"].__name__)
                for n in self._in_names
            )
            self.outputs = tuple(
                TensorSpec(
                    n, tuple(int(d) for d in out_details[n]["shape"]), out_details[n]["dtype"].__name__
                )
                for n in self._out_names
            )
        else:  # a model without signatures (not converted by litert-torch): plain tensor indices
            self._runner = None  # tensors are allocated above
            ins, outs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
            self._in_index = [d["index"] for d in ins]
            self._out_index = [d["index"] for d in outs]
            self.inputs = tuple(
                TensorSpec(d["name"], tuple(int(x) for x in d["shape"]), d["dtype"].__name__) for d in ins
            )
            self.outputs = tuple(
                TensorSpec(d["name"], tuple(int(x) for x in d["shape"]), d["dtype"].__name__) for d in outs
            )
        self._closed = False
        self.load_seconds = time.perf_counter() - t0

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self._closed:
            raise SessionError(f"{self.path.name}: session is closed")
        self.check_inputs(inputs)
        with quiet() as log:  # the first invoke applies XNNPACK, which logs from C++
            try:
                if self._runner is not None:
                    result = self._runner(**dict(zip(self._in_names, inputs, strict=True)))
                    return [result[name].copy() for name in self._out_names]
                for index, value in zip(self._in_index, inputs, strict=True):
                    self._interpreter.set_tensor(index, value)
                self._interpreter.invoke()
                return [self._interpreter.get_tensor(i).copy() for i in self._out_index]
            except Exception as exc:  # noqa: BLE001
                failure = exc
        lines = [line for line in log.text.splitlines() if line.strip()]
        raise SessionError(
            f"{self.path.name}: LiteRT invoke failed: {first_line(failure, 300)}"
            + (f" [{lines[-1][:300]}]" if lines else "")
        )

    def close(self) -> None:
        self._closed = True
        self._runner = None
        self._interpreter = None


def open_session(path: Path, threads: int | None) -> LiteRTSession:
    return LiteRTSession(path, threads)


def read_metadata(path: Path) -> dict[str, str]:
    """Every ``Model.metadata`` entry that is UTF-8 text (name -> text); binary converter entries are skipped."""
    return metadata_of(open_model(path)[1], path)


def metadata_of(model: Any, path: Path) -> dict[str, str]:
    """:func:`read_metadata` of an unpacked model (``path`` names it in errors)."""
    from mobilesdk.export.tflite_flatbuffer import decode_text

    found = {}
    for entry in model.metadata or []:
        if entry.buffer < 0 or entry.buffer >= len(model.buffers):
            raise RuntimeFileError(
                f"{path}: metadata entry points at buffer {entry.buffer}, which does not exist"
            )
        data = model.buffers[entry.buffer].data
        raw = bytes(data) if data is not None else b""
        name = decode_text(entry.name) if isinstance(entry.name, bytes | str | None) else str(entry.name)
        try:
            found[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            if name == MANIFEST_METADATA:
                raise RuntimeFileError(f"{path}: the embedded '{name}' is not UTF-8 text") from None
    return found


def describe(path: Path) -> dict[str, Any]:
    from mobilesdk.export.tflite_flatbuffer import count_ops

    model = open_model(path)[1]
    with open_session(path, 1) as session:
        return {
            "inputs": [s.__dict__ for s in session.inputs],
            "outputs": [s.__dict__ for s in session.outputs],
            "ops": count_ops(model),
        }


def export(job: ExportJob) -> dict[str, Any]:
    from mobilesdk.export.litert import export_litert

    report = export_litert(
        job.model,
        job.example,
        job.path,
        precision="fp32" if job.recipe.quantize == "none" else job.recipe.quantize,
        channel_last_input=job.layout == "NHWC",
        calibration=job.calibration,
        keep_float_modules=job.keep_float,
        metadata={MANIFEST_METADATA: job.metadata.encode("utf-8")},
        split_large_kernels=job.split_large_kernels,
        weight_only_modules=list(job.weight_only),
    )
    return {
        "ops": dict(report.ops),
        "float_ops_in_int8": list(report.float_ops_in_int8),
        "rewrites": list(report.rewrites),
    }
