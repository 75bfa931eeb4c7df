"""fp16/int8 for LiteRT: ai_edge_quantizer recipes, keep-float op scopes and the report of float ops left.

Recipes
    :func:`build_fp16_recipe`: FLOAT_CASTING of the weights of every supported op to float16, with an explicit
    DEQUANTIZE in front (compute stays float). :func:`build_int8_recipe`: ai_edge_quantizer's static w8a8
    recipe, with the model inputs/outputs and the keep-float op scopes set to NO_QUANTIZE.

Keep-float modules
    Ops are attributed to a module through the converter's tensor names, which carry the module hierarchy as
    ``<RootClass>/<Class>_<attr>/<Class>_<attr>...``. An op belongs to module ``a.b`` when one of its output
    tensors, or one of its constant inputs (weights, bias), is named under that module. (Graph-output tensors
    are renamed by the converter, so the constant inputs are what identify a head's last layer.)

Module paths
    Paths are those of the module that was converted. With ``channel_last_input`` that is the user's model
    wrapped by ``litert_torch.to_channel_last_io`` under the attribute :data:`WRAPPED`; :func:`to_user_path`
    maps such a path back into the user's model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mobilesdk.errors import ExportError
from mobilesdk.export.tflite_flatbuffer import decode_text, get_op_name, is_constant, read_model

if TYPE_CHECKING:
    import torch

WRAPPED = "wrapped"  # attribute under which litert_torch.to_channel_last_io keeps the model
_QDQ_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})


def to_user_path(path: str, channel_last_input: bool) -> str:
    """Module path inside the converted graph -> path inside the user's model (drops the NHWC wrapper)."""
    if channel_last_input and (path == WRAPPED or path.startswith(WRAPPED + ".")):
        return path[len(WRAPPED) + 1 :]
    return path


def build_fp16_recipe() -> list[dict[str, Any]]:
    from ai_edge_quantizer import algorithm_manager, qtyping, recipe_manager

    manager = recipe_manager.RecipeManager()
    manager.add_quantization_config(
        regex=".*",
        operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
        op_config=qtyping.OpQuantizationConfig(
            weight_tensor_config=qtyping.TensorQuantizationConfig(
                num_bits=16, dtype=qtyping.TensorDataType.FLOAT
            ),
            compute_precision=qtyping.ComputePrecision.FLOAT,
            explicit_dequantize=True,
        ),
        algorithm_key=algorithm_manager.AlgorithmName.FLOAT_CASTING,
    )
    return manager.get_quantization_recipe()


# Ops kept in float wherever they are: XNNPACK's LiteRT delegate has no int8 HARD_SWISH and takes no int8 RELU
# that is not fused into the conv before it (the converter writes PReLU as RELU, MUL, SUB), so each one cut the
# int8 graph into another delegate partition with TFLite's reference kernels in between (mobilehumanpose-xs:
# 42 partitions; mobileposenet-256x192: 18). In float they join the partition between a DEQUANTIZE and a
# QUANTIZE (no weights: the file does not grow).
FLOAT_OP_TYPES = ("RELU", "HARD_SWISH")


def build_int8_recipe(
    keep_float_regexes: Sequence[str], weight_only_regexes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Static w8a8 everywhere, float for ``keep_float_regexes`` and the op types of :data:`FLOAT_OP_TYPES`,
    int8 weights + float activations for ``weight_only_regexes`` (dynamic range: int8 weights, the op
    quantizes its input at run time; XNNPACK's qd8-f32-qc8w kernels). Scopes are op-output regexes from
    :func:`build_keep_float_regexes`.
    """
    from ai_edge_quantizer import algorithm_manager, qtyping, recipe, recipe_manager

    manager = recipe_manager.RecipeManager()
    manager.load_quantization_recipe(recipe.static_wi8_ai8())
    no_quantize = algorithm_manager.AlgorithmName.NO_QUANTIZE
    # Model inputs/outputs keep their dtype: QUANTIZE/DEQUANTIZE ops at the boundary instead of int8 I/O.
    for op in (qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT):
        manager.add_quantization_config(".*", op, qtyping.OpQuantizationConfig(), no_quantize)
    for name in FLOAT_OP_TYPES:
        manager.add_quantization_config(".*", qtyping.TFLOperationName[name], None, no_quantize)
    for regex in keep_float_regexes:  # later entries win in ai_edge_quantizer
        manager.add_quantization_config(regex, qtyping.TFLOperationName.ALL_SUPPORTED, None, no_quantize)
    for regex in weight_only_regexes:
        manager.add_dynamic_config(regex, qtyping.TFLOperationName.FULLY_CONNECTED, 8)
    return manager.get_quantization_recipe()


def build_keep_float_regexes(content: bytes, module: torch.nn.Module, keep: Sequence[str]) -> list[str]:
    """Exact ai_edge_quantizer op-scope regexes for the ops of the ``keep`` modules (and their children)."""
    if not keep:
        return []
    model_t = read_model(content)
    prefixes = _map_module_prefixes(module)
    regexes, matched = [], set()
    for subgraph in model_t.subgraphs:
        for op in subgraph.operators:
            owner = _find_op_module(_list_op_names(model_t, subgraph, op), prefixes)
            hit = next(
                (k for k in keep if owner is not None and (owner == k or owner.startswith(k + "."))), None
            )
            if hit is None:
                continue
            matched.add(hit)
            # ai_edge_quantizer's scope: output tensor names joined by ";" plus a trailing ";", cut at 10,000.
            outputs = [decode_text(subgraph.tensors[i].name) for i in op.outputs if i >= 0]
            scope = "".join(name + ";" for name in outputs)[:10_000]
            regexes.append("^" + re.escape(scope) + "$")
    missing = [k for k in keep if k not in matched]
    if missing:
        raise ExportError(
            f"keep_float_modules {missing}: no op of the converted model comes from these modules"
        )
    return regexes


def list_float_ops(model_t: Any, module: torch.nn.Module, channel_last_input: bool) -> list[str]:
    """Ops (not QUANTIZE/DEQUANTIZE) whose non-constant inputs or outputs are float32, with their module."""
    from ai_edge_litert import schema_py_generated as schema

    prefixes = _map_module_prefixes(module)
    found = []
    for subgraph in model_t.subgraphs:
        for op in subgraph.operators:
            name = get_op_name(model_t, op)
            if name in _QDQ_OPS:
                continue
            activations = [
                i for i in (*op.inputs, *op.outputs) if i >= 0 and not is_constant(model_t, subgraph, i)
            ]
            if not any(subgraph.tensors[i].type == schema.TensorType.FLOAT32 for i in activations):
                continue
            owner = _find_op_module(_list_op_names(model_t, subgraph, op), prefixes)
            path = to_user_path(owner, channel_last_input) if owner else ""
            found.append(f"{name}@{path}" if path else name)
    return found


def _map_module_prefixes(root: torch.nn.Module) -> dict[str, str]:
    """Converter tensor-name prefix (``Root/Cls_attr/...``) -> dotted module name, for every submodule."""

    def fullname(cls: type) -> str:
        return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"

    prefixes = {}
    for name, _ in root.named_modules():
        parts, node = [fullname(type(root))], root
        for attr in name.split(".") if name else []:
            node = node.get_submodule(attr)
            parts.append(f"{fullname(type(node))}_{attr}")
        prefixes["/".join(parts)] = name
    return prefixes


def _find_op_module(names: Sequence[str], prefixes: Mapping[str, str]) -> str | None:
    """Deepest module whose prefix starts one of the (``;``-separated) location names, or None."""
    best: str | None = None
    for name in names:
        for loc in name.split(";"):
            for prefix, module in prefixes.items():
                if (loc == prefix or loc.startswith(prefix + "/")) and (
                    best is None or len(module) > len(best)
                ):
                    best = module
    return best


def _list_op_names(model_t: Any, subgraph: Any, op: Any) -> list[str]:
    """Names that place an op in the module tree: its outputs and its constant inputs."""
    names = [decode_text(subgraph.tensors[i].name) for i in op.outputs if i >= 0]
    for i in op.inputs:
        if i >= 0 and is_constant(model_t, subgraph, i):
            names.append(decode_text(subgraph.tensors[i].name))
    return names
