"""What a bench times: a :class:`Candidate` is loaded once, then ``run()`` is one timed inference.

Kinds: an artifact on its host runtime (ExecuTorch, LiteRT, through :mod:`mobilesdk.runtimes`), PyTorch eager,
and ONNX Runtime on the same weights (exported once with ``torch.onnx.export``). Every candidate of a round gets
the same input image, converted to what it takes.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mobilesdk.runtimes import TensorSpec

from mobilesdk.errors import MobileSDKError, first_line

COMPARE_CHOICES = ("eager", "onnxruntime")


@dataclass
class Candidate:
    name: str
    kind: str  # artifact | eager | onnxruntime
    runtime: str
    threads: int
    load_ms: float
    run: Callable[[], Any]
    close: Callable[[], None] = lambda: None
    recipe: str | None = None
    file: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    runtime_version: str | None = None


def generated_inputs(specs: Sequence[TensorSpec], seed: int = 0) -> list[np.ndarray]:
    """Inputs for a file nobody described: uniform in [-1, 1) for floats, [0, 255] for integers."""
    rng = np.random.default_rng(seed)
    out = []
    for spec in specs:
        dtype = np.dtype(spec.dtype)
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            out.append(rng.integers(max(info.min, 0), min(info.max, 255) + 1, size=spec.shape).astype(dtype))
        else:
            out.append(rng.uniform(-1.0, 1.0, size=spec.shape).astype(dtype))
    return out


def artifact(
    path: Path, runtime: str, inputs: list[np.ndarray] | None, threads: int, name: str, recipe: str | None
) -> Candidate:
    """``inputs``: what every round feeds the file; None: generated from the loaded file's own input spec."""
    from mobilesdk.runtimes import get_runtime

    session = get_runtime(runtime).open(path, threads)
    try:
        if inputs is None:
            inputs = generated_inputs(session.inputs)
        session.run(inputs)  # the first run applies XNNPACK / packs weights: part of loading, not of latency
    except BaseException:
        session.close()
        raise
    return Candidate(
        name=name,
        kind="artifact",
        runtime=runtime,
        threads=session.threads or threads,
        load_ms=session.load_seconds * 1e3,
        run=lambda: session.run(inputs),
        close=session.close,
        recipe=recipe,
        file=path.name,
        bytes=path.stat().st_size,
    )


def eager(model, x: np.ndarray, threads: int) -> Candidate:
    """PyTorch eager; the caller sets torch's thread count for the phase (:func:`torch_threads`)."""
    import torch

    tensor = torch.from_numpy(x)

    def run():
        with torch.no_grad():
            return model(tensor)

    t0 = time.perf_counter()
    run()
    return Candidate(
        "eager",
        "eager",
        f"torch {torch.__version__}",
        threads,
        (time.perf_counter() - t0) * 1e3,
        run,
        runtime_version=torch.__version__,
    )


def export_onnx(model, x: np.ndarray, path: Path, output_names: Sequence[str] | None = None) -> Path:
    """The PyTorch model as ONNX (opset 17, the TorchScript exporter: static shapes, no onnxscript needed)."""
    import torch

    from mobilesdk.export.quiet import quiet

    with quiet() as log:
        try:
            torch.onnx.export(
                model.eval(),
                (torch.from_numpy(x),),
                str(path),
                dynamo=False,
                opset_version=17,
                input_names=["image"],
                output_names=list(output_names) if output_names else None,
            )
            return path
        except Exception as exc:  # noqa: BLE001
            failure = exc
    tail = [line for line in log.text.splitlines() if line.strip()][-1:]
    raise MobileSDKError(
        f"ONNX export for --compare onnxruntime failed: {first_line(failure, 200, typed=True)}"
        + (f" [{tail[0][:200]}]" if tail else "")
    )


# The recipe name of the ONNX export's manifest artifact (runtime "onnxruntime").
ONNX_RECIPE = "onnxruntime-fp32"


def export_onnx_with_manifest(
    build_dir: Path, path: Path, *, card_path: Path | None = None, checkpoint: Path | None = None
) -> Path:
    """The PyTorch model of the build in ``build_dir`` as ONNX at ``path``, carrying the build's manifest for the
    native runner (``mobilesdk-runner --model X.onnx``) in its ``metadata_props`` under ``mobilesdk_manifest``
    (:func:`write_onnx_with_manifest`). ``card_path`` / ``checkpoint`` as for ``mobilesdk bench --compare``."""
    from mobilesdk import manifest as mf
    from mobilesdk.modeling import load_eager
    from mobilesdk.verify import card_for_manifest, checkpoint_for_manifest

    manifest = mf.read_manifest(Path(build_dir) / mf.MANIFEST_FILE)
    if not manifest.artifacts:
        raise MobileSDKError(f"{build_dir}: the build has no artifact (its manifest lists none)")
    card = card_for_manifest(manifest, card_path)
    model = load_eager(card, checkpoint_for_manifest(manifest, checkpoint))
    return write_onnx_with_manifest(manifest, model, path)


def write_onnx_with_manifest(manifest, model, path: Path) -> Path:
    """``model`` (the eager PyTorch model of ``manifest``, a :class:`mobilesdk.manifest.Manifest`) as ONNX at
    ``path`` with the manifest embedded.

    The export is the one the host bench's ONNX Runtime baseline runs (:func:`export_onnx`: NCHW float32 input
    normalised by the caller, outputs in the model's order and named as in the manifest). Its embedded manifest is
    ``manifest`` restricted to one artifact of recipe :data:`ONNX_RECIPE`, runtime ``onnxruntime``, that input
    and the build's outputs. Written to a temporary file beside ``path`` and renamed into place."""
    import os
    from dataclasses import replace

    import onnx

    from mobilesdk import fsops
    from mobilesdk.export import EMBED_KEY

    base = manifest.artifacts[0]
    w, h = base.input.size["width"], base.input.size["height"]
    entry = replace(
        base.embedded(),
        recipe=ONNX_RECIPE,
        runtime="onnxruntime",
        precision="fp32",
        input=replace(
            base.input, name="image", shape=(1, 3, h, w), layout="NCHW", dtype="float32", normalization="app"
        ),
        quantization=None,
        cache_key=None,
    )
    names = [o.name for o in entry.outputs]
    document = json.dumps(manifest.with_artifacts([entry]).embedded(ONNX_RECIPE))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / fsops.owned_name(path.name, "staging")
    try:
        export_onnx(model, np.zeros((1, 3, h, w), np.float32), staging, output_names=names)
        proto = onnx.load(str(staging))
        got = [o.name for o in proto.graph.output]
        if got != names:
            raise MobileSDKError(f"ONNX export of '{manifest.id}': outputs {got}, the manifest has {names}")
        del proto.metadata_props[:]
        prop = proto.metadata_props.add()
        prop.key, prop.value = EMBED_KEY, document
        onnx.save(proto, str(staging))
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    return path


def onnxruntime(path: Path, x: np.ndarray, threads: int) -> Candidate:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # ORT's pool spins after each run by default, stealing the cores from the next interleaved candidate.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    t0 = time.perf_counter()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    session.run(None, {name: x})
    return Candidate(
        "onnxruntime",
        "onnxruntime",
        f"onnxruntime {ort.__version__}",
        threads,
        (time.perf_counter() - t0) * 1e3,
        lambda: session.run(None, {name: x}),
        bytes=path.stat().st_size,
        runtime_version=ort.__version__,
    )


@contextlib.contextmanager
def torch_threads(threads: int):
    """Eager PyTorch at ``threads``; the previous count is restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
