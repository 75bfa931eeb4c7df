"""ExecuTorch export: real exports of tiny nets through XNNPACK, run on the host runtime.

Shapes: N=1 image, 3 channels, 64x64 (float NCHW, or uint8 NHWC for the camera-input wrapper).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mobilesdk.errors import ExportError
from mobilesdk.export.executorch import (
    MANIFEST_METHOD,
    LoweringReport,
    _quantize,
    export_executorch,
)
from tests.runtime_helpers import read_metadata, run_model

SIZE = 64


class ZooNet(nn.Module):
    """Every op the zoo uses: conv+BN+ReLU, depthwise 7x7+PReLU, hardswish, ConvTranspose2d 4x4 s2,
    bilinear upsample (align_corners=True), cat, and a SimCC-style linear head after flatten.

    (1, 3, 64, 64) -> heatmaps (1, K=4, 64, 64), simcc (1, K=4, 64).
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.dw = nn.Sequential(
            nn.Conv2d(16, 16, 7, 1, 3, groups=16, bias=False), nn.BatchNorm2d(16), nn.PReLU(16)
        )
        self.pw = nn.Sequential(nn.Conv2d(16, 32, 1), nn.Hardswish())
        self.down = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU())
        self.up = nn.ConvTranspose2d(32, 16, 4, 2, 1)
        self.head = nn.Conv2d(32, 4, 1)
        self.keypoints = nn.Conv2d(32, 4, 1)
        self.simcc = nn.Linear(16 * 16, 64)
        with torch.no_grad():
            for bn in (self.stem[1], self.dw[1]):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.pw(self.dw(self.stem(x)))  # (1, 32, 32, 32)
        d = self.down(a)  # (1, 32, 16, 16)
        u = torch.cat([self.up(d), a[:, :16]], dim=1)  # (1, 32, 32, 32)
        heatmaps = self.head(F.interpolate(u, scale_factor=2.0, mode="bilinear", align_corners=True))
        simcc = self.simcc(F.avg_pool2d(self.keypoints(u), 2).flatten(2))
        return heatmaps, simcc


class CameraInput(nn.Module):
    """uint8 NHWC camera bytes -> permute -> float -> normalise -> model (what the lead's adapter does)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor([123.7, 116.3, 103.5]).view(1, 3, 1, 1))
        self.register_buffer("inv_std", 1.0 / torch.tensor([58.4, 57.1, 57.4]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor):
        return self.model((x.permute(0, 3, 1, 2).to(torch.float32) - self.mean) * self.inv_std)


class SmallNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2, 1)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)))


class SharedHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 2, 1)
        self.head = nn.Conv2d(16, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x)
        return self.head(y), self.head(F.max_pool2d(y, 2))


class Cumulate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(x, dim=1)  # XNNPACK has no cumulative sum


class HeadWithCumsum(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 4, 1)
        self.post = Cumulate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.conv(x))


class NotDelegable(nn.Module):
    """conv -> cumsum -> conv: the cumsum splits the graph into two delegates."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2, 1)
        self.head = HeadWithCumsum()
        self.out = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.head(self.conv(x)))


class DataDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.mean() > 0:  # branches on a tensor value: torch.export cannot trace this
            return x * 2
        return x


def _images(n: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(1, 3, SIZE, SIZE, generator=generator) for _ in range(n)]


def _manifest() -> str:
    keypoints = [f"ключ_{i}_鼻_👁" for i in range(600)]
    text = json.dumps({"model": "zoo-net", "keypoints": keypoints, "note": "é ü ß 🙂"}, ensure_ascii=False)
    assert len(text.encode("utf-8")) > 10_000
    return text


@pytest.fixture(scope="module")
def zoo() -> ZooNet:
    torch.manual_seed(0)
    return ZooNet().eval()


@pytest.fixture(scope="module")
def sample() -> torch.Tensor:
    return _images(1, seed=1)[0]


@pytest.fixture(scope="module")
def fp32_artifact(zoo, sample, tmp_path_factory):
    path = tmp_path_factory.mktemp("fp32") / "zoo.pte"
    metadata = {MANIFEST_METHOD: _manifest(), "mobilesdk_version": "0.1.0"}
    report = export_executorch(zoo, sample, path, metadata=metadata)
    return path, report, metadata


@pytest.fixture(scope="module")
def int8_artifacts(zoo, sample, tmp_path_factory):
    """{"int8": keypoint-aware (head and simcc kept float), "int8-full": everything} -> (path, report)."""
    calibration = _images(8, seed=2)
    artifacts = {}
    for mode in ("int8", "int8-full"):
        path = tmp_path_factory.mktemp(mode) / "zoo.pte"
        report = export_executorch(
            zoo, sample, path, quantize=mode, calibration=calibration, keep_float_modules=("head", "simcc")
        )
        artifacts[mode] = path, report
    return artifacts


def test_fp32_is_fully_delegated_and_matches_eager(zoo, sample, fp32_artifact):
    path, report, _ = fp32_artifact
    assert report.num_delegates == 1
    assert report.undelegated_ops == {} and report.blocking_ops == {}
    assert report.delegated_ops >= 15
    with torch.no_grad():
        expected = [t.numpy() for t in zoo(sample)]
    actual = run_model(path, [sample.numpy()])
    assert [a.shape for a in actual] == [(1, 4, SIZE, SIZE), (1, 4, 64)]
    for got, want in zip(actual, expected, strict=True):
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_metadata_round_trips_through_the_pte(fp32_artifact):
    path, _, metadata = fp32_artifact
    assert read_metadata(path) == metadata
    # What Module.execute("mobilesdk_manifest") does on Android: a method with no input, one String output.
    from executorch.runtime import Runtime

    program = Runtime.get().load_program(path.read_bytes())
    assert program.metadata(MANIFEST_METHOD).num_inputs() == 0
    assert program.load_method(MANIFEST_METHOD).execute([]) == [metadata[MANIFEST_METHOD]]


def test_int8_is_close_to_eager_and_smaller(zoo, sample, fp32_artifact, int8_artifacts):
    fp32_size = fp32_artifact[0].stat().st_size
    keep_path, keep_report = int8_artifacts["int8"]
    full_path, full_report = int8_artifacts["int8-full"]
    # Float weights of the kept head cost bytes: fp32 > keypoint-aware int8 > int8-full (keep list ignored).
    assert fp32_size > keep_path.stat().st_size > full_path.stat().st_size
    with torch.no_grad():
        expected = [t.numpy().ravel() for t in zoo(sample)]
    for path, report in ((keep_path, keep_report), (full_path, full_report)):
        assert report.blocking_ops == {} and report.num_delegates == 1
        for got, want in zip(run_model(path, [sample.numpy()]), expected, strict=True):
            assert np.corrcoef(got.ravel(), want)[0, 1] > 0.99
            assert np.abs(got.ravel() - want).max() <= 0.1 * np.abs(want).max()


def test_keep_float_modules_have_no_quantized_weights(zoo, sample):
    program = _quantize(zoo, sample, _images(2, seed=3), keep_float_modules=("head", "simcc"))
    weights = {}
    for node in program.graph.nodes:
        if node.op == "call_function" and node.target in (
            torch.ops.aten.conv2d.default,
            torch.ops.aten.conv_transpose2d.input,
            torch.ops.aten.linear.default,
        ):
            module = list(node.meta["nn_module_stack"].values())[-1][0]
            weights.setdefault(module, set()).add(getattr(node.args[1], "target", None))
    dequantize = torch.ops.quantized_decomposed.dequantize_per_channel.default
    assert set(weights) == {"stem.0", "dw.0", "pw.0", "down.0", "up", "head", "keypoints", "simcc"}
    for module, targets in weights.items():
        if module in ("head", "simcc"):
            assert dequantize not in targets, module  # float weight straight from the parameter
        else:
            assert targets == {dequantize}, module


def test_shared_conv_quantizes_and_initialises(tmp_path):
    """A module called twice shares its bias between an int8 and another conv; untied, XNNPACK accepts it."""
    torch.manual_seed(0)
    model, image = SharedHead().eval(), _images(1, 6)[0]
    path = tmp_path / "shared.pte"
    report = export_executorch(model, image, path, quantize="int8-full", calibration=_images(4, 7))
    assert report.blocking_ops == {}
    with torch.no_grad():
        expected = [t.numpy().ravel() for t in model(image)]
    for got, want in zip(run_model(path, [image.numpy()]), expected, strict=True):
        assert np.corrcoef(got.ravel(), want)[0, 1] > 0.99


def test_delegate_that_fails_to_initialise_is_an_export_error(tmp_path, monkeypatch):
    """Without untying, XNNPACK 1.5.1 refuses the shared-bias graph only at load: export must catch that."""
    import mobilesdk.export.executorch as module

    monkeypatch.setattr(module, "_untie_shared_parameters", lambda graph: graph)
    with pytest.raises(ExportError, match="does not initialise on the ExecuTorch runtime") as info:
        export_executorch(
            SharedHead().eval(),
            _images(1, 6)[0],
            tmp_path / "x.pte",
            quantize="int8-full",
            calibration=_images(2, 7),
        )
    # The runtime logs the reason to stderr, which export silences: the message must carry it.
    assert "runtime log: [XNNCompiler" in str(info.value)
    assert "xnn_status_invalid_parameter" in str(info.value)
    assert not (tmp_path / "x.pte").exists()


def test_camera_input_boundary_ops_are_tolerated(tmp_path):
    torch.manual_seed(0)
    model = CameraInput(SmallNet()).train()
    image = torch.randint(0, 256, (1, SIZE, SIZE, 3), dtype=torch.uint8)
    report = export_executorch(model, image, tmp_path / "camera.pte")
    boundary = {"aten.permute_copy.default": 1, "dim_order_ops._to_dim_order_copy.default": 1}
    assert report.undelegated_ops == boundary and report.tolerated_ops == boundary
    assert report.blocking_ops == {} and report.num_delegates == 1
    assert model.training  # the caller's mode is restored
    with torch.no_grad():
        expected = model.eval()(image).numpy()
    (actual,) = run_model(tmp_path / "camera.pte", [image.numpy()])
    assert np.abs(actual - expected).max() <= 1e-4 * np.abs(expected).max()


def test_undelegated_op_fails_with_op_and_module_path(tmp_path):
    with pytest.raises(ExportError, match=r"aten\.cumsum\.default: 1 at head\.post \(Cumulate\)") as info:
        export_executorch(NotDelegable().eval(), _images(1, 4)[0], tmp_path / "x.pte")
    assert "torch.cumsum(x, dim=1)" in str(info.value)
    assert not (tmp_path / "x.pte").exists()


def test_undelegated_op_is_reported_when_allowed(tmp_path):
    model, image = NotDelegable().eval(), _images(1, 4)[0]
    report = export_executorch(model, image, tmp_path / "x.pte", require_full_delegation=False)
    assert report == LoweringReport(
        delegated_ops=report.delegated_ops, undelegated_ops={"aten.cumsum.default": 1}, num_delegates=2
    )
    assert report.blocking_ops == {"aten.cumsum.default": 1}
    with torch.no_grad():
        expected = model(image).numpy()
    (actual,) = run_model(tmp_path / "x.pte", [image.numpy()])
    assert np.abs(actual - expected).max() <= 1e-4 * np.abs(expected).max()
    assert read_metadata(tmp_path / "x.pte") == {}


def test_untraceable_model_names_the_problem(tmp_path):
    with pytest.raises(
        ExportError, match=r"torch\.export failed: data-dependent control flow.*if x\.mean\(\) > 0"
    ):
        export_executorch(DataDependent(), _images(1, 5)[0], tmp_path / "x.pte")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantize": "int8"}, "needs calibration batches"),
        ({"quantize": "int4", "calibration": [torch.zeros(1, 3, SIZE, SIZE)]}, "unknown quantize 'int4'"),
        (
            {"quantize": "int8", "calibration": [torch.zeros(1, 3, 32, 32)]},
            r"calibration batch 0 is .*\(1, 3, 32, 32\)",
        ),
        ({"metadata": {"forward": "x"}}, "not a valid method name"),
        ({"metadata": {"my-key": "x"}}, "not a valid method name"),
        ({"metadata": {"manifest": b"x"}}, "must be a str"),
        (
            {
                "quantize": "int8",
                "calibration": [torch.zeros(1, 3, SIZE, SIZE)],
                "keep_float_modules": ["heads"],
            },
            "keep_float_modules not found in the model: heads",
        ),
    ],
)
def test_bad_arguments_are_refused_before_exporting(tmp_path, kwargs, message):
    with pytest.raises(ExportError, match=message):
        export_executorch(SmallNet(), torch.zeros(1, 3, SIZE, SIZE), tmp_path / "x.pte", **kwargs)


def test_export_run_and_read_print_nothing(tmp_path, capfd):
    """torch's FutureWarnings and the runtime's cpuinfo/XNNPACK lines are silenced, not shown to the user."""
    torch.manual_seed(0)
    image = _images(1, 8)[0]
    path = tmp_path / "small.pte"
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_executorch(SmallNet().eval(), image, path, metadata={"note": "x"})
        run_model(path, [image.numpy()])
        assert read_metadata(path) == {"note": "x"}
    assert [str(w.message) for w in caught] == []
    assert capfd.readouterr() == ("", "")


def test_weight_only_modules_get_int8_weights_and_dynamic_activations(zoo, sample, int8_artifacts, tmp_path):
    program = _quantize(
        zoo, sample, _images(2, seed=3), keep_float_modules=("head", "simcc"), weight_only_modules=("simcc",)
    )
    ops = {}
    for node in program.graph.nodes:
        if node.op == "call_function" and node.target == torch.ops.aten.linear.default:
            ops["weight"] = node.args[1].target
            ops["input"] = node.args[0].target
    assert ops["weight"] == torch.ops.quantized_decomposed.dequantize_per_channel.default
    # the activation is quantized at run time (choose_qparams -> quantize -> dequantize: qd8-f32-qc8w)
    assert "dequantize_per_tensor" in str(ops["input"])

    path = tmp_path / "wo.pte"
    report = export_executorch(
        zoo,
        sample,
        path,
        quantize="int8",
        calibration=_images(8, seed=2),
        keep_float_modules=("head", "simcc"),
        weight_only_modules=("simcc",),
    )
    assert report.blocking_ops == {} and report.num_delegates == 1
    keep_size = int8_artifacts["int8"][0].stat().st_size
    assert path.stat().st_size < keep_size - 2 * zoo.simcc.weight.numel()  # 4 -> 1 byte per weight
    with torch.no_grad():
        expected = [t.numpy().ravel() for t in zoo(sample)]
    for got, want in zip(run_model(path, [sample.numpy()]), expected, strict=True):
        assert np.corrcoef(got.ravel(), want)[0, 1] > 0.99


def test_weight_only_module_names_are_checked(zoo, sample, tmp_path):
    with pytest.raises(ExportError, match="weight_only_modules not found in the model: nope"):
        export_executorch(
            zoo,
            sample,
            tmp_path / "x.pte",
            quantize="int8",
            calibration=_images(1, 1),
            weight_only_modules=["nope"],
        )
