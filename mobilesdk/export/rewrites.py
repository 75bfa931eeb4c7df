"""The exact graph rewrites both exporters apply before conversion, on one eval-mode deep copy.

* grouped ``ConvTranspose2d`` -> grouped ``Conv2d`` + ``PixelShuffle`` (:mod:`mobilesdk.export.deconv`): XNNPACK
  (ExecuTorch) runs a grouped transposed conv group by group, litert-torch as g SLICE + TRANSPOSE_CONV pairs;
* depthwise ``Conv2d`` of more than 25 taps -> a sum of <= 25-tap pieces (:mod:`mobilesdk.export.large_kernel`),
  whose records go into the manifest's lowering report.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mobilesdk.errors import ExportError

if TYPE_CHECKING:
    import torch


def check_module_names(model: torch.nn.Module, names: Sequence[str], what: str) -> None:
    """Every dotted name in ``names`` (``keep_float_modules``, ``weight_only_modules``) is a submodule of
    ``model``; otherwise an ExportError listing the unknown ones and the model's first modules."""
    known = {name for name, _ in model.named_modules() if name}
    unknown = [name for name in names if name not in known]
    if unknown:
        sample = ", ".join(sorted(known, key=lambda n: (n.count("."), n))[:12])
        raise ExportError(f"{what} not found in the model: {', '.join(unknown)} (modules: {sample} ...)")


def prepare_module(
    model: torch.nn.Module, precision: str, *, grouped_deconv: bool, split_large_kernels: bool
) -> tuple[torch.nn.Module, list[dict]]:
    """An eval-mode deep copy of ``model`` with the rewrites applied (``model`` is not changed), and the
    records of the large-kernel splits. ``precision``: ``"fp32"`` or ``"int8"`` (the split's cost model)."""
    from mobilesdk.export.deconv import rewrite_grouped_conv_transpose
    from mobilesdk.export.large_kernel import rewrite_large_depthwise

    module = copy.deepcopy(model).eval()
    if grouped_deconv:
        rewrite_grouped_conv_transpose(module)
    rewrites = rewrite_large_depthwise(module, precision) if split_large_kernels else []
    return module, rewrites
