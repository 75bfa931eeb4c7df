"""`mobilesdk inspect`: passes on the built AARs, fails on deliberately broken ones, inspects .pte/.tflite."""

from __future__ import annotations

import json
import zipfile

import pytest
from click.testing import CliRunner

from mobilesdk.cli.main import cli
from mobilesdk.packaging.inspect import InspectError, inspect_file
from tests.packaging.conftest import build_shared_library, rewrite_aar


def _run(*args):
    return CliRunner().invoke(cli, ["inspect", *map(str, args)])


@pytest.mark.parametrize("runtime", ["executorch", "litert"])
def test_built_aars_pass(tiny_aars, runtime):
    result = _run(tiny_aars[runtime], "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["ok"] and doc["defects"] == [] and doc["kind"] == "aar"
    assert doc["classes"]["count"] > 50 and "io.mobilesdk.pose" in doc["classes"]["packages"]
    assert doc["model"]["embedded_manifest_matches"] is True and doc["abis"] == {}
    assert doc["android_manifest"] == {
        "package": f"io.mobilesdk.models.user_tinyheatmapnet.{runtime}",
        "min_sdk": 24,
    }
    assert [a["stored"] for a in doc["assets"]] == [True]
    assert all({"name", "bytes", "compressed"} <= set(e) for e in doc["entries"])
    # no native libraries: a warning that names what is missing, not a defect
    warning, *dependency = doc["warnings"]
    assert "libmobilesdk_pose_jni.so" in warning
    assert [d["coordinate"] for d in doc["dependencies"]][0].startswith("org.jetbrains.kotlin:kotlin-stdlib:")
    if runtime == "executorch":
        assert dependency == []
        assert "ExecuTorch engine needs" in warning and "build_android.sh" in warning
        assert doc["model"]["delegates"]["forward"] == ["XnnpackBackend"]
        assert doc["model"]["describe"]["methods"] == ["forward", "mobilesdk_manifest"]
    else:
        assert doc["model"]["ops"]["CONV_2D v1"]["count"] >= 1
        assert doc["model"]["min_runtime_version"] and doc["model"]["tflite_runtime"] == "2.16.1"
        assert len(dependency) == 1 and "libtensorflowlite_jni.so" in dependency[0]  # test below


def test_a_4k_aligned_library_of_a_runtime_dependency_is_reported_with_the_fix(tiny_aars, tmp_path):
    """TFLite 2.16.1 (what the LiteRT AAR's POM declares) ships a 4 KB-aligned libtensorflowlite_jni.so on every
    ABI: apps targeting Android 15+ are rejected by Play for it. inspect reads it from the local Maven
    repository (~/.m2, where maven-offline.sh put it) and says so, naming the library and the fix; a warning,
    since our AAR itself is right. A repository without it says the dependency was not checked."""
    result = _run(tiny_aars["litert"], "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    tflite = next(
        d for d in doc["dependencies"] if d["coordinate"] == "org.tensorflow:tensorflow-lite:2.16.1"
    )
    assert tflite["checked"] and tflite["file"].endswith("tensorflow-lite-2.16.1.aar")
    assert sorted(tflite["unaligned"]) == [
        f"jni/{abi}/libtensorflowlite_jni.so" for abi in ("arm64-v8a", "armeabi-v7a", "x86", "x86_64")
    ]
    assert all(lib["load_aligns"] and max(lib["load_aligns"]) == 4096 for lib in tflite["libraries"])
    (warning,) = [w for w in doc["warnings"] if "org.tensorflow:tensorflow-lite:2.16.1" in w]
    assert "libtensorflowlite_jni.so (arm64-v8a, armeabi-v7a, x86, x86_64) is 4 KB-aligned" in warning
    assert "16 KB-page devices" in warning and "Android 15+" in warning
    assert "com.google.ai.edge.litert:litert" in warning and "org.tensorflow.lite Java API" in warning
    text = _run(tiny_aars["litert"]).output
    assert "warning: dependency org.tensorflow:tensorflow-lite:2.16.1:" in text
    assert text.rstrip().endswith("OK")
    assert "jni/arm64-v8a/libtensorflowlite_jni.so 3.2 MB, LOAD alignment [4096, 4096, 4096]" in text
    empty = _run(tiny_aars["litert"], "--json", "--maven-repo", tmp_path)
    unchecked = json.loads(empty.output)["warnings"]
    assert any("tensorflow-lite:2.16.1: not in the local Maven repository" in w for w in unchecked)


def test_text_report(tiny_aars):
    result = _run(tiny_aars["litert"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "namespace io.mobilesdk.models.user_tinyheatmapnet.litert, minSdk 24" in out
    assert "ABIs: none" in out and "(stored)" in out and "ops: " in out and out.rstrip().endswith("OK")


def _defects(path) -> list[str]:
    result = _run(path, "--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert not doc["ok"]
    return doc["defects"]


def test_compressed_model_asset_is_a_defect(tiny_aars, tmp_path):
    name = "assets/user-tinyheatmapnet.litert-fp32.tflite"
    bad = rewrite_aar(tiny_aars["litert"], tmp_path / "c.aar", compress={name: zipfile.ZIP_DEFLATED})
    (defect,) = _defects(bad)
    assert f"{name} is compressed" in defect


def test_missing_classes_jar_is_a_defect(tiny_aars, tmp_path):
    bad = rewrite_aar(tiny_aars["executorch"], tmp_path / "m.aar", replace={"classes.jar": None})
    defects = _defects(bad)
    assert defects[0] == "classes.jar is missing (an AAR must have it)"
    assert any("facade" in d and "not in classes.jar" in d for d in defects)


def test_a_4k_aligned_library_is_a_defect_and_a_16k_one_passes(tiny_aars, tmp_path):
    lib4 = build_shared_library(tmp_path / "4k", "libextra.so", 4096).read_bytes()
    lib16 = build_shared_library(tmp_path / "16k", "libextra.so", 16384).read_bytes()
    bad = rewrite_aar(tiny_aars["litert"], tmp_path / "4k.aar", add={"jni/x86_64/libextra.so": lib4})
    (defect,) = _defects(bad)
    assert "jni/x86_64/libextra.so: LOAD segments aligned to 4096 bytes, not 16 KB" in defect
    good = rewrite_aar(tiny_aars["litert"], tmp_path / "16k.aar", add={"jni/x86_64/libextra.so": lib16})
    report = inspect_file(good)
    assert report.ok, report.defects
    assert (
        report.details["abis"]["x86_64"][0]["aligned_16k"]
        and report.details["abis"]["x86_64"][0]["machine"] == "EM_X86_64"
    )
    wrong_abi = rewrite_aar(
        tiny_aars["litert"], tmp_path / "abi.aar", add={"jni/arm64-v8a/libextra.so": lib16}
    )
    (defect,) = _defects(wrong_abi)
    assert "built for EM_X86_64" in defect and "jni/arm64-v8a/" in defect


def test_a_tampered_asset_is_a_defect(tiny_aars, tmp_path):
    name = "assets/user-tinyheatmapnet.xnnpack-fp32.pte"
    with zipfile.ZipFile(tiny_aars["executorch"]) as z:
        data = bytearray(z.read(name))
    data[-100] ^= 0xFF  # one byte of the weights
    bad = rewrite_aar(
        tiny_aars["executorch"],
        tmp_path / "t.aar",
        replace={name: bytes(data)},
        compress={name: zipfile.ZIP_STORED},
    )
    (defect,) = _defects(bad)
    assert "the model was replaced or tampered with" in defect


def test_a_swapped_record_and_facade_disagree(tiny_aars, tmp_path):
    from mobilesdk.packaging.aar import RECORD

    with zipfile.ZipFile(tiny_aars["litert"]) as z:
        record = json.loads(z.read(RECORD))
    record["manifest"]["keypoints"]["names"][0] = "not-the-nose"
    record["asset"]["sha256"] = "0" * 64
    bad = rewrite_aar(tiny_aars["litert"], tmp_path / "r.aar", replace={RECORD: json.dumps(record)})
    defects = _defects(bad)
    assert any("does not carry the recorded asset hash" in d for d in defects)
    assert any("tampered" in d for d in defects)


def test_a_tflite_needing_a_newer_runtime_is_a_defect(tiny_packaged):
    folder, _ = tiny_packaged
    tflite = folder / "user-tinyheatmapnet.litert-fp32.tflite"
    ok = _run(tflite, "--json")
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.output)
    assert doc["kind"] == "tflite" and doc["model"]["model_id"] == "user-tinyheatmapnet"
    assert doc["model"]["outputs"][0]["shape"] == [1, 17, 16, 16]
    result = _run(tflite, "--tflite-runtime", "1.0.0")
    assert (
        result.exit_code == 1
        and "needs TFLite" in result.output
        and "the runtime declared is 1.0.0" in result.output
    )


def test_pte_inspection(tiny_packaged):
    folder, _ = tiny_packaged
    result = _run(folder / "user-tinyheatmapnet.xnnpack-fp32.pte")
    assert result.exit_code == 0, result.output
    assert (
        "delegates: forward: XnnpackBackend" in result.output
        and "methods: forward, mobilesdk_manifest" in result.output
    )
    assert "input: image [1, 3, 64, 64] float32 NCHW" in result.output


def test_files_that_cannot_be_inspected(tmp_path):
    (tmp_path / "x.aar").write_bytes(b"not a zip")
    (tmp_path / "x.onnx").write_bytes(b"onnx")
    for path, match in [
        (tmp_path / "none.aar", "no such file"),
        (tmp_path, "is a directory"),
        (tmp_path / "x.aar", "not an AAR"),
        (tmp_path / "x.onnx", "not an .aar, .pte or .tflite"),
    ]:
        with pytest.raises(InspectError, match=match):
            inspect_file(path)
