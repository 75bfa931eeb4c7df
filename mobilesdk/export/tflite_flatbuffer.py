"""The ``.tflite`` flatbuffer as data: read it, add and read ``Model.metadata`` entries, name and count its ops.

Everything goes through the object API of the schema shipped with LiteRT (``ai_edge_litert``):
``ModelT`` with ``subgraphs[].operators[]``, ``subgraphs[].tensors[]``, ``buffers[]``, ``operatorCodes[]`` and
``metadata[]`` (name + buffer index). Names in the object API are ``bytes``; :func:`decode_text` makes them
``str``.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from typing import Any

from mobilesdk.errors import ExportError


def read_model(content: bytes) -> Any:
    """Unpack a ``.tflite`` flatbuffer into the schema's object API (``ModelT``)."""
    from ai_edge_litert.tools import flatbuffer_utils

    return flatbuffer_utils.read_model_from_bytearray(bytearray(content))


def write_model(model_t: Any) -> bytes:
    """Pack an object-API model (``ModelT``) back into ``.tflite`` bytes."""
    import numpy as np
    from ai_edge_litert.tools import flatbuffer_utils

    for buffer in model_t.buffers:
        # Buffers read from offsets (ai_edge_quantizer writes them past the flatbuffer) come back as bytearray
        # slices, which BufferT.Pack copies byte by byte in Python (seconds per MB); numpy packs in one go.
        if buffer.data is not None and not isinstance(buffer.data, np.ndarray):
            buffer.data = np.frombuffer(bytes(buffer.data), dtype=np.uint8)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model_t))


def decode_text(value: bytes | str | None) -> str:
    """A flatbuffer string (``bytes``, ``str`` or absent) as ``str``."""
    return value.decode("utf-8") if isinstance(value, bytes) else (value or "")


def read_metadata(content: bytes) -> dict[str, bytes]:
    """Every ``Model.metadata`` entry: name -> buffer bytes (the converter's entries included)."""
    model_t = read_model(content)
    result = {}
    for entry in model_t.metadata or []:
        data = model_t.buffers[entry.buffer].data
        result[decode_text(entry.name)] = bytes(data) if data is not None else b""
    return result


def add_metadata(content: bytes, metadata: Mapping[str, bytes]) -> bytes:
    """Append ``metadata`` as Model.metadata entries (object API round trip of the schema shipped with LiteRT)."""
    if not metadata:
        return content
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    model_t = read_model(content)
    existing = {decode_text(m.name) for m in model_t.metadata or []}
    clash = sorted(existing & set(metadata))
    if clash:
        raise ExportError(f"metadata names {clash} are already used by the converter")
    model_t.metadata = list(model_t.metadata or [])
    for name, value in metadata.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(bytes(value), dtype=np.uint8)
        model_t.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(model_t.buffers) - 1
        model_t.metadata.append(entry)
    return write_model(model_t)


def flatten_transpose_conv_biases(content: bytes) -> bytes:
    """Give every TRANSPOSE_CONV bias the 1-D shape (C,) that the TFLite kernel documents.

    litert-torch 0.10.0 emits the bias of a ConvTranspose2d followed by BatchNorm (the folded BN shift) as a
    (1, 1, 1, C) tensor. fp32 kernels accept it, but ai_edge_quantizer then quantizes that bias per axis along
    dimension 0 (size 1) with C scales, and the interpreter refuses the model ("num_scales must be 1 ...").
    Reshaping the constant to (C,) changes no data. Returns ``content`` unchanged when nothing needs it.
    """
    import numpy as np

    model_t = read_model(content)
    changed = False
    for subgraph in model_t.subgraphs:
        for op in subgraph.operators:
            inputs = list(op.inputs)
            if get_op_name(model_t, op) != "TRANSPOSE_CONV" or len(inputs) < 4 or inputs[3] < 0:
                continue
            bias = subgraph.tensors[inputs[3]]
            shape = [int(d) for d in bias.shape]
            if len(shape) > 1 and int(np.prod(shape)) == shape[-1]:
                bias.shape = np.asarray([shape[-1]], dtype=np.int32)
                if bias.shapeSignature is not None:
                    bias.shapeSignature = np.asarray([shape[-1]], dtype=np.int32)
                changed = True
    return write_model(model_t) if changed else content


def get_op_name(model_t: Any, op: Any) -> str:
    """TFLite builtin op name of ``op`` (e.g. ``CONV_2D``); custom ops as ``CUSTOM:<code>``."""
    from ai_edge_litert import schema_py_generated as schema

    code = model_t.operatorCodes[op.opcodeIndex]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == schema.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{decode_text(code.customCode)}"
    return _load_builtin_names().get(builtin, f"BUILTIN_{builtin}")


def count_ops(model_t: Any) -> dict[str, int]:
    """Op name (as :func:`get_op_name`) -> count, over all subgraphs."""
    return dict(Counter(get_op_name(model_t, op) for sg in model_t.subgraphs for op in sg.operators))


def is_constant(model_t: Any, subgraph: Any, tensor: int) -> bool:
    """Whether tensor index ``tensor`` of ``subgraph`` has data in the file (weights, biases)."""
    return model_t.buffers[subgraph.tensors[tensor].buffer].data is not None


@functools.cache
def _load_builtin_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
