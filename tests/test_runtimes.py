"""Host runtime sessions: load once with a thread count, run, close; untrusted files never reach native code."""

from __future__ import annotations

import numpy as np
import pytest

from mobilesdk import manifest as mf
from mobilesdk.runtimes import RuntimeFileError, SessionError, get_runtime, runtime_for_file


def _artifact(tiny_build, runtime: str):
    m = mf.read_manifest(tiny_build / mf.MANIFEST_FILE)
    entry = next(e for e in m.artifacts if e.runtime == runtime)
    return tiny_build / entry.file, entry


def test_executorch_threads_are_set_before_load_and_the_pool_is_shared(tiny_build):
    import executorch.extension.pybindings.portable_lib as portable

    path, entry = _artifact(tiny_build, "executorch")
    runtime = get_runtime("executorch")
    with runtime.open(path, threads=1) as one:
        assert one.threads == 1 and portable._threadpool_get_thread_count() == 1
        x = np.zeros(entry.input.shape, np.float32)
        first = one.run([x])
        with pytest.raises(SessionError, match="process-wide"):
            runtime.open(path, threads=2)
        with runtime.open(path, threads=1) as same:  # the same count is fine
            np.testing.assert_array_equal(same.run([x])[0], first[0])
    with runtime.open(path, threads=2) as two:  # nothing open: the pool is resized
        assert two.threads == 2 and portable._threadpool_get_thread_count() == 2
        np.testing.assert_allclose(two.run([x])[0], first[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(SessionError, match="closed"):
        two.run([x])


def test_sessions_check_inputs(tiny_build):
    for runtime in ("executorch", "litert"):
        path, entry = _artifact(tiny_build, runtime)
        with get_runtime(runtime).open(path, threads=1) as s:
            assert s.inputs[0].shape == entry.input.shape and s.outputs[0].shape == entry.outputs[0].shape
            with pytest.raises(SessionError, match="takes float32"):
                s.run([np.zeros(entry.input.shape, np.float64)])
            with pytest.raises(SessionError, match="takes 1 input"):
                s.run([])


def test_verification_loads_each_artifact_once(tiny_build, monkeypatch):
    """One interpreter per artifact for all verification images, with the requested thread count."""
    from mobilesdk.runtimes import litert
    from mobilesdk.verify import verify_target

    opened = []
    real = litert.LiteRTSession.__init__

    def spy(self, path, threads):
        opened.append(threads)
        real(self, path, threads)

    monkeypatch.setattr(litert.LiteRTSession, "__init__", spy)
    _, results = verify_target(tiny_build, threads=1)
    assert opened == [1] and all(r.passed and r.images == 8 for r in results)


@pytest.mark.parametrize("runtime", ["executorch", "litert"])
def test_untrusted_files_are_refused_before_native_code(tmp_path, runtime):
    rt = get_runtime(runtime)
    cases = {
        "empty": b"",
        "random": np.random.default_rng(1).bytes(4096),
        "text": b"hello world, not a model",
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}{rt.extension}"
        path.write_bytes(data)
        with pytest.raises(RuntimeFileError, match="not an ExecuTorch program|not a TFLite model"):
            rt.open(path)
        with pytest.raises(RuntimeFileError):
            rt.read_metadata(path)


def test_truncated_and_corrupted_files_are_one_line_errors(tiny_build, tmp_path):
    for runtime in ("executorch", "litert"):
        path, _ = _artifact(tiny_build, runtime)
        data = path.read_bytes()
        bad = tmp_path / path.name
        for cut in (len(data) // 3, len(data) - 100):
            bad.write_bytes(data[:cut])
            with pytest.raises(RuntimeFileError) as info:
                get_runtime(runtime).open(bad).close()
            assert "\n" not in str(info.value)


def test_runtime_for_file_and_describe(tiny_build, tmp_path):
    with pytest.raises(RuntimeFileError, match="expected .pte, .tflite"):
        runtime_for_file(tmp_path / "model.onnx")
    for runtime in ("executorch", "litert"):
        path, entry = _artifact(tiny_build, runtime)
        info = runtime_for_file(path).describe(path)
        assert tuple(info["inputs"][0]["shape"]) == entry.input.shape


def test_a_non_utf8_embedded_manifest_is_a_clear_error(tiny_build, tmp_path):
    from mobilesdk.export import tflite_flatbuffer as fb

    path, _ = _artifact(tiny_build, "litert")
    model = fb.read_model(path.read_bytes())
    for entry in model.metadata:
        if fb.decode_text(entry.name) == "mobilesdk_manifest":
            model.buffers[entry.buffer].data = np.frombuffer(b"\xff\xfe\x00garbage", np.uint8)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(fb.write_model(model))
    with pytest.raises(RuntimeFileError, match="not UTF-8"):
        mf.read_embedded(bad)
