"""The JNI library: its RegisterNatives table matches NativeCore.kt one to one, and the host .so loads in a JVM,
maps statuses to the documented exceptions and runs an estimator end to end (a Java smoke test)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mobilesdk.native import NATIVE_DIR

KOTLIN = (
    NATIVE_DIR.parent
    / "runtime"
    / "src"
    / "main"
    / "kotlin"
    / "io"
    / "mobilesdk"
    / "pose"
    / "internal"
    / "NativeCore.kt"
)
_JNI_TYPES = {
    "Int": "I",
    "Long": "J",
    "Boolean": "Z",
    "Float": "F",
    "Unit": "V",
    "String": "Ljava/lang/String;",
    "ByteBuffer": "Ljava/nio/ByteBuffer;",
    "FloatArray": "[F",
    "IntArray": "[I",
    "ByteArray": "[B",
    "Array<ByteBuffer>": "[Ljava/nio/ByteBuffer;",
}
_JAVA_TYPES = {
    "Int": "int",
    "Long": "long",
    "Boolean": "boolean",
    "Float": "float",
    "Unit": "void",
    "String": "String",
    "ByteBuffer": "java.nio.ByteBuffer",
    "FloatArray": "float[]",
    "IntArray": "int[]",
    "ByteArray": "byte[]",
    "Array<ByteBuffer>": "java.nio.ByteBuffer[]",
}


def kotlin_externals() -> list[tuple[str, list[str], str]]:
    """(name, parameter types, return type) of every `external fun` in NativeCore.kt, in file order."""
    text = KOTLIN.read_text()
    out = []
    for m in re.finditer(r"external\s+fun\s+(\w+)\s*\((.*?)\)\s*(?::\s*([\w<>?]+))?", text, re.S):
        params = [p.split(":", 1)[1].strip().rstrip("?") for p in m.group(2).split(",") if ":" in p]
        out.append((m.group(1), params, (m.group(3) or "Unit").rstrip("?")))
    return out


def jni_descriptor(params: list[str], ret: str) -> str:
    return "(" + "".join(_JNI_TYPES[p] for p in params) + ")" + _JNI_TYPES[ret]


def registered_natives() -> list[tuple[str, str]]:
    """(name, descriptor) of every RegisterNatives entry in jni.cpp, macros expanded."""
    src = (NATIVE_DIR / "src" / "jni.cpp").read_text()
    macros = dict(re.findall(r'#define (MSDK_\w+) ((?:"[^"]*"\s*|MSDK_\w+\s*)+)', src))

    def expand(expr: str) -> str:
        parts = re.findall(r'"([^"]*)"|(MSDK_\w+)', expr)
        return "".join(lit if lit else expand(macros[name]) for lit, name in parts)

    table = src[src.index("kMethods[] = {") :]
    rows = re.findall(
        r'\{\s*const_cast<char\*>\("(\w+)"\),\s*const_cast<char\*>\(((?:"[^"]*"\s*|MSDK_\w+\s*)+)\)', table
    )
    return [(name, expand(sig)) for name, sig in rows]


def test_register_natives_matches_kotlin_one_to_one():
    kotlin = [(name, jni_descriptor(params, ret)) for name, params, ret in kotlin_externals()]
    assert len(kotlin) >= 18
    assert registered_natives() == kotlin


def _java_source(tmp: Path) -> None:
    pkg = tmp / "io" / "mobilesdk" / "pose"
    (pkg / "internal").mkdir(parents=True)
    decls = []
    for name, params, ret in kotlin_externals():
        args = ", ".join(f"{_JAVA_TYPES[p]} a{i}" for i, p in enumerate(params))
        decls.append(f"  static native {_JAVA_TYPES[ret]} {name}({args});")
    consts = [
        f"  static final int {n} = {v};"
        for n, v in re.findall(r"const val (\w+) = (\d+)", KOTLIN.read_text())
    ]
    (pkg / "internal" / "NativeCore.java").write_text(
        "package io.mobilesdk.pose.internal;\npublic final class NativeCore {\n"
        + "\n".join(consts + decls)
        + "\n}\n"
    )
    (pkg / "PoseException.java").write_text(
        "package io.mobilesdk.pose;\npublic class PoseException extends RuntimeException {\n"
        "  public final int status;\n"
        "  public PoseException(int status, String message) { super(message); this.status = status; }\n}\n"
    )
    (pkg / "internal" / "Smoke.java").write_text(SMOKE)


SMOKE = r"""
package io.mobilesdk.pose.internal;

import io.mobilesdk.pose.PoseException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;

public final class Smoke {
  interface Call { void run() throws Exception; }

  static void expect(Class<?> cls, String needle, Call c) throws Exception {
    try {
      c.run();
    } catch (Throwable t) {
      if (!cls.isInstance(t) || !String.valueOf(t.getMessage()).contains(needle))
        throw new AssertionError("expected " + cls.getSimpleName() + " '" + needle + "', got " + t);
      return;
    }
    throw new AssertionError("expected " + cls.getSimpleName() + " '" + needle + "', nothing thrown");
  }

  static void finite(float[] out, int n) {
    for (int i = 0; i < n; i++) if (i % 4 != 2 && !Float.isFinite(out[i])) throw new AssertionError("NaN at " + i);
  }

  public static void main(String[] args) throws Exception {
    System.load(args[0]);
    String pte = args[1];
    String manifest = new String(Files.readAllBytes(Paths.get(args[2])), "UTF-8");
    if (!NativeCore.nativeVersion().startsWith("mobilesdk-native")) throw new AssertionError("version");
    if (!NativeCore.nativeHasExecuTorch()) throw new AssertionError("no executorch");

    // processor: status mapping, heap buffers, strides, stale and garbage handles
    expect(PoseException.class, "not valid JSON", () -> NativeCore.nativeCreateProcessor("{", null));
    try { NativeCore.nativeCreateProcessor("{", null); } catch (PoseException e) {
      if (e.status != 5) throw new AssertionError("status " + e.status);
    }
    expect(IllegalArgumentException.class, "manifestJson", () -> NativeCore.nativeCreateProcessor(null, null));
    long p = NativeCore.nativeCreateProcessor(manifest, "xnnpack-fp32");
    int k = NativeCore.nativeNumKeypoints(p);
    int bytes = NativeCore.nativeInputBytes(p);
    ByteBuffer input = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    ByteBuffer frame = ByteBuffer.allocateDirect(64 * 48 * 4);
    float[] affine = new float[6];
    NativeCore.nativePreprocess(p, NativeCore.FORMAT_RGBA8888, 64, 48, 0, frame, 256, 4, null, 0, 0, null, 0, 0, null, input, affine);
    expect(IllegalArgumentException.class, "direct", () -> NativeCore.nativePreprocess(p, NativeCore.FORMAT_RGBA8888, 64, 48, 0,
        ByteBuffer.allocate(64 * 48 * 4), 256, 4, null, 0, 0, null, 0, 0, null, input, affine));
    expect(IllegalArgumentException.class, "row stride", () -> NativeCore.nativePreprocess(p, NativeCore.FORMAT_RGBA8888, 64, 48, 0,
        frame, 100, 4, null, 0, 0, null, 0, 0, null, input, affine));
    expect(IllegalArgumentException.class, "even", () -> NativeCore.nativePreprocess(p, NativeCore.FORMAT_NV21, 63, 48, 0,
        frame, 64, 1, frame, 64, 2, null, 0, 0, null, input, affine));
    expect(IllegalArgumentException.class, "plane1", () -> NativeCore.nativePreprocess(p, NativeCore.FORMAT_NV21, 64, 48, 0,
        frame, 64, 1, null, 64, 2, null, 0, 0, null, input, affine));
    expect(IllegalArgumentException.class, "rotation", () -> NativeCore.nativePreprocess(p, NativeCore.FORMAT_RGBA8888, 64, 48, 45,
        frame, 256, 4, null, 0, 0, null, 0, 0, null, input, affine));
    expect(IllegalArgumentException.class, "finite", () -> NativeCore.nativePreprocess(p, NativeCore.FORMAT_RGBA8888, 64, 48, 0,
        frame, 256, 4, null, 0, 0, null, 0, 0, new float[] {Float.NaN, 0, 10, 10}, input, affine));
    expect(IllegalArgumentException.class, "roi", () -> NativeCore.nativePreprocess(p, NativeCore.FORMAT_RGBA8888, 64, 48, 0,
        frame, 256, 4, null, 0, 0, null, 0, 0, new float[] {1, 2}, input, affine));
    expect(IllegalArgumentException.class, "capacity", () -> NativeCore.nativePreprocess(p, NativeCore.FORMAT_RGBA8888, 64, 48, 0,
        frame, 256, 4, null, 0, 0, null, 0, 0, null, ByteBuffer.allocateDirect(bytes - 4), affine));
    int[] pixels = new int[64 * 48];
    NativeCore.nativePreprocessPixels(p, pixels, 64, 48, 64, 90, null, input, affine);
    expect(IllegalArgumentException.class, "stride", () -> NativeCore.nativePreprocessPixels(p, pixels, 64, 48, 32, 0, null, input, affine));
    expect(IllegalArgumentException.class, "bytes", () -> NativeCore.nativePreprocessPixels(p, new int[10], 64, 48, 64, 0, null, input, affine));
    int[] counts = NativeCore.nativeOutputCounts(p);
    ByteBuffer[] outs = new ByteBuffer[counts.length];
    for (int i = 0; i < counts.length; i++) outs[i] = ByteBuffer.allocateDirect(counts[i] * 4).order(ByteOrder.nativeOrder());
    float[] out = new float[5 * k + 10];  // NativeCore.resultSize: visibilities at 4k + 10
    NativeCore.nativeDecode(p, outs, affine, out);
    finite(out, 4 * k + 7);
    outs[0].putFloat(8, Float.NaN);
    expect(PoseException.class, "NaN", () -> NativeCore.nativeDecode(p, outs, affine, out));
    expect(IllegalArgumentException.class, "resultSize", () -> NativeCore.nativeDecode(p, outs, affine, new float[3]));
    expect(IllegalArgumentException.class, "buffers", () -> NativeCore.nativeDecode(p, new ByteBuffer[] {outs[0]}, affine, out));
    NativeCore.nativeDestroyProcessor(p);
    NativeCore.nativeDestroyProcessor(p);  // idempotent
    expect(IllegalStateException.class, "not live", () -> NativeCore.nativeNumKeypoints(p));
    expect(IllegalStateException.class, "not live", () -> NativeCore.nativeInputBytes(0));
    expect(IllegalStateException.class, "not live", () -> NativeCore.nativeOutputCounts(123456789L));

    // estimator: files, frames from every path, stale handle
    expect(PoseException.class, "cannot open", () -> NativeCore.nativeCreateEstimator("/nonexistent.pte", null, null, 0));
    expect(IllegalArgumentException.class, "num_threads", () -> NativeCore.nativeCreateEstimator(pte, null, null, -3));
    long e = NativeCore.nativeCreateEstimator(pte, null, null, 1);
    if (NativeCore.nativeEstimatorThreads(e) != 1) throw new AssertionError("threads");
    if (!NativeCore.nativeEstimatorManifest(e).contains("mobilesdk-manifest")) throw new AssertionError("manifest");
    long ep = NativeCore.nativeEstimatorProcessor(e);
    if (NativeCore.nativeNumKeypoints(ep) != k) throw new AssertionError("borrowed processor");
    NativeCore.nativeDestroyProcessor(ep);  // borrowed: a no-op
    byte[] nv21 = new byte[64 * 48 * 3 / 2];
    NativeCore.nativeEstimateBytes(e, NativeCore.FORMAT_NV21, nv21, 64, 48, 0, new int[] {0, 64 * 48, 0},
        new int[] {64, 64, 0}, new int[] {1, 2, 0}, new float[] {5, 5, 50, 40}, out);
    finite(out, 5 * k + 10);
    expect(IllegalArgumentException.class, "offsets", () -> NativeCore.nativeEstimateBytes(e, NativeCore.FORMAT_NV21, nv21, 64, 48, 0,
        new int[] {0, 99999, 0}, new int[] {64, 64, 0}, new int[] {1, 2, 0}, null, out));
    expect(IllegalArgumentException.class, "length 3", () -> NativeCore.nativeEstimateBytes(e, NativeCore.FORMAT_NV21, nv21, 64, 48, 0,
        new int[] {0}, new int[] {64}, new int[] {1}, null, out));
    NativeCore.nativeEstimatePixels(e, pixels, 64, 48, 64, 270, null, out);
    finite(out, 5 * k + 10);
    NativeCore.nativeEstimate(e, NativeCore.FORMAT_RGBA8888, 64, 48, 180, frame, 256, 4, null, 0, 0, null, 0, 0, null, out);
    finite(out, 5 * k + 10);
    expect(IllegalArgumentException.class, "outside", () -> NativeCore.nativeEstimate(e, NativeCore.FORMAT_RGBA8888, 64, 48, 0,
        frame, 256, 4, null, 0, 0, null, 0, 0, new float[] {100, 100, 200, 200}, out));
    NativeCore.nativeDestroyEstimator(e);
    NativeCore.nativeDestroyEstimator(e);
    expect(IllegalStateException.class, "not live", () -> NativeCore.nativeEstimatePixels(e, pixels, 64, 48, 64, 0, null, out));
    expect(IllegalStateException.class, "not live", () -> NativeCore.nativeNumKeypoints(ep));
    System.out.println("JNI smoke OK");
  }
}
"""


def test_jni_library_loads_and_throws_documented_exceptions(native_release, movepose_pte, tmp_path):
    javac, java = shutil.which("javac"), shutil.which("java")
    if not javac or not java:
        pytest.fail("no JDK on PATH (javac, java): ./install.sh installs one")
    assert native_release.jni is not None
    _java_source(tmp_path)
    sources = [str(p) for p in tmp_path.rglob("*.java")]
    subprocess.run(
        [javac, "-d", str(tmp_path / "classes"), *sources], check=True, capture_output=True, timeout=120
    )
    manifest = movepose_pte["dir"] / "manifest.json"
    proc = subprocess.run(
        [
            java,
            "-Xcheck:jni",
            "-cp",
            str(tmp_path / "classes"),
            "io.mobilesdk.pose.internal.Smoke",
            str(native_release.jni),
            str(movepose_pte["pte"]),
            str(manifest),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "JNI smoke OK" in proc.stdout, (proc.stdout + proc.stderr)[-4000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-2000:]  # -Xcheck:jni found nothing


def test_jni_library_path_is_exposed(native_release):
    from mobilesdk.native import jni_library_path
    from tests.fixtures import NATIVE_CACHE

    assert jni_library_path(NATIVE_CACHE) == native_release.jni
