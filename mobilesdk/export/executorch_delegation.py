"""What XNNPACK took from an edge program: the :class:`LoweringReport` and why undelegated ops block.

Full delegation and what is tolerated outside the delegate
    ``require_full_delegation=True`` fails when a compute op stays on the portable CPU kernels, with one
    exception: *graph-boundary layout/dtype ops* (:data:`BOUNDARY_OPS`: dtype casts ``_to_copy`` /
    ``_to_dim_order_copy``, ``permute_copy``, ``clone`` / ``_clone_dim_order`` and ``view_copy``) whose
    input is a user input of the graph (or another such op), or whose every consumer is the graph output (or
    another such op). Why: an app feeding camera bytes gets a graph that starts with ``uint8 NHWC -> permute
    -> float``; XNNPACK only takes fp32/fp16/quantized tensors, so a uint8 permute and the uint8->fp32 cast
    cannot be delegated, and they are single memory passes over the input (256x256x3 = 196,608 elements),
    not arithmetic. The same op *between* delegates (a cast or permute in the middle of the network) is a
    real graph break and still fails. Tolerated ops are still listed in ``undelegated_ops`` and, separately,
    in ``tolerated_ops``. ``view_copy`` ops that ``to_executorch`` turns into aliasing views (those not
    feeding the graph output) do no work and are not counted at all; ``getitem`` never is.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Layout/dtype ops tolerated outside the delegate at the graph boundary (see the module docstring).
BOUNDARY_OPS = frozenset(
    {
        "aten._to_copy.default",
        "dim_order_ops._to_dim_order_copy.default",
        "aten.permute_copy.default",
        "aten.clone.default",
        "dim_order_ops._clone_dim_order.default",
        "aten.view_copy.default",
    }
)
_VIEW_COPY = "aten.view_copy.default"


@dataclass(frozen=True)
class LoweringReport:
    """What XNNPACK took. Op names are edge-dialect overloads, e.g. ``aten.cumsum.default``."""

    delegated_ops: int  # op nodes inside XNNPACK delegates (q/dq nodes of int8 graphs included)
    undelegated_ops: dict[str, int]  # op -> count of ops left on the portable CPU kernels
    num_delegates: int
    tolerated_ops: dict[str, int] = field(default_factory=dict)  # the boundary subset of undelegated_ops
    # export-time module rewrites, e.g. large depthwise splits: {module, kernel, stride, dilation, pieces}
    rewrites: list[dict] = field(default_factory=list)

    @property
    def blocking_ops(self) -> dict[str, int]:
        """Undelegated ops that ``require_full_delegation`` rejects."""
        left = Counter(self.undelegated_ops)
        left.subtract(self.tolerated_ops)
        return {name: n for name, n in left.items() if n > 0}


def build_lowering_report(program) -> tuple[LoweringReport, dict[str, list[str]]]:
    """Count delegated / undelegated ops of an edge program; also where each undelegated op came from."""
    from executorch.exir.lowered_backend_module import get_lowered_backend_modules

    graph_module = program.graph_module
    delegates = get_lowered_backend_modules(graph_module)
    delegated = sum(
        1
        for lowered in delegates
        for node in _iter_op_nodes(lowered.original_module.graph_module.graph.nodes)
    )
    user_inputs = set(program.graph_signature.user_inputs)
    tolerated_nodes = _find_boundary_nodes(graph_module.graph, user_inputs)
    undelegated: Counter[str] = Counter()
    tolerated: Counter[str] = Counter()
    locations: dict[str, list[str]] = {}
    for node in _iter_op_nodes(graph_module.graph.nodes):
        name = _get_op_name(node)
        if name == "executorch_call_delegate" or (name == _VIEW_COPY and not _feeds_output(node)):
            continue
        undelegated[name] += 1
        if node in tolerated_nodes:
            tolerated[name] += 1
        else:
            locations.setdefault(name, []).append(_locate_node(node))
    report = LoweringReport(
        delegated_ops=delegated,
        undelegated_ops=dict(undelegated),
        num_delegates=len(delegates),
        tolerated_ops=dict(tolerated),
    )
    return report, locations


def describe_blocking_ops(blocking: Mapping[str, int], locations: Mapping[str, list[str]]) -> str:
    """One line for ``require_full_delegation``: each blocking op, its count and up to 3 of its locations."""
    parts = []
    for name, count in sorted(blocking.items()):
        seen = list(dict.fromkeys(locations.get(name, [])))
        parts.append(f"{name}: {count} at " + "; ".join(seen[:3]) + (" ..." if len(seen) > 3 else ""))
    return (
        "not fully delegated to XNNPACK; left on the portable CPU kernels: "
        + " | ".join(parts)
        + " (rewrite these ops, or export with require_full_delegation=False to accept them)"
    )


def _find_boundary_nodes(graph, user_inputs: set[str]) -> set:
    """Layout/dtype ops fed only by user inputs, or feeding only the output, through other such ops."""
    nodes = [n for n in graph.nodes if n.op == "call_function" and _get_op_name(n) in BOUNDARY_OPS]
    input_side: set = set()
    for node in nodes:  # topological order: a chain from a user input is seen from its start
        source = node.args[0] if node.args else None
        kind = getattr(source, "op", None)
        if (
            kind == "placeholder"
            and source.name in user_inputs
            or kind == "call_function"
            and source in input_side
        ):
            input_side.add(node)
    output_side: set = set()
    for node in reversed(nodes):  # consumers first: a chain into the output is seen from its end
        if node.users and all(user.op == "output" or user in output_side for user in node.users):
            output_side.add(node)
    return input_side | output_side


def _iter_op_nodes(nodes: Iterable) -> Iterable:
    return (n for n in nodes if n.op == "call_function" and _get_op_name(n) != "getitem")


def _get_op_name(node) -> str:
    target = node.target
    name = getattr(target, "__name__", None) or str(target)
    return name.removeprefix("<built-in function ").removesuffix(">")


def _feeds_output(node) -> bool:
    return any(user.op == "output" for user in node.users)


def _locate_node(node) -> str:
    """``module.path (Type), file.py:LINE `code``` for a node, from the metadata torch.export keeps."""
    stack = node.meta.get("nn_module_stack") or {}
    where = ""
    if stack:
        path, module_type = list(stack.values())[-1]
        path = path.removeprefix("L['self'].") or "<root>"
        type_name = module_type if isinstance(module_type, str) else module_type.__qualname__
        where = f"{path} ({type_name.rsplit('.', 1)[-1]})"
    frames = re.findall(r'File "([^"]+)", line (\d+), in \S+\n\s*(.*)', node.meta.get("stack_trace") or "")
    user_frames = [f for f in frames if f"{os.sep}torch{os.sep}" not in f[0]]
    if user_frames:
        file, line, code = user_frames[-1]
        where = f"{where}, {Path(file).name}:{line} `{code.strip()}`".lstrip(", ")
    return where or "unknown location"
