"""LiteRT (``.tflite``) export: fp32, fp16 weights, static int8 (keypoint-aware or full), embedded metadata.

Stages (each failure is an :class:`~mobilesdk.errors.ExportError` naming the stage and, where there is one,
the op and the module path it came from)::

    deepcopy + eval -> grouped ConvTranspose2d rewrite -> [to_channel_last_io]
      -> litert_torch.convert (fp32 flatbuffer)
      -> [fp16: ai_edge_quantizer FLOAT_CASTING of conv/FC/transpose-conv weights]
      -> [int8: ai_edge_quantizer static w8a8 (min/max over ``calibration``), float I/O, keep-float ops]
      -> metadata buffers -> load check on the LiteRT interpreter -> bytes written atomically to ``out_path``

Precisions
    ``fp32``: the converter's output as is. ``fp16``: weights of CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and
    FULLY_CONNECTED stored as float16 with a DEQUANTIZE in front (the standard TFLite "float16 quantization";
    CPU kernels compute in fp32, GPU delegates in fp16). ``int8``: post-training static quantization (int8
    activations per tensor, int8 weights per output channel, int32 biases) of every op ai_edge_quantizer
    supports, except the ops of ``keep_float_modules`` (keypoint heads) which keep float32 weights and compute
    in float; the model's inputs and outputs keep their dtype (QUANTIZE/DEQUANTIZE at the boundary).
    ``int8-full``: the same with ``keep_float_modules`` ignored.

Why ai_edge_quantizer and not litert_torch's PT2E path (litert-torch 0.10.0)
    PT2E static models come out with int8 *model inputs and outputs* (the converter folds the boundary
    quantize ops; there is no ``inference_input_type`` knob), and the PT2E quantizer leaves hardswish, PReLU
    and transposed conv in float behind DEQUANTIZE/QUANTIZE pairs. Its ``set_module_name`` cannot take
    ``None`` and its module filter mis-parses torch 2.13's ``nn_module_stack`` keys. ai_edge_quantizer works on
    the converted flatbuffer, quantizes all of those ops, keeps float I/O through its INPUT/OUTPUT recipe
    entries, and takes per-op exceptions.

Keep-float modules
    Ops are attributed to modules through the converter's tensor names: see
    :mod:`mobilesdk.export.litert_quantization`.

Grouped ConvTranspose2d
    litert-torch lowers ``ConvTranspose2d(groups=g>1)`` to g SLICE + TRANSPOSE_CONV pairs (~10x slower for a
    depthwise 4x4/s2 upsample); eligible ones (``kernel - 2 * padding == stride``, e.g. 4x4 s2 p1) are first
    replaced by their exact grouped ``Conv2d`` + ``pixel_shuffle`` form, at the same module path so keep-float
    names still apply: see :mod:`mobilesdk.export.deconv`. Others are converted as they are.

Metadata scheme (``metadata`` -> ``Model.metadata``)
    Each ``metadata`` key ``K`` becomes one entry of the TFLite flatbuffer's standard ``Model.metadata`` list,
    named exactly ``K``, whose ``buffer`` indexes a ``Model.buffers`` entry holding the value bytes verbatim.
    The project's manifest (UTF-8 JSON) lives under :data:`MANIFEST_METADATA` (``"mobilesdk_manifest"``).
    Names the runtime or converter give meaning to (:data:`RESERVED_METADATA`, e.g. ``min_runtime_version``,
    ``buffer_location``, ``TFLITE_METADATA``) and empty values (the C++ reader skips them) are refused.
    Reading it back:

    - Python: ``mobilesdk.export.tflite_flatbuffer.read_metadata(bytes)`` (also the converter's own entries), or
      ``mobilesdk.runtimes.get_runtime("litert").read_metadata(path)`` (the UTF-8 ones).
    - Android, C++/JNI: ``tflite::FlatBufferModel::BuildFromFile(path)->ReadAllMetadata()`` returns
      ``std::map<std::string, std::string>`` (name -> bytes).
    - Android, Kotlin: ``org.tensorflow.lite.schema.Model.getRootAsModel(buf)`` (flatbuffer classes shipped in
      ``org.tensorflow:tensorflow-lite-metadata``): for ``i in 0 until m.metadataLength()``, if
      ``m.metadata(i).name() == "mobilesdk_manifest"`` read ``m.buffers(m.metadata(i).buffer()).dataAsByteBuffer()``.

Outputs
    The ``.tflite`` has one signature (``serving_default``) with inputs ``args_0..`` and outputs
    ``output_0..`` in the PyTorch return order. The interpreter lists signature outputs sorted as *strings*
    (``output_10`` before ``output_2``); host sessions (:mod:`mobilesdk.runtimes.litert`) order them by index. Outputs stay in the model's
    layout (NCHW heatmaps stay NCHW); only the input is made NHWC by ``channel_last_input``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobilesdk.errors import ExportError, first_line
from mobilesdk.export import EMBED_KEY
from mobilesdk.export.litert_quantization import (
    WRAPPED,
    build_fp16_recipe,
    build_int8_recipe,
    build_keep_float_regexes,
    list_float_ops,
    to_user_path,
)
from mobilesdk.export.quiet import quiet
from mobilesdk.export.rewrites import check_module_names, prepare_module
from mobilesdk.export.tflite_flatbuffer import (
    add_metadata,
    count_ops,
    flatten_transpose_conv_biases,
    read_model,
)

if TYPE_CHECKING:
    import numpy as np
    import torch

MANIFEST_METADATA = EMBED_KEY
RESERVED_METADATA = frozenset(
    {
        "min_runtime_version",
        "buffer_location",
        "TFLITE_METADATA",
        "CONVERSION_METADATA",
        "keep_stablehlo_constant",
    }
)
PRECISIONS = ("fp32", "fp16", "int8", "int8-full")
SIGNATURE = "serving_default"


@dataclass(frozen=True)
class LiteRTReport:
    """What ended up in the ``.tflite`` file.

    ``ops``: TFLite builtin op name (custom ops as ``CUSTOM:<code>``) -> count, over all subgraphs.
    ``float_ops_in_int8``: for int8 recipes, ops that still compute in float, as ``"OP"`` or
    ``"OP@module.path"`` (QUANTIZE/DEQUANTIZE excluded); empty for fp32/fp16.
    """

    ops: dict[str, int]
    float_ops_in_int8: list[str]
    # export-time module rewrites, e.g. large depthwise splits: {module, kernel, stride, dilation, pieces}
    rewrites: list[dict] = field(default_factory=list)


def export_litert(
    model: torch.nn.Module,
    example_input: torch.Tensor,
    out_path: Path,
    *,
    precision: str = "fp32",
    channel_last_input: bool = True,
    calibration: Sequence[torch.Tensor] = (),
    keep_float_modules: Sequence[str] = (),
    metadata: Mapping[str, bytes] = {},  # noqa: B006 - read only, part of the fixed API
    split_large_kernels: bool = True,
    weight_only_modules: Sequence[str] = (),
) -> LiteRTReport:
    """Convert ``model`` to ``out_path`` (``.tflite``) and describe the result.

    ``model`` takes NCHW ``example_input`` (float or uint8, (N, C, H, W)); with ``channel_last_input`` the file
    takes (N, H, W, C) of the same dtype. ``calibration``: tensors shaped like ``example_input`` (or with a
    batch that is a multiple of it), required for ``int8``/``int8-full``. ``keep_float_modules``: dotted names
    of submodules of ``model`` kept in float by ``int8``. ``split_large_kernels``: replace depthwise convs of
    more than 25 taps by their exact split form (:mod:`mobilesdk.export.large_kernel`), listed in
    ``report.rewrites``. ``model`` itself is not changed (a deep copy is converted).
    ``weight_only_modules`` (int8 precisions): dotted names whose FULLY_CONNECTED ops get int8 per-channel
    weights with float activations (dynamic-range: the kernel quantizes its input per call) instead of static
    int8 or float; they win over ``keep_float_modules``.
    """
    keep, batches = _check_arguments(
        model, example_input, precision, calibration, keep_float_modules, metadata
    )
    weight_only = list(weight_only_modules) if precision.startswith("int8") else []
    check_module_names(model, weight_only, "weight_only_modules")
    precision_kind = "int8" if precision.startswith("int8") else "fp32"
    module, rewrites = _prepare_module(model, channel_last_input, split_large_kernels, precision_kind)
    sample = _file_layout(example_input, channel_last_input)
    _check_runs_eagerly(module, sample)

    content = flatten_transpose_conv_biases(_convert(module, sample, channel_last_input))
    if precision == "fp16":
        content = _quantize(content, build_fp16_recipe(), None)
    elif precision.startswith("int8"):
        prefix = f"{WRAPPED}." if channel_last_input else ""
        regexes = build_keep_float_regexes(content, module, [prefix + name for name in keep])
        weight_regexes = build_keep_float_regexes(content, module, [prefix + name for name in weight_only])
        samples = [_file_layout(batch, channel_last_input).numpy() for batch in batches]
        content = _quantize(content, build_int8_recipe(regexes, weight_regexes), samples)
    content = add_metadata(content, metadata)
    _check_loads(content)
    _write_atomically(Path(out_path), content)

    model_t = read_model(content)
    float_ops = list_float_ops(model_t, module, channel_last_input) if precision.startswith("int8") else []
    return LiteRTReport(ops=count_ops(model_t), float_ops_in_int8=float_ops, rewrites=rewrites)


# --------------------------------------------------------------------------------------------- preparation


def _check_arguments(
    model: torch.nn.Module,
    example: torch.Tensor,
    precision: str,
    calibration: Sequence[torch.Tensor],
    keep_float_modules: Sequence[str],
    metadata: Mapping[str, bytes],
) -> tuple[list[str], list[torch.Tensor]]:
    """Fail fast on bad arguments; returns (keep-float module names in use, calibration batches)."""
    if precision not in PRECISIONS:
        raise ExportError(f"unknown LiteRT precision '{precision}' (choose from {', '.join(PRECISIONS)})")
    if example.dim() != 4:
        raise ExportError(
            f"example_input must be one NCHW image batch (4-D), got shape {list(example.shape)}"
        )
    _check_metadata(metadata)
    keep = list(keep_float_modules) if precision == "int8" else []
    check_module_names(model, keep, "keep_float_modules")
    if not precision.startswith("int8"):
        return keep, []
    batches = _calibration_batches(calibration, example)
    if not batches:
        raise ExportError(f"precision '{precision}' needs calibration batches (got none)")
    return keep, batches


def _file_layout(x: torch.Tensor, channel_last_input: bool) -> torch.Tensor:
    """NCHW -> what the .tflite takes: NHWC with ``channel_last_input``."""
    return x.detach().cpu().permute(0, 2, 3, 1).contiguous() if channel_last_input else x.detach().cpu()


def _check_runs_eagerly(module: torch.nn.Module, sample: torch.Tensor) -> None:
    import torch

    with torch.no_grad():
        try:
            module(sample)
        except Exception as e:
            raise ExportError(
                f"model(example_input) failed before conversion ({first_line(e, 400, typed=True)}); example_input must be "
                f"what the model takes (NCHW), not what the .tflite takes"
            ) from e


def _write_atomically(path: Path, content: bytes) -> None:
    from mobilesdk.fsops import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, content)


def _check_metadata(metadata: Mapping[str, bytes]) -> None:
    for name, value in metadata.items():
        if not isinstance(name, str) or not name:
            raise ExportError(f"metadata names must be non-empty strings, got {name!r}")
        if name in RESERVED_METADATA:
            raise ExportError(f"metadata name '{name}' is reserved by the TFLite runtime/converter")
        if not isinstance(value, bytes | bytearray):
            raise ExportError(f"metadata '{name}' must be bytes, got {type(value).__name__}")
        if not value:
            raise ExportError(f"metadata '{name}' is empty (the C++ reader drops empty entries)")


def _calibration_batches(calibration: Sequence[torch.Tensor], example: torch.Tensor) -> list[torch.Tensor]:
    """Calibration tensors split into batches shaped exactly like ``example`` (static shapes)."""
    n = example.shape[0]
    batches = []
    for i, batch in enumerate(calibration):
        same_item = tuple(batch.shape[1:]) == tuple(example.shape[1:])
        if not same_item or batch.shape[0] % n or batch.dtype != example.dtype:
            raise ExportError(
                f"calibration[{i}] is {batch.dtype}{list(batch.shape)}; expected {example.dtype}"
                f"{list(example.shape)} (NCHW, like example_input; the batch may be a multiple of {n})"
            )
        batches.extend(batch.split(n))
    return batches


def _prepare_module(
    model: torch.nn.Module, channel_last_input: bool, split_large_kernels: bool, precision: str
) -> tuple[torch.nn.Module, list[dict]]:
    """Eval-mode deep copy, export rewrites applied (their records returned), NHWC wrapper if asked."""
    module, rewrites = prepare_module(
        model, precision, grouped_deconv=True, split_large_kernels=split_large_kernels
    )
    if channel_last_input:
        with quiet():  # the first import of litert_torch logs from C++ (oneDNN, absl)
            import litert_torch

        module = litert_torch.to_channel_last_io(module, args=[0]).eval()
    return module, rewrites


# --------------------------------------------------------------------------------------------- conversion


def _convert(module: torch.nn.Module, sample: torch.Tensor, channel_last_input: bool) -> bytes:
    with quiet() as captured:
        try:
            import litert_torch

            return bytes(litert_torch.convert(module, (sample,)).model_content())
        except Exception as e:
            failure = e
    raise ExportError(_describe_failure(failure, captured.text, channel_last_input)) from failure


def _describe_failure(error: BaseException, log: str, channel_last_input: bool) -> str:
    """One line: the FX node (op and module path) being lowered when ``error`` was raised, and why."""
    import torch

    node = None
    tb = error.__traceback__
    while tb is not None:  # the deepest FX interpreter frame holds the node being converted
        frame = tb.tb_frame
        if frame.f_code.co_name == "run_node":
            candidate = frame.f_locals.get("node", frame.f_locals.get("n"))
            if isinstance(candidate, torch.fx.Node):
                node = candidate
        tb = tb.tb_next
    reason = first_line(error, 400, typed=True)
    mlir_errors = [line.strip() for line in log.splitlines() if "error:" in line]
    if mlir_errors:
        reason += f" [{mlir_errors[0][:300]}]"
    if node is None:  # torch.export itself failed: point at the user's line it names, if any
        site = re.search(r'File "([^"]+)", line (\d+), in (\S+)', str(error))
        at = f" (at {Path(site[1]).name}:{site[2]} in {site[3]})" if site else ""
        return f"LiteRT conversion failed{at}: {reason}"
    where = ""
    stack = list(node.meta.get("nn_module_stack", {}).values())
    if stack:
        path, cls = stack[-1]
        path = to_user_path(path, channel_last_input)
        cls_name = cls if isinstance(cls, str) else cls.__name__
        where = f" in module '{path or '<root>'}' ({cls_name.rsplit('.', 1)[-1]})"
    return f"LiteRT conversion failed at op {node.target}{where}: {reason}"


# ---------------------------------------------------------------------------- quantization and load check


def _quantize(content: bytes, recipe: list[dict[str, Any]], calibration: list[np.ndarray] | None) -> bytes:
    from ai_edge_quantizer import quantizer

    with quiet() as captured:
        try:
            qt = quantizer.Quantizer(bytearray(content), recipe)
            result = None
            if calibration is not None:
                data = {SIGNATURE: [{"args_0": batch} for batch in calibration]}
                result = qt.calibrate(data, num_threads=2)
            quantized = qt.quantize(result, enable_progress_bar=False, enable_progress_report=False)
            return bytes(quantized.quantized_model)
        except Exception as e:
            failure = e
    stage = "int8 calibration/quantization" if calibration is not None else "fp16 weight casting"
    log = captured.text.strip().splitlines()
    raise ExportError(
        f"LiteRT {stage} failed: {first_line(failure, 400, typed=True)}"
        + (f" [{log[-1][:300]}]" if log else "")
    ) from failure


def _check_loads(content: bytes) -> None:
    """The file must load and allocate on the LiteRT interpreter (catches unresolvable custom ops)."""
    from ai_edge_litert.interpreter import Interpreter

    with quiet() as captured:
        try:
            Interpreter(model_content=content, num_threads=1).allocate_tensors()
            return
        except Exception as e:
            failure = e
    log = [line for line in captured.text.splitlines() if line.strip()]
    detail = f" [{log[-1][:300]}]" if log else ""
    raise ExportError(
        f"converted model does not load on the LiteRT interpreter: {first_line(failure, 400, typed=True)}{detail}"
    )
