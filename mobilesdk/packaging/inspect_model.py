"""``mobilesdk inspect`` of one model file (``.pte``/``.tflite``, alone or as an AAR's asset): inputs, outputs,
the embedded manifest, TFLite ops with their versions and ``min_runtime_version``, ExecuTorch methods and
delegates. Findings go into the caller's report (``defects``/``warnings`` lists)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mobilesdk import manifest as mf
from mobilesdk.errors import MobileSDKError


class InspectError(MobileSDKError):
    """The file cannot be inspected (missing, unreadable, not an AAR/.pte/.tflite)."""


def check_header(path: Path) -> None:
    """A file that is not a model of its extension at all cannot be inspected (checked before any runtime)."""
    from mobilesdk.runtimes.executorch import check_program_file
    from mobilesdk.runtimes.litert import check_model_file

    try:
        (check_program_file if path.suffix.lower() == ".pte" else check_model_file)(path)
    except MobileSDKError as exc:
        raise InspectError(str(exc)) from None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def inspect_model(path: Path, report, tflite_runtime: str) -> dict[str, Any]:
    """Inputs, outputs and (TFLite) ops or (ExecuTorch) methods and delegates; the embedded manifest."""
    from mobilesdk.runtimes import get_runtime, runtime_for_file

    runtime = runtime_for_file(path)
    info: dict[str, Any] = {"runtime": runtime.name}
    try:
        embedded = mf.read_embedded(path)
        info["manifest"] = embedded.to_json()
        entry = embedded.artifacts[0]
        info.update(
            model_id=embedded.id,
            recipe=entry.recipe,
            input=entry.input.to_json(),
            outputs=[o.to_json() for o in entry.outputs],
        )
    except MobileSDKError as exc:
        report.warnings.append(f"no usable embedded mobilesdk manifest ({exc})")
    try:
        if runtime.name == "litert":
            info["describe"] = None
            info.update(_tflite_ops(path, report, tflite_runtime))
        else:
            info["describe"] = get_runtime(runtime.name).describe(path)
            info["delegates"] = _pte_delegates(path)
    except MobileSDKError as exc:
        report.defects.append(f"{path.name}: {exc}")
    return info


def _tflite_ops(path: Path, report, tflite_runtime: str) -> dict[str, Any]:
    from mobilesdk.export.tflite_flatbuffer import get_op_name
    from mobilesdk.runtimes.litert import metadata_of, open_model

    model = open_model(path)[1]
    ops: dict[str, dict[str, int]] = {}
    for sg in model.subgraphs:
        for op in sg.operators:
            key = f"{get_op_name(model, op)} v{model.operatorCodes[op.opcodeIndex].version}"
            ops.setdefault(key, {"count": 0})["count"] += 1
    minimum = metadata_of(model, path).get("min_runtime_version", "").strip("\0").strip()
    out = {
        "ops": dict(sorted(ops.items())),
        "min_runtime_version": minimum or None,
        "tflite_runtime": tflite_runtime,
    }
    if not minimum:
        report.warnings.append(
            f"{path.name}: no min_runtime_version metadata (not written by the TFLite converter?)"
        )
    elif _version(minimum) > _version(tflite_runtime):
        report.defects.append(
            f"{path.name} needs TFLite {minimum} (min_runtime_version) but the runtime declared is {tflite_runtime}"
        )
    return out


def _pte_delegates(path: Path) -> dict[str, list[str]]:
    """method -> backend ids of its delegates (e.g. forward: [XnnpackBackend]); {} if it cannot be parsed."""
    try:
        from executorch.exir._serialize._program import deserialize_pte_binary

        pte = deserialize_pte_binary(path.read_bytes())
        program = getattr(pte, "program", pte)
        return {plan.name: [d.id for d in plan.delegates] for plan in program.execution_plan}
    except Exception:  # noqa: BLE001 — an older/newer program layout: the delegates are just not listed
        return {}
