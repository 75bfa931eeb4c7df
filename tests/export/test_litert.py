"""LiteRT export: real conversions of tiny nets through litert-torch, run on the LiteRT interpreter.

Shapes: N=1 image, 3 channels, 64x64 (float NCHW into the model; the .tflite takes NHWC, float or uint8).
Each precision of the zoo net is converted once per module (a conversion takes seconds on 2 cores).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mobilesdk.errors import ExportError
from mobilesdk.export.litert import (
    MANIFEST_METADATA,
    LiteRTReport,
    export_litert,
)
from mobilesdk.export.litert_quantization import FLOAT_OP_TYPES
from mobilesdk.export.tflite_flatbuffer import read_metadata as read_tflite_metadata
from tests.runtime_helpers import run_model

SIZE = 64
K = 4  # keypoints


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 4, 1)
        self.expand = nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.hardsigmoid(self.expand(F.relu(self.reduce(F.adaptive_avg_pool2d(x, 1)))))
        return x * scale


class ZooNet(nn.Module):
    """Every op the zoo uses: conv+BN+ReLU, depthwise 7x7+BN+PReLU, hardswish, hardsigmoid SE, ConvTranspose2d
    4x4 s2 dense and depthwise (groups=C), bilinear upsample (align_corners=True), cat, flatten + linear heads.

    (1, 3, 64, 64) -> heatmaps (1, K, 32, 32), simcc_x (1, K, 128), simcc_y (1, K, 96).
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.dw = nn.Sequential(
            nn.Conv2d(16, 16, 7, 1, 3, groups=16, bias=False), nn.BatchNorm2d(16), nn.PReLU(16)
        )
        self.pw = nn.Sequential(nn.Conv2d(16, 32, 1), nn.Hardswish())
        self.se = SqueezeExcite(32)
        self.down = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU())
        self.up_dense = nn.ConvTranspose2d(32, 16, 4, 2, 1)
        self.up_dw = nn.ConvTranspose2d(32, 32, 4, 2, 1, groups=32)
        self.head = nn.Conv2d(64, K, 1)
        self.simcc_x = nn.Linear(16 * 16, 128)
        self.simcc_y = nn.Linear(16 * 16, 96)
        with torch.no_grad():
            for bn in (self.stem[1], self.dw[1]):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a = self.se(self.pw(self.dw(self.stem(x))))  # (1, 32, 32, 32)
        d = self.down(a)  # (1, 32, 16, 16)
        u = torch.cat([self.up_dense(d), self.up_dw(d), a[:, :16]], dim=1)  # (1, 64, 32, 32)
        heatmaps = self.head(u)  # (1, K, 32, 32)
        small = F.interpolate(heatmaps, size=(16, 16), mode="bilinear", align_corners=True).flatten(2)
        return heatmaps, self.simcc_x(small), self.simcc_y(small)


class CameraNet(nn.Module):
    """uint8 pixels -> float -> normalise -> ZooNet (the graph starts with a cast)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor([123.7, 116.3, 103.5]).view(1, 3, 1, 1))
        self.register_buffer("inv_std", 1.0 / torch.tensor([58.4, 57.1, 57.4]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor):
        return self.model((x.to(torch.float32) - self.mean) * self.inv_std)


def nhwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def eager(model: nn.Module, x: torch.Tensor) -> list[np.ndarray]:
    with torch.no_grad():
        out = model(x)
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


def weight_types(path: Path) -> list[tuple[str, str, str]]:
    """(op, weight tensor type, module-ish name) for every conv/FC op, read from the flatbuffer.

    A weight fed by DEQUANTIZE (fp16 storage) reports the DEQUANTIZE input's type.
    """
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(path.read_bytes()))
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    graph = model.subgraphs[0]
    producer = {out: op for op in graph.operators for out in op.outputs}
    result = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = op_names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        if name not in {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"}:
            continue
        w = op.inputs[
            1
        ]  # TRANSPOSE_CONV: (output_shape, weights, input, bias); others: (input, weights, bias)
        src = producer.get(w)
        if src is not None and op_names[model.operatorCodes[src.opcodeIndex].builtinCode] == "DEQUANTIZE":
            w = src.inputs[0]
        tensor = graph.tensors[w]
        result.append((name, type_names[tensor.type], tensor.name.decode()))
    return result


@pytest.fixture(scope="module")
def zoo():
    torch.manual_seed(0)
    model = ZooNet().eval()
    x = torch.randn(1, 3, SIZE, SIZE)
    calibration = [
        torch.randn(2, 3, SIZE, SIZE) for _ in range(4)
    ]  # batches of 2 are split into 8 batches of 1
    return model, x, calibration


@pytest.fixture(scope="module")
def artifacts(zoo, tmp_path_factory):
    """precision -> (path, report), converted on first use."""
    model, x, calibration = zoo
    out_dir = tmp_path_factory.mktemp("litert")
    cache: dict[str, tuple[Path, LiteRTReport]] = {}

    def get(precision: str) -> tuple[Path, LiteRTReport]:
        if precision not in cache:
            path = out_dir / f"zoo.{precision}.tflite"
            report = export_litert(
                model,
                x,
                path,
                precision=precision,
                calibration=calibration,
                keep_float_modules=["simcc_x", "simcc_y"],
            )
            cache[precision] = path, report
        return cache[precision]

    return get


def test_fp32_matches_eager_with_nhwc_input(zoo, artifacts):
    from ai_edge_litert.interpreter import Interpreter

    model, x, _ = zoo
    path, report = artifacts("fp32")
    (inp,) = Interpreter(model_path=str(path)).get_input_details()
    assert list(inp["shape"]) == [1, SIZE, SIZE, 3] and inp["dtype"] == np.float32
    got, want = run_model(path, [nhwc(x)]), eager(model, x)
    assert [g.shape for g in got] == [(1, K, 32, 32), (1, K, 128), (1, K, 96)]
    for g, w in zip(got, want, strict=True):
        assert np.abs(g - w).max() <= 1e-4 * np.abs(w).max()
    assert report.float_ops_in_int8 == []
    for op in (
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "TRANSPOSE_CONV",
        "FULLY_CONNECTED",
        "RESIZE_BILINEAR",
        "HARD_SWISH",
    ):
        assert report.ops.get(op, 0) >= 1, op
    # The dense ConvTranspose2d stays one TRANSPOSE_CONV; the depthwise one became a depthwise conv + shuffle
    # instead of 32 SLICE + TRANSPOSE_CONV pairs. (The 7x7 depthwise is split: each piece's window is at most
    # one SLICE per spatial axis.)
    split_slices = 2 * sum(len(r["pieces"]) for r in report.rewrites)
    assert report.ops["TRANSPOSE_CONV"] == 1 and report.ops.get("SLICE", 0) <= 1 + split_slices
    assert not list(path.parent.glob("*.partial"))


def test_fp16_stores_half_precision_weights(zoo, artifacts):
    model, x, _ = zoo
    fp32, _ = artifacts("fp32")
    fp16, report = artifacts("fp16")
    assert fp16.stat().st_size < 0.6 * fp32.stat().st_size
    assert {t for _, t, _ in weight_types(fp16)} == {"FLOAT16"}
    assert report.ops["DEQUANTIZE"] >= len(weight_types(fp16))
    for g, w in zip(run_model(fp16, [nhwc(x)]), eager(model, x), strict=True):
        assert np.abs(g - w).max() <= 1e-2 * np.abs(w).max()


@pytest.mark.parametrize("precision", ["int8", "int8-full"])
def test_int8_is_smaller_and_close(zoo, artifacts, precision):
    from ai_edge_litert.interpreter import Interpreter

    model, x, _ = zoo
    fp32, _ = artifacts("fp32")
    path, report = artifacts(precision)
    # The float heads are most of this tiny net's weights: keypoint-aware int8 saves less than full int8.
    assert path.stat().st_size < {"int8": 0.9, "int8-full": 0.4}[precision] * fp32.stat().st_size
    assert report.ops["QUANTIZE"] >= 1 and report.ops["DEQUANTIZE"] >= 1
    interpreter = Interpreter(model_path=str(path))
    assert [d["dtype"] for d in interpreter.get_input_details()] == [np.float32]  # float I/O kept
    assert {d["dtype"] for d in interpreter.get_output_details()} == {np.float32}
    for g, w in zip(run_model(path, [nhwc(x)]), eager(model, x), strict=True):
        assert np.corrcoef(g.ravel(), w.ravel())[0, 1] > 0.99


def test_int8_keeps_keypoint_heads_float(artifacts):
    keypoint_aware, report = artifacts("int8")
    full, full_report = artifacts("int8-full")
    weights = weight_types(keypoint_aware)
    heads = [t for op, t, _ in weights if op == "FULLY_CONNECTED"]
    trunk = [t for op, t, _ in weights if op != "FULLY_CONNECTED"]
    assert heads == ["FLOAT32", "FLOAT32"]
    assert trunk and set(trunk) == {"INT8"}
    assert {"FULLY_CONNECTED@simcc_x", "FULLY_CONNECTED@simcc_y"} <= set(report.float_ops_in_int8)
    assert not any(op.startswith(("CONV_2D", "DEPTHWISE_CONV_2D")) for op in report.float_ops_in_int8)
    assert {t for _, t, _ in weight_types(full)} == {"INT8"}
    # int8-full: only the weightless activations XNNPACK takes in float only (FLOAT_OP_TYPES) stay float
    assert full_report.float_ops_in_int8
    assert {op.split("@")[0] for op in full_report.float_ops_in_int8} <= set(FLOAT_OP_TYPES)
    assert full.stat().st_size < keypoint_aware.stat().st_size


@pytest.mark.parametrize("precision", ["int8", "int8-full"])
def test_int8_graph_is_one_xnnpack_partition(artifacts, precision):
    """A quantized op XNNPACK does not take (int8 HARD_SWISH, an unfused int8 RELU) splits the graph into
    delegate partitions with TFLite's reference kernels between them; those ops stay float instead."""
    from ai_edge_litert.interpreter import Interpreter

    path, _ = artifacts(precision)
    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    ops = [op["op_name"] for op in interpreter._get_ops_details()]
    assert "HARD_SWISH" in ops
    assert ops.count("DELEGATE") == 1, ops


def test_uint8_camera_input(zoo, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    model, _, _ = zoo
    camera = CameraNet(model).eval()
    x = torch.randint(0, 256, (1, 3, SIZE, SIZE), dtype=torch.uint8)
    path = tmp_path / "camera.tflite"
    report = export_litert(camera, x, path)
    (inp,) = Interpreter(model_path=str(path)).get_input_details()
    assert list(inp["shape"]) == [1, SIZE, SIZE, 3] and inp["dtype"] == np.uint8
    assert report.ops["CAST"] == 1
    for g, w in zip(run_model(path, [nhwc(x)]), eager(camera, x), strict=True):
        assert np.abs(g - w).max() <= 1e-4 * np.abs(w).max()


def test_metadata_round_trip(zoo, tmp_path):
    from ai_edge_litert import schema_py_generated as schema

    model, x, _ = zoo
    manifest = {
        "keypoints": [f"点{i}-ü-ß-🙂" for i in range(600)],
        "skeleton": [[i, i + 1] for i in range(300)],
    }
    blob = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    assert len(blob) >= 10_000
    path = tmp_path / "meta.tflite"
    export_litert(
        model, x, path, channel_last_input=False, metadata={MANIFEST_METADATA: blob, "extra": b"\x00\x01"}
    )

    found = read_tflite_metadata(path.read_bytes())
    assert found[MANIFEST_METADATA] == blob and found["extra"] == b"\x00\x01"
    assert json.loads(found[MANIFEST_METADATA].decode("utf-8")) == manifest
    assert "min_runtime_version" in found  # the converter's own entries survive
    # The standard Model.metadata list, as any flatbuffer reader (Android's FlatBufferModel::ReadAllMetadata) sees it.
    raw = schema.Model.GetRootAs(path.read_bytes(), 0)
    entries = {raw.Metadata(i).Name().decode(): raw.Metadata(i).Buffer() for i in range(raw.MetadataLength())}
    assert raw.Buffers(entries[MANIFEST_METADATA]).DataAsNumpy().tobytes() == blob
    # Still a working model (NCHW input since channel_last_input=False).
    got = run_model(path, [x.numpy()])
    assert np.abs(got[0] - eager(model, x)[0]).max() <= 1e-4 * np.abs(got[0]).max()


def test_output_order_follows_pytorch_with_many_outputs(tmp_path):
    class ManyOutputs(nn.Module):
        """(1, 3, 8, 8) -> 12 outputs; output i is (1, i + 1) filled with (i + 1) * sum(x)."""

        def forward(self, x: torch.Tensor):
            total = x.sum(dim=(1, 2, 3)).unsqueeze(1)  # (1, 1)
            return tuple(total.repeat(1, i + 1) * (i + 1) for i in range(12))

    x = torch.randn(1, 3, 8, 8)
    path = tmp_path / "many.tflite"
    export_litert(ManyOutputs().eval(), x, path)
    got, want = run_model(path, [nhwc(x)]), eager(ManyOutputs(), x)
    assert [g.shape for g in got] == [w.shape for w in want]  # output_10 must not come before output_2
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_unconvertible_op_names_op_and_module(tmp_path):
    class SingularValues(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.linalg.svdvals(x)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)
            self.block = nn.Sequential(nn.ReLU(), SingularValues())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.block(self.conv(x))

    path = tmp_path / "bad.tflite"
    with pytest.raises(ExportError, match=r"aten\._linalg_svd.* in module 'block\.1' \(SingularValues\)"):
        export_litert(Net().eval(), torch.randn(1, 3, 8, 8), path)
    assert not path.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"precision": "int4"}, "unknown LiteRT precision"),
        ({"precision": "int8"}, "needs calibration"),
        ({"precision": "int8", "calibration": [torch.randn(1, 3, 32, 32)]}, r"calibration\[0\]"),
        (
            {"precision": "int8", "calibration": [torch.randn(1, 3, 64, 64)], "keep_float_modules": ["nope"]},
            "keep_float_modules not found in the model: nope",
        ),
        ({"metadata": {"min_runtime_version": b"x"}}, "reserved"),
        ({"metadata": {MANIFEST_METADATA: b""}}, "empty"),
        ({"metadata": {MANIFEST_METADATA: "text"}}, "must be bytes"),
    ],
)
def test_argument_errors(zoo, tmp_path, kwargs, message):
    model, x, _ = zoo
    with pytest.raises(ExportError, match=message):
        export_litert(model, x, tmp_path / "x.tflite", **kwargs)


def test_nhwc_example_input_is_refused_before_conversion(zoo, tmp_path):
    model, x, _ = zoo
    with pytest.raises(ExportError, match="must be what the model takes"):
        export_litert(model, x.permute(0, 2, 3, 1).contiguous(), tmp_path / "x.tflite")


def test_transpose_conv_bias_is_flattened_to_one_dimension(tmp_path):
    """litert-torch sometimes emits a (1,1,1,C) TRANSPOSE_CONV bias (seen with trained MovePose weights), which
    ai_edge_quantizer then quantizes along the wrong axis so the int8 model does not load. The fix reshapes the
    constant to (C,); the model must compute the same."""
    from ai_edge_litert.tools import flatbuffer_utils

    from mobilesdk.export import tflite_flatbuffer as tf

    torch.manual_seed(0)
    model = nn.Sequential(nn.ConvTranspose2d(4, 8, 4, 2, 1, bias=True)).eval()
    x = torch.randn(1, 4, 8, 8)
    path = tmp_path / "deconv.tflite"
    export_litert(model, x, path)
    model_t = tf.read_model(path.read_bytes())
    subgraph = model_t.subgraphs[0]
    (op,) = [op for op in subgraph.operators if tf.get_op_name(model_t, op) == "TRANSPOSE_CONV"]
    subgraph.tensors[op.inputs[3]].shape = np.asarray(
        [1, 1, 1, 8], dtype=np.int32
    )  # what the converter emits
    broken = bytes(flatbuffer_utils.convert_object_to_bytearray(model_t))
    fixed = tf.flatten_transpose_conv_biases(broken)
    fixed_t = tf.read_model(fixed)
    assert list(fixed_t.subgraphs[0].tensors[op.inputs[3]].shape) == [8]
    assert tf.flatten_transpose_conv_biases(fixed) is fixed  # nothing left to do
    (tmp_path / "fixed.tflite").write_bytes(fixed)
    (out,) = run_model(tmp_path / "fixed.tflite", [nhwc(x)])
    (ref,) = eager(model, x)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_weight_only_heads_store_int8_fully_connected_weights(zoo, artifacts, tmp_path):
    model, x, calibration = zoo
    path = tmp_path / "wo.tflite"
    export_litert(
        model,
        x,
        path,
        precision="int8",
        calibration=calibration,
        keep_float_modules=["simcc_x", "simcc_y"],
        weight_only_modules=["simcc_x", "simcc_y"],
    )
    heads = [t for op, t, _ in weight_types(path) if op == "FULLY_CONNECTED"]
    assert heads == ["INT8", "INT8"]
    keep, _ = artifacts("int8")
    assert path.stat().st_size < keep.stat().st_size - 2 * (
        model.simcc_x.weight.numel() + model.simcc_y.weight.numel()
    )
    for g, w in zip(run_model(path, [nhwc(x)]), eager(model, x), strict=True):
        assert np.corrcoef(g.ravel(), w.ravel())[0, 1] > 0.99
