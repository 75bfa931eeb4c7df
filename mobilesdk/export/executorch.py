"""ExecuTorch export through XNNPACK: fp32 or PT2E int8, delegation report, host runtime, embedded metadata.

Stages (each failure is an :class:`~mobilesdk.errors.ExportError` naming the stage and, where there is one,
the op and the module path it came from)::

    torch.export.export
      -> [int8: prepare_pt2e(XNNPACKQuantizer, symmetric per-channel) -> calibrate -> convert_pt2e -> re-export]
      -> to_edge_transform_and_lower(partitioner=[XnnpackPartitioner()], constant_methods=metadata)
      -> delegation check -> to_executorch() -> load check (``forward`` initialises on the host runtime,
         because XNNPACK builds its graph only at load and can refuse it there) -> atomic write to ``out_path``

Full delegation
    ``require_full_delegation=True`` fails when a compute op stays on the portable CPU kernels; layout/dtype
    ops at the graph boundary (:data:`BOUNDARY_OPS`, e.g. the uint8 -> float cast of camera input) are
    tolerated. The rules and the report: :mod:`mobilesdk.export.executorch_delegation`.

Output
    Exporting is quiet (torch's ``FutureWarning``s, the runtime's load-time logs); failures still raise, with
    the runtime's log in the message when it names the reason. Running and reading ``.pte`` files:
    :mod:`mobilesdk.runtimes.executorch` (sessions).

Metadata scheme (``metadata`` -> ``constant_methods``)
    Each ``metadata`` key ``K`` becomes an extra method of the program, named exactly ``K``, that takes no
    input and returns one ExecuTorch ``String`` EValue holding the value (UTF-8). Keys must be identifiers
    (``[A-Za-z_][A-Za-z0-9_]*``) other than ``forward``. The project's manifest lives under
    :data:`MANIFEST_METHOD` (``"mobilesdk_manifest"``). Reading it back:

    - Python: ``mobilesdk.runtimes.get_runtime('executorch').read_metadata(path)`` or
      ``Runtime.get().load_program(p).load_method("mobilesdk_manifest").execute([])[0]`` (a ``str``).
    - Android (Kotlin): ``Module.load(path).execute("mobilesdk_manifest")[0].toStr()``.
    - C++: ``module.execute("mobilesdk_manifest")`` -> ``outputs[0].toString()``.

    Nothing else is needed: the value is a constant in the ``.pte`` flatbuffer, so reading it loads no
    weights and initialises no delegate.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from mobilesdk.errors import ExportError, first_line
from mobilesdk.export import EMBED_KEY
from mobilesdk.export.executorch_delegation import (
    BOUNDARY_OPS,
    LoweringReport,
    build_lowering_report,
    describe_blocking_ops,
)
from mobilesdk.export.executorch_runtime import check_initialises
from mobilesdk.export.quiet import quiet
from mobilesdk.export.rewrites import check_module_names

if TYPE_CHECKING:
    import torch

__all__ = [
    "BOUNDARY_OPS",
    "MANIFEST_METHOD",
    "QUANTIZE_CHOICES",
    "LoweringReport",
    "export_executorch",
]

MANIFEST_METHOD = EMBED_KEY
QUANTIZE_CHOICES = ("int8", "int8-full")
_METHOD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def export_executorch(
    model: torch.nn.Module,
    example_input: torch.Tensor,
    out_path: Path,
    *,
    quantize: str | None = None,
    calibration: Sequence[torch.Tensor] = (),
    keep_float_modules: Sequence[str] = (),
    metadata: Mapping[str, str] = MappingProxyType({}),
    require_full_delegation: bool = True,
    split_large_kernels: bool = True,
    weight_only_modules: Sequence[str] = (),
) -> LoweringReport:
    """Export ``model`` for ExecuTorch + XNNPACK and write the ``.pte`` to ``out_path``.

    ``example_input`` fixes the (static) input shape and dtype, e.g. float32 ``(1, 3, H, W)`` or uint8
    ``(1, H, W, 3)``. ``quantize``: ``None`` (fp32), ``"int8"`` (PT2E static int8, ``keep_float_modules``
    left in float) or ``"int8-full"`` (everything XNNPACK can quantize). ``calibration``: batches shaped like
    ``example_input``, required for int8. ``split_large_kernels``: replace depthwise convs of more than 25 taps
    by their exact split form (:mod:`mobilesdk.export.large_kernel`; listed in ``report.rewrites``). The
    model is exported from an eval-mode deep copy; ``model`` itself is not changed.
    ``weight_only_modules`` (int8 recipes): dotted names whose Linear/Conv layers get int8 per-output-channel
    weights with float activations (XNNPACK's dynamically quantized qd8-f32-qc8w kernels: the activation is
    quantized per call, inside the op) instead of static int8 or float; they win over ``keep_float_modules``.
    """
    _check_arguments(example_input, quantize, calibration, metadata)
    out_path = Path(out_path)
    keep = tuple(keep_float_modules) if quantize == "int8" else ()
    if quantize is not None:  # names of the caller's model (the rewrites keep module paths)
        check_module_names(model, keep, "keep_float_modules")
        check_module_names(model, weight_only_modules, "weight_only_modules")
    model, rewrites = _prepare_module(model, quantize, split_large_kernels)
    with quiet():  # torch.export and the edge passes warn (FutureWarning); errors still propagate
        edge = _export_and_lower(
            model,
            example_input,
            quantize,
            calibration,
            keep,
            metadata,
            tuple(weight_only_modules),
        )
        report, locations = build_lowering_report(edge.exported_program())
        report = dataclasses.replace(report, rewrites=rewrites)
        if require_full_delegation and report.blocking_ops:
            raise ExportError(describe_blocking_ops(report.blocking_ops, locations))
        buffer = _to_executorch(edge)
    check_initialises(buffer)
    _write_atomically(out_path, buffer)
    return report


# -- stages -----------------------------------------------------------------------------------------------


def _prepare_module(model: torch.nn.Module, quantize: str | None, split_large_kernels: bool):
    """An eval-mode deep copy with the export rewrites applied, and the records of those rewrites.

    The grouped-deconv rewrite runs for fp32 only: XNNPACK runs a grouped ConvTranspose2d group by group
    ("Subconv2D"; MobilePoseNet's two depthwise 4x4/s2 upsamples took 65 of its 87 ms here, 75 -> 34 ms with
    the rewrite, 1 thread); int8 keeps the ConvTranspose2d the quantizer is known to lower whole."""
    from mobilesdk.export.rewrites import prepare_module

    return prepare_module(
        model,
        "fp32" if quantize is None else "int8",
        grouped_deconv=quantize is None,
        split_large_kernels=split_large_kernels,
    )


def _export_and_lower(
    model: torch.nn.Module,
    example_input: torch.Tensor,
    quantize: str | None,
    calibration: Sequence[torch.Tensor],
    keep_float_modules: Sequence[str],
    metadata: Mapping[str, str],
    weight_only_modules: Sequence[str] = (),
):
    """torch.export [-> PT2E int8 -> re-export] -> XNNPACK lowering of the eval-mode ``model``."""
    if quantize is None:
        program = _export(model, example_input)
    else:
        program = _quantize(model, example_input, calibration, keep_float_modules, weight_only_modules)
    return _lower(program, dict(metadata))


def _export(model: torch.nn.Module, example_input: torch.Tensor):
    import torch

    try:
        return torch.export.export(model, (example_input,))
    except Exception as exc:
        raise ExportError(f"torch.export failed: {_describe_export_failure(exc)}") from exc


def _quantize(
    model: torch.nn.Module,
    example_input: torch.Tensor,
    calibration: Sequence[torch.Tensor],
    keep_float_modules: Sequence[str],
    weight_only_modules: Sequence[str] = (),
):
    """PT2E static int8 for XNNPACK; returns the re-exported quantized program (q/dq around int8 ops).

    ``weight_only_modules`` get the dynamic config (int8 per-channel weights; the activation quantized at run
    time inside XNNPACK's qd8-f32-qc8w linear/conv), even when inside a ``keep_float_modules`` entry.
    """
    import torch
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import get_symmetric_quantization_config
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = _pad_sharing_quantizer_class()().set_global(
        get_symmetric_quantization_config(is_per_channel=True)
    )
    dynamic = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    for name in weight_only_modules:  # the global config skips modules named here
        quantizer.set_module_name(name, dynamic)
    if keep_float_modules:
        # set_module_name(name, None) asserts in this version; a filter that refuses every node under the
        # kept modules leaves their ops unannotated, so no observer, hence no q/dq, is placed on them.
        quantizer.set_filter_function(_outside_modules(keep_float_modules, weight_only_modules))
    graph = _untie_shared_parameters(_export(model, example_input).module())
    try:
        prepared = prepare_pt2e(graph, quantizer)
        with torch.no_grad():
            for batch in calibration:
                prepared(batch)
        converted = convert_pt2e(prepared)
    except Exception as exc:
        raise ExportError(f"int8 quantization (PT2E) failed: {first_line(exc)}") from exc
    return _export(converted, example_input)


@functools.cache  # a class built on first use: executorch is a heavy import
def _pad_sharing_quantizer_class():
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer_utils import propagate_annotation

    class PadSharingQuantizer(XNNPACKQuantizer):
        """XNNPACKQuantizer + zero pads that share their input's qparams (as slices and ReLUs already do).

        Why: the quantizer leaves ``constant_pad_nd`` unannotated, so a pad between int8 ops (the split form
        of a large depthwise conv: pad once, slice, small convs) ends up with input and output qparams that
        differ, and XNNPACK refuses its static constant pad at load (``xnn_status_invalid_parameter``). A
        zero pad is exact in int8 with shared qparams (0.0 is the zero point).
        """

        def annotate(self, model):
            model = super().annotate(model)
            _share_pad_qparams(model)
            propagate_annotation(model)  # again: slices after a pad can share the pad's qparams now
            return model

    return PadSharingQuantizer


def _share_pad_qparams(graph: torch.fx.GraphModule) -> None:
    import torch
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, SharedQuantizationSpec

    key = "quantization_annotation"
    pads = (torch.ops.aten.pad.default, torch.ops.aten.constant_pad_nd.default)
    for node in graph.graph.nodes:
        if node.op != "call_function" or node.target not in pads or key in node.meta:
            continue
        value = node.args[2] if len(node.args) > 2 else node.kwargs.get("value", 0.0)
        mode = node.kwargs.get("mode", "constant") if node.target == pads[0] else "constant"
        source = node.args[0]
        annotation = getattr(source, "meta", {}).get(key)
        if mode != "constant" or value not in (0, 0.0, None) or not annotation or not annotation.output_qspec:
            continue
        shared = SharedQuantizationSpec(source)
        node.meta[key] = QuantizationAnnotation(
            input_qspec_map={source: shared}, output_qspec=shared, _annotated=True
        )


def _untie_shared_parameters(graph: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Give every use of a shared weight/bias (a module called twice) its own copy.

    Why: with a shared conv, PT2E annotates only the first call, and XNNPACK then gets one fp32 bias used by
    an int8 conv (which it converts to int32) and by a second conv; the delegate fails to initialise at load
    time (``xnn_status_invalid_parameter``) although lowering succeeded. Copies quantize each call on its own.
    """
    import torch

    for node in list(graph.graph.nodes):
        if node.op != "get_attr" or len(node.users) < 2:
            continue
        value = _get_attr(graph, node.target)
        if not isinstance(value, torch.Tensor):
            continue
        for i, user in enumerate(list(node.users)[1:], start=1):
            name = f"{node.target.replace('.', '_')}_untied_{i}"
            graph.register_buffer(name, value.detach().clone())
            with graph.graph.inserting_before(user):
                copy = graph.graph.get_attr(name)
            copy.meta = dict(node.meta)
            user.replace_input_with(node, copy)
    graph.recompile()
    return graph


def _get_attr(module, dotted: str):
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _lower(program, constant_methods: dict[str, str]):
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    try:
        return to_edge_transform_and_lower(
            program,
            partitioner=[XnnpackPartitioner()],
            constant_methods=constant_methods or None,
        )
    except Exception as exc:
        raise ExportError(f"lowering to XNNPACK failed: {first_line(exc)}") from exc


def _to_executorch(edge) -> bytes:
    try:
        return edge.to_executorch().buffer
    except Exception as exc:  # an op without an out-variant kernel, memory planning...
        raise ExportError(f"to_executorch failed: {first_line(exc)}") from exc


# -- helpers ----------------------------------------------------------------------------------------------


def _check_arguments(example_input, quantize, calibration, metadata) -> None:
    if quantize is not None and quantize not in QUANTIZE_CHOICES:
        raise ExportError(f"unknown quantize {quantize!r}; choose None, {', '.join(QUANTIZE_CHOICES)}")
    if quantize is not None and not calibration:
        raise ExportError(f"quantize={quantize!r} needs calibration batches; none were given")
    for i, batch in enumerate(calibration):
        if batch.shape != example_input.shape or batch.dtype != example_input.dtype:
            raise ExportError(
                f"calibration batch {i} is {batch.dtype} {tuple(batch.shape)}; "
                f"expected {example_input.dtype} {tuple(example_input.shape)} like example_input"
            )
    for key, value in metadata.items():
        if not isinstance(key, str) or not _METHOD_NAME.fullmatch(key) or key == "forward":
            raise ExportError(
                f"metadata key {key!r} is not a valid method name ([A-Za-z_][A-Za-z0-9_]*, not forward)"
            )
        if not isinstance(value, str):
            raise ExportError(f"metadata[{key!r}] must be a str, got {type(value).__name__}")


def _outside_modules(names: Sequence[str], except_in: Sequence[str] = ()):
    """Node filter: False for nodes under one of ``names`` unless they are also under one of ``except_in``."""
    from torchao.quantization.pt2e.quantizer.utils import get_module_name_filter

    inside = [get_module_name_filter(name) for name in names]
    allowed = [get_module_name_filter(name) for name in except_in]
    return lambda node: any(f(node) for f in allowed) or not any(f(node) for f in inside)


def _describe_export_failure(exc: Exception) -> str:
    text = str(exc)
    if "data-dependent" in text or type(exc).__name__ == "GuardOnDataDependentSymNode":
        problem = (
            "data-dependent control flow (Python branching on tensor values); use torch.where or torch.cond"
        )
    else:
        problem = first_line(exc, typed=True)
    call = re.search(r'File "([^"]+)", line (\d+), in (\S+)\n\s*(.*)', text.split("raised this error:")[-1])
    if call:
        file, line, function, code = call.groups()
        problem += f" at {Path(file).name}:{line} in {function}: `{code.strip()}`"
    return problem


def _write_atomically(path: Path, data: bytes) -> None:
    from mobilesdk.fsops import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
