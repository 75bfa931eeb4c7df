"""Run a model file once on its host runtime (tests only): a session opened and closed around one call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mobilesdk.runtimes import runtime_for_file


def run_model(path: Path, inputs: Sequence[np.ndarray], threads: int | None = None) -> list[np.ndarray]:
    with runtime_for_file(path).open(path, threads) as session:
        return session.run([np.ascontiguousarray(x) for x in inputs])


def read_metadata(path: Path) -> dict[str, str]:
    return runtime_for_file(path).read_metadata(path)


def with_custom_op(src: Path, dst: Path) -> Path:
    """A copy of the ``.tflite`` ``src`` whose first op is a custom op no runtime has (``MobileSdkNoSuchOp``)."""
    from ai_edge_litert import schema_py_generated as schema

    from mobilesdk.export import tflite_flatbuffer as fb

    model = fb.read_model(Path(src).read_bytes())
    code = model.operatorCodes[model.subgraphs[0].operators[0].opcodeIndex]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "MobileSdkNoSuchOp"
    Path(dst).write_bytes(fb.write_model(model))
    return Path(dst)
