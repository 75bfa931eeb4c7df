"""Large-kernel depthwise split: exact against nn.Conv2d in eager, the planner's choices, and what the exporters
lower (no depthwise conv above 25 taps reaches XNNPACK in ExecuTorch or LiteRT).

Shapes: N=2 images, C channels (times the channel multiplier m), odd non-square inputs (13x17, 23x29) so row /
column mix-ups and stride remainders show; exports use (1, 8, 32, 32).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from mobilesdk.errors import ExportError
from mobilesdk.export.large_kernel import (
    MAX_TAPS,
    PIECE_COST,
    DilatedSplitDepthwiseConv2d,
    Piece,
    SplitDepthwiseConv2d,
    build_split_conv,
    choose_split,
    is_large_depthwise,
    plan_split,
    rewrite_large_depthwise,
    split_cost,
)
from tests.runtime_helpers import run_model

CASES = [
    # (channels, multiplier, kernel, stride, padding, dilation, bias)
    (4, 1, 7, 1, 3, 1, True),
    (4, 1, 9, 2, 4, 1, True),
    (4, 1, 6, 1, "same", 1, True),  # even kernel: PyTorch puts the odd pixel at the bottom/right
    (4, 1, 8, 2, 3, 1, False),
    (3, 1, (1, 31), 1, (0, 15), 1, True),
    (3, 1, (31, 1), 1, (15, 0), 1, True),
    (4, 1, 7, 1, 6, 2, True),  # dilation 2
    (4, 1, (7, 5), 1, "same", (2, 1), True),  # 35 taps, anisotropic dilation
    (4, 1, 7, (2, 1), (3, 0), 1, True),  # anisotropic stride and padding
    (4, 1, 7, 1, "valid", 1, True),
    (4, 1, 7, 2, 0, 1, False),
    (4, 2, 7, 1, 3, 1, True),  # channel multiplier 2
    (2, 3, 9, 2, (1, 5), (1, 2), True),
]


def _conv(channels, multiplier, kernel, stride, padding, dilation, bias, dtype=torch.float64) -> nn.Conv2d:
    conv = nn.Conv2d(
        channels,
        channels * multiplier,
        kernel,
        stride,
        padding,
        dilation=dilation,
        groups=channels,
        bias=bias,
    )
    return conv.to(dtype).eval()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"c{c[0]}m{c[1]}k{c[2]}s{c[3]}p{c[4]}d{c[5]}")
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_split_equals_the_conv_in_float64(case, precision):
    torch.manual_seed(0)
    conv = _conv(*case)
    split = build_split_conv(conv, precision)
    assert all(rows * cols <= MAX_TAPS for rows, cols in split.windows)
    for size in ((13, 17), (23, 29)):
        x = torch.randn(2, case[0], *size, dtype=torch.float64)
        with torch.no_grad():
            torch.testing.assert_close(split(x), conv(x), rtol=1e-12, atol=1e-12)


DILATED = [c for c in CASES if c[3] == 1 and c[4] not in ("valid",) and c[2] != 6]


@pytest.mark.parametrize("case", DILATED, ids=lambda c: f"c{c[0]}m{c[1]}k{c[2]}p{c[4]}d{c[5]}")
def test_dilated_form_equals_the_conv_in_float64(case):
    """The slice-free form: pieces symmetric about the centre, each a (dilated) depthwise conv with its own
    padding on the unpadded input — same taps, only the order of the additions changes."""
    torch.manual_seed(0)
    conv = _conv(*case)
    split = build_split_conv(conv, form="dilated")
    assert isinstance(split, DilatedSplitDepthwiseConv2d)
    assert all(rows * cols <= MAX_TAPS for rows, cols in split.windows)
    for size in ((13, 17), (23, 29)):
        x = torch.randn(2, case[0], *size, dtype=torch.float64)
        with torch.no_grad():
            torch.testing.assert_close(split(x), conv(x), rtol=1e-12, atol=1e-12)


def test_dilated_form_applies_where_it_is_exact():
    def form(*args, **kwargs):
        return choose_split(_conv(4, 1, *args, **kwargs), form="dilated")

    assert [(p.rows, p.cols, p.row_step, p.col_step) for p in form(7, 1, 3, 1, True).pieces] == [
        (5, 5, 1, 1),  # centre
        (2, 7, 6, 1),  # rows 0 and 6, all columns: dilation (6, 1)
        (5, 2, 1, 6),  # columns 0 and 6 of rows 1-5: dilation (1, 6)
    ]
    assert len(form(7, 1, 6, 2, True).pieces) == 3  # dilated 'same'
    default = choose_split(_conv(4, 1, 7, 1, 3, 1, True))  # the window form (see choose_split)
    assert [(p.rows, p.cols, p.row_step, p.col_step) for p in default.pieces] == [
        (3, 7, 1, 1),
        (4, 1, 1, 1),
        (4, 6, 1, 1),
    ]
    model = nn.Sequential(nn.Conv2d(4, 4, 7, padding=3, groups=4)).eval()
    x = torch.randn(1, 4, 13, 17)
    with torch.no_grad():
        want = model(x)
    (record,) = rewrite_large_depthwise(model, form="dilated")
    assert record["form"] == "dilated" and record["pieces"] == [[5, 5], [2, 7], [5, 2]]
    assert record["piece_dilations"] == [[1, 1], [6, 1], [1, 6]]
    with torch.no_grad():
        torch.testing.assert_close(model(x), want, rtol=1e-5, atol=1e-5)
    for bad in ((7, 2, 3, 1, True), (7, 1, "valid", 1, True), (6, 1, "same", 1, True)):
        # stride 2 (LiteRT would pad each piece); padding < 'same' (negative piece padding); even 'same'
        with pytest.raises(ExportError, match="no dilated split"):
            form(*bad)


@pytest.mark.parametrize("case", CASES[:4] + CASES[-2:], ids=lambda c: f"k{c[2]}s{c[3]}m{c[1]}")
def test_split_equals_the_conv_in_float32(case):
    torch.manual_seed(1)
    conv = _conv(*case, dtype=torch.float32)
    x = torch.randn(2, case[0], 23, 29)
    with torch.no_grad():
        torch.testing.assert_close(build_split_conv(conv)(x), conv(x), rtol=1e-5, atol=1e-5)


def test_planner_choices_and_their_cost():
    def shapes(kernel, precision="fp32"):
        return [(p.rows, p.cols) for p in plan_split(kernel, precision).pieces]

    naive_7x7 = split_cost([Piece(0, 0, 5, 5)] * 4)  # four zero-extended 5x5 windows
    plan = plan_split((7, 7))
    assert shapes((7, 7)) == [(3, 7), (4, 1), (4, 6)]
    assert plan.cost == 25 + 4 + 25 + 2 * PIECE_COST["fp32"] < naive_7x7
    assert shapes((7, 7), "int8") == [(1, 7), (3, 7), (3, 7)]  # no 4-tap int8 tile
    assert shapes((9, 9)) == [(1, 9), (8, 3), (8, 3), (8, 3)]
    assert shapes((1, 31)) == [(1, 6), (1, 25)]
    assert shapes((31, 1)) == [(6, 1), (25, 1)]
    for kernel in ((6, 6), (8, 8), (11, 11), (1, 51), (13, 2)):
        for precision in ("fp32", "int8"):
            split = plan_split(kernel, precision)
            assert all(p.taps <= MAX_TAPS for p in split.pieces)
            assert sum(p.taps for p in split.pieces) == kernel[0] * kernel[1]


def test_rewrite_replaces_only_large_zero_padded_depthwise_convs():
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv2d(8, 8, 3, padding=1, groups=8),  # 9 taps: fast path already
        nn.Sequential(nn.Conv2d(8, 8, 7, padding=3, groups=8), nn.ReLU()),  # rewritten
        nn.Conv2d(8, 8, 5, padding=2, groups=8),  # 25 taps: fast path already
        nn.Conv2d(8, 8, 7, padding=3),  # dense: not depthwise
        nn.Conv2d(8, 8, 7, padding=3, groups=2),  # grouped, not depthwise
        nn.Conv2d(8, 8, 7, padding=3, groups=8, padding_mode="reflect"),  # not a zero pad: left alone
        nn.Conv2d(8, 16, (1, 31), padding=(0, 15), groups=8),  # rewritten, multiplier 2
    ).eval()
    original = copy.deepcopy(model)
    records = rewrite_large_depthwise(model)
    assert [r["module"] for r in records] == ["1.0", "6"]
    assert records[0] == {
        "module": "1.0",
        "kernel": [7, 7],
        "stride": [1, 1],
        "dilation": [1, 1],
        "form": "windows",
        "pieces": [[3, 7], [4, 1], [4, 6]],
    }
    assert records[1]["form"] == "windows"
    assert isinstance(model.get_submodule("1.0"), SplitDepthwiseConv2d)
    assert isinstance(model.get_submodule("6"), SplitDepthwiseConv2d)
    for name in ("0", "2", "3", "4", "5"):
        assert type(model.get_submodule(name)) is nn.Conv2d
    assert not any(is_large_depthwise(m) for m in model.modules())
    x = torch.randn(1, 8, 20, 24)
    with torch.no_grad():
        torch.testing.assert_close(model(x), original(x), rtol=1e-5, atol=1e-5)


def test_explicit_pieces_must_cover_the_kernel_once():

    conv = _conv(4, 1, 7, 1, 3, 1, True)
    with pytest.raises(ExportError, match="every tap exactly once"):
        build_split_conv(conv, pieces=[Piece(0, 0, 3, 7), Piece(3, 0, 3, 7)])
    with pytest.raises(ExportError, match="bad piece"):
        build_split_conv(conv, pieces=[Piece(0, 0, 7, 4), Piece(0, 4, 7, 3)])


# ------------------------------------------------------------------------------------------- exporters


class LargeKernelNet(nn.Module):
    """(1, 8, 32, 32) -> (1, 16, 16, 16): 1x1, 7x7 depthwise s1 + BN + ReLU, 9x9 depthwise s2, 1x1."""

    def __init__(self) -> None:
        super().__init__()
        self.pw = nn.Conv2d(8, 16, 1)
        self.dw7 = nn.Conv2d(16, 16, 7, padding=3, groups=16, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.dw9 = nn.Conv2d(16, 16, 9, stride=2, padding=4, groups=16)
        self.out = nn.Conv2d(16, 16, 1)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        return self.out(self.dw9(torch.relu(self.bn(self.dw7(self.pw(x))))))


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(3)
    return LargeKernelNet().eval()


@pytest.fixture(scope="module")
def sample():
    return torch.randn(1, 8, 32, 32, generator=torch.Generator().manual_seed(4))


def _max_rel(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def test_executorch_lowers_only_small_depthwise_convs(net, sample, tmp_path):
    from executorch.exir.lowered_backend_module import get_lowered_backend_modules

    from mobilesdk.export import executorch as et
    from mobilesdk.export.quiet import quiet

    before = copy.deepcopy(net.state_dict())
    module, rewrites = et._prepare_module(net, None, True)
    with quiet():
        edge = et._export_and_lower(module, sample, None, (), (), {})
    taps = []
    for lowered in get_lowered_backend_modules(edge.exported_program().graph_module):
        for node in lowered.original_module.graph_module.graph.nodes:
            if node.op == "call_function" and "convolution" in str(node.target) and node.args[8] > 1:
                kh, kw = node.args[1].meta["val"].shape[-2:]
                taps.append(kh * kw)
    assert taps and max(taps) <= MAX_TAPS
    assert len(taps) == sum(len(r["pieces"]) for r in rewrites)

    report = et.export_executorch(net, sample, tmp_path / "net.pte")
    assert not report.undelegated_ops and report.num_delegates == 1
    assert [r["module"] for r in report.rewrites] == ["dw7", "dw9"]
    with torch.no_grad():
        expected = net(sample).numpy()
    (actual,) = run_model(tmp_path / "net.pte", [sample.numpy()])
    assert _max_rel(actual, expected) <= 1e-4
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())  # caller's model untouched
    assert type(net.dw7) is nn.Conv2d


def _depthwise_filters(path) -> list[tuple[int, ...]]:
    """Filter shapes (1, kh, kw, C*m) of every DEPTHWISE_CONV_2D in a .tflite file."""
    from mobilesdk.export.tflite_flatbuffer import get_op_name, read_model

    model_t = read_model(path.read_bytes())
    shapes = []
    for subgraph in model_t.subgraphs:
        for op in subgraph.operators:
            if get_op_name(model_t, op) == "DEPTHWISE_CONV_2D":
                shapes.append(tuple(int(d) for d in subgraph.tensors[op.inputs[1]].shape))
    return shapes


@pytest.mark.parametrize("split", [True, False])
def test_litert_lowers_only_small_depthwise_convs(net, sample, tmp_path, split):
    from mobilesdk.export.litert import export_litert

    path = tmp_path / "net.tflite"
    report = export_litert(net, sample, path, split_large_kernels=split)
    filters = _depthwise_filters(path)
    largest = max(kh * kw for _, kh, kw, _ in filters)
    if split:
        assert largest <= MAX_TAPS and len(filters) == 3 + 4  # 7x7: 3 pieces, 9x9: 4 pieces
        assert [r["module"] for r in report.rewrites] == ["dw7", "dw9"]
    else:
        assert largest == 81 and not report.rewrites
    with torch.no_grad():
        expected = net(sample).numpy()
    (actual,) = run_model(path, [np.ascontiguousarray(sample.permute(0, 2, 3, 1).numpy())])
    assert _max_rel(actual, expected) <= 1e-4
    assert type(net.dw7) is nn.Conv2d


def test_batchnorm_after_the_split_conv_is_folded_into_it():
    """Converters fold a BN into the conv before it; after the split that is an add, so the rewrite folds it."""
    from mobilesdk.archs.common import ConvBNAct

    torch.manual_seed(5)
    model = nn.Sequential(ConvBNAct(8, 8, 7, groups=8), ConvBNAct(8, 8, 7, 2, groups=8)).eval()
    for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        with torch.no_grad():
            bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.uniform_(0.5, 2)
    original = copy.deepcopy(model)
    records = rewrite_large_depthwise(model)
    assert [r["folded_batchnorm"] for r in records] == ["0.1", "1.1"]
    assert isinstance(model[0][1], nn.Identity) and isinstance(model[1][1], nn.Identity)
    x = torch.randn(1, 8, 20, 20)
    with torch.no_grad():
        torch.testing.assert_close(model(x), original(x), rtol=1e-5, atol=1e-5)


def test_litert_takes_the_dilated_form_without_pad_or_slice(tmp_path):
    """The slice-free form's point: a stride-1 7x7 becomes three SAME-padded depthwise convs, one of them
    dilated per axis, on the same input — no PAD, no SLICE (the window form has one SLICE per piece and axis)."""
    from collections import Counter

    from mobilesdk.export.litert import export_litert
    from mobilesdk.export.tflite_flatbuffer import get_op_name, read_model

    torch.manual_seed(6)
    net = nn.Sequential(nn.Conv2d(8, 16, 1), nn.Conv2d(16, 16, 7, padding=3, groups=16), nn.Conv2d(16, 8, 1))
    net = net.eval()
    net[1] = build_split_conv(net[1], form="dilated")
    x = torch.randn(1, 8, 24, 24)
    path = tmp_path / "dilated.tflite"
    export_litert(net, x, path)
    model_t = read_model(path.read_bytes())
    ops = Counter(get_op_name(model_t, op) for sg in model_t.subgraphs for op in sg.operators)
    assert ops["DEPTHWISE_CONV_2D"] == 3 and not ops.get("PAD") and not ops.get("SLICE"), ops
    dilations = sorted(
        (op.builtinOptions.dilationHFactor, op.builtinOptions.dilationWFactor)
        for sg in model_t.subgraphs
        for op in sg.operators
        if get_op_name(model_t, op) == "DEPTHWISE_CONV_2D"
    )
    assert dilations == [(1, 1), (1, 6), (6, 1)]
    with torch.no_grad():
        expected = net(x).numpy()
    (actual,) = run_model(path, [np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy())])
    assert _max_rel(actual, expected) <= 1e-4
