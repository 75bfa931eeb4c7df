"""The C++ core's GoogleTest suite (shared vectors, C API contract, estimator on a real .pte and a real .tflite),
once as a release build and once under ASan + UBSan, and the libFuzzer target for a bounded time."""

from __future__ import annotations

import os
import subprocess

FUZZ_SECONDS = 60


def _run_tests(binary, pte, vectors_dir=None, nonfinite=None, extra_env=None, args=(), tflite=None):
    """Runs the GoogleTest binary (extra gtest ``args``, e.g. a filter); every selected test must pass, none skip."""
    env = {**os.environ, "MSDK_TEST_PTE": str(pte), **(extra_env or {})}
    if tflite is not None:
        env["MSDK_TEST_TFLITE"] = str(tflite)
    if vectors_dir is not None:
        env["MSDK_VECTORS_DIR"] = str(vectors_dir)
    if nonfinite is not None:
        env["MSDK_TEST_NAN_PTE"] = str(nonfinite["nan"])
        env["MSDK_TEST_INF_PTE"] = str(nonfinite["inf"])
    proc = subprocess.run(
        [str(binary), *args, "--gtest_brief=1"], capture_output=True, text=True, env=env, timeout=600
    )
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    assert "[  PASSED  ]" in proc.stdout, tail
    assert "SKIPPED" not in proc.stdout, tail  # every vector kind and the .pte tests ran
    return proc


def test_gtest_release(native_release, vectors_dir, movepose_pte, nonfinite_ptes, movepose_tflite):
    assert native_release.tests is not None and native_release.has_executorch and native_release.has_litert
    _run_tests(
        native_release.tests,
        movepose_pte["pte"],
        vectors_dir,
        nonfinite_ptes,
        tflite=movepose_tflite["tflite"],
    )
    # Passed and not skipped (checked above) and compiled in: the NaN/inf programs' test ran.
    listed = subprocess.run(
        [str(native_release.tests), "--gtest_list_tests"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "EstimatorNonFinite." in listed and "NanAndInfOutputsAreNumericErrorsNamingTheOutput" in listed


def test_gtest_integral3d_model(native_release, mobilehumanpose_pte, mobilehumanpose_tflite):
    """The estimator tests again on a model whose codec is integral-3d (one volumetric output), both runtimes."""
    _run_tests(
        native_release.tests,
        mobilehumanpose_pte["pte"],
        args=["--gtest_filter=EstimatorPte.*:EstimatorTflite.*:TfliteVerifier.*"],
        tflite=mobilehumanpose_tflite["tflite"],
    )


def test_gtest_under_asan_ubsan(native_sanitize, vectors_dir, movepose_pte, nonfinite_ptes, movepose_tflite):
    assert native_sanitize.tests is not None
    # Leaks inside the prebuilt ExecuTorch libraries (process-lifetime singletons) are not ours to fix;
    # ours are checked by the fuzzer run below, which has no ExecuTorch in the loop.
    env = {
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:detect_odr_violation=0",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    }
    _run_tests(
        native_sanitize.tests,
        movepose_pte["pte"],
        vectors_dir,
        nonfinite_ptes,
        env,
        tflite=movepose_tflite["tflite"],
    )


def test_fuzz_manifest_preprocess_decode(native_sanitize, movepose_pte, tmp_path):
    """libFuzzer over manifest parsing, the preprocess/decode arguments and .tflite verification (inputs with
    "TFL3" at bytes 4..8; seeded with a minimal valid model): ~1 minute, no crash."""
    from tests.fixtures.artifacts import tiny_tflite

    assert native_sanitize.fuzzer is not None
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    manifest = (movepose_pte["dir"] / "manifest.json").read_bytes()
    (corpus / "manifest").write_bytes(b"\x00\x00" + manifest)
    (corpus / "model.tflite").write_bytes(tiny_tflite({"mobilesdk_manifest": manifest[:1000]}))
    for i, seed in enumerate((b"\x01" + bytes(range(256)) * 4, b"\x02" + bytes(200))):
        (corpus / f"seed{i}").write_bytes(seed)
    cmd = [
        str(native_sanitize.fuzzer),
        str(corpus),
        f"-max_total_time={FUZZ_SECONDS}",
        "-max_len=8192",
        "-seed=1",  # the same mutation sequence every run (time-bounded, so not the same length)
        "-rss_limit_mb=4096",  # ASan's quarantine and shadow: ~500 MB steady here, once 2.4 GB under load
        "-malloc_limit_mb=1024",  # one allocation this big is a finding, reported with its stack
        "-timeout=10",
        "-print_final_stats=1",
    ]
    env = {
        **os.environ,
        "ASAN_OPTIONS": "detect_leaks=1",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    }
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=FUZZ_SECONDS + 120
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Done" in proc.stderr and "ERROR" not in proc.stderr, proc.stderr[-2000:]
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("leak-*"))


def _tree(folder):
    """(relative path, mtime_ns, size) of every file under ``folder``."""
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_mtime_ns, p.stat().st_size)
        for p in folder.rglob("*")
        if p.is_file()
    )


def test_native_build_is_cached(native_release, monkeypatch):
    """A second call with unchanged sources reuses the finished build: no CMake (no process at all) runs and
    no file of the build directory is touched, so warm test sessions do not compile."""
    from mobilesdk import native
    from tests.fixtures import NATIVE_CACHE

    before = _tree(native_release.build_dir)
    assert any(name == "mobilesdk_native_tests" for name, _, _ in before)

    def no_process(*args, **kwargs):
        raise AssertionError(f"build_native started a process on a warm cache: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "run", no_process)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    again = native.build_native(NATIVE_CACHE, "release")
    monkeypatch.undo()
    assert again == native_release  # the same directory and artifacts
    assert _tree(native_release.build_dir) == before
