"""The arm64 runner bundle (``mobilesdk runner build --target arm64``): self-contained (every NEEDED inside, no
RUNPATH, no build path, 16 KB-aligned LOAD segments, nothing superfluous), relocatable, and — run under
qemu-aarch64 through its launcher, so its own glibc loader is used — giving the host runner's keypoints on the
same frame. A cross build missing its engine fails; a missing cross compiler is a one-line error.

The bundle runs as on a phone: ``sh <copy>/run ...`` inside a user + mount namespace with qemu-aarch64
registered in binfmt_misc (so the launcher's ``exec ld-linux-aarch64.so.1`` runs an aarch64 ELF transparently)
and an ARM ``/proc/cpuinfo`` (LiteRT's cpuinfo crashes on the host's x86 one). One iteration, no warmup:
qemu is ~250x slower than native."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures import NATIVE_CACHE, TEST_CACHE

WHEEL_CACHE = TEST_CACHE / "wheels"
FRAME_W, FRAME_H = 160, 120

AARCH64_MAGIC = r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
AARCH64_MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
ARM_CPUINFO = "".join(
    f"processor\t: {i}\nBogoMIPS\t: 38.40\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp "
    "asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\n"
    "CPU part\t: 0xd0b\nCPU revision\t: 0\n\n"
    for i in range(4)
)  # 4 x Cortex-A76
# In the namespace: binfmt_misc with qemu-aarch64, an ARM cpuinfo, then the command.
NS_SETUP = (
    'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && printf "%s" "$MSDK_BINFMT" '
    '> /proc/sys/fs/binfmt_misc/register && mount --bind "$MSDK_CPUINFO" /proc/cpuinfo && exec "$@"'
)


@pytest.fixture(scope="module")
def arm64_bundle():
    from mobilesdk.native_cross import build_arm64_bundle

    return build_arm64_bundle(NATIVE_CACHE, WHEEL_CACHE)


@pytest.fixture(scope="module")
def frame(tmp_path_factory) -> Path:
    from PIL import Image

    from mobilesdk.synthetic import make_samples

    images, _ = make_samples(1, 17, FRAME_W, FRAME_H, [(0, 1), (1, 2), (5, 6)], seed=5)
    path = tmp_path_factory.mktemp("arm64") / "frame.png"
    Image.fromarray(images[0]).save(path)
    return path


def run_arm64(args: list[str], tmp: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``args`` (e.g. ``["sh", ".../run", ...]``) with aarch64 ELF files running under qemu-aarch64."""
    qemu = shutil.which("qemu-aarch64")
    assert qemu, "qemu-aarch64 not found: apt-get install qemu-user (see install.sh)"
    cpuinfo = tmp / "cpuinfo"
    cpuinfo.write_text(ARM_CPUINFO)
    env = {
        **os.environ,
        "MSDK_BINFMT": f":qemu-aarch64:M::{AARCH64_MAGIC}:{AARCH64_MASK}:{qemu}:",
        "MSDK_CPUINFO": str(cpuinfo),
    }
    cmd = ["unshare", "-Urm", "--", "sh", "-c", NS_SETUP, "sh", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=900)


def final_json(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _copy_elsewhere(bundle: Path, tmp: Path) -> Path:
    """The bundle as it lands on a phone: copied to another directory (nothing may point back at the cache)."""
    dest = tmp / "data" / "local" / "tmp" / "mobilesdk"
    shutil.copytree(bundle, dest)
    return dest


def test_bundle_is_self_contained(arm64_bundle):
    from mobilesdk.native import NATIVE_DIR
    from mobilesdk.native_cross import EXECUTORCH_LIBS, check_bundle, elf_info, installed_version
    from mobilesdk.packaging.elf import check_library

    bundle = arm64_bundle.bundle_dir
    assert check_bundle(bundle) == []
    names = {p.name for p in bundle.iterdir()}
    system = {"ld-linux-aarch64.so.1", "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1"}
    expected = {"run", "bundle.json", "mobilesdk-runner", *(f"lib{n}.so" for n in EXECUTORCH_LIBS), *system}
    if arm64_bundle.has_litert:
        expected.add("libLiteRt.so")
    if arm64_bundle.has_onnxruntime:
        expected.add("libonnxruntime.so.1")
    assert expected <= names
    extra = names - expected
    assert extra <= {"libpthread.so.0", "libdl.so.2", "librt.so.1"}, extra  # glibc stubs, only when NEEDED
    assert not any("openvino" in n or "qnn" in n or "etdump" in n for n in names)

    needed = set()
    for name in names:
        info = elf_info(bundle / name)
        if info is None:
            continue
        assert info.machine == "EM_AARCH64", name
        assert info.runpath == (), (name, info.runpath)
        assert not any("/" in lib for lib in info.needed), (name, info.needed)
        report = check_library((bundle / name).read_bytes(), name, "arm64-v8a")
        assert report.aligned_16k and not report.problems, report.problems
        needed |= set(info.needed)
    assert needed <= names, needed - names
    assert extra <= needed

    # No absolute build path anywhere (the runner's __FILE__s are prefix-mapped): relocatable, reproducible.
    # (The home check skips ONNX Runtime's library, copied unchanged from its wheel: it names its builder's
    # toolchain, /opt/rh/gcc-toolset-14/root/usr/include/..., which holds "/root" when that is the home here.)
    for name in names:
        data = (bundle / name).read_bytes()
        for path in (str(NATIVE_DIR), str(arm64_bundle.build_dir.parent), str(Path.home())):
            if path == str(Path.home()) and name == "libonnxruntime.so.1":
                assert (path + "/").encode() not in data.replace(b"/opt/rh/gcc-toolset-14/root/", b""), name
                continue
            assert path.encode() not in data, (name, path)

    info = json.loads((bundle / "bundle.json").read_text())
    assert info["target"]["abi"] == "arm64-v8a" and info["runner"] == "mobilesdk-runner"
    assert info["versions"]["executorch"] == installed_version("executorch")
    assert info["versions"]["glibc"].startswith("2.")
    if arm64_bundle.has_litert:
        assert info["versions"]["litert"] == installed_version("ai-edge-litert")
    if arm64_bundle.has_onnxruntime:
        assert info["versions"]["onnxruntime"] == installed_version("onnxruntime")
    assert info["engines"] == [
        "executorch",
        *(["litert"] if arm64_bundle.has_litert else []),
        *(["onnxruntime"] if arm64_bundle.has_onnxruntime else []),
    ]
    listed = {f["path"]: f for f in info["files"]}
    assert set(listed) == names - {"bundle.json"}
    for name, entry in listed.items():
        data = (bundle / name).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest(), name
    assert os.access(bundle / "run", os.X_OK) and os.access(bundle / "mobilesdk-runner", os.X_OK)


def test_bundle_under_qemu_equals_host_runner(arm64_bundle, native_release, movepose_pte, frame, tmp_path):
    args = ["--model", str(movepose_pte["pte"]), "--image", str(frame)]
    args += ["--iterations", "1", "--warmup", "0", "--threads", "1"]
    host = subprocess.run([str(native_release.runner), *args], capture_output=True, text=True, timeout=300)
    want = final_json(host)
    copy = _copy_elsewhere(arm64_bundle.bundle_dir, tmp_path)
    got = final_json(run_arm64(["sh", str(copy / "run"), *args], tmp_path, cwd=tmp_path))
    print(
        f"arm64 under qemu: load {got['load_ms']:.0f} ms, total {got['stages']['total']['p50']:.0f} ms "
        f"(host: load {want['load_ms']:.1f} ms, total {want['stages']['total']['p50']:.2f} ms)"
    )
    assert [k["name"] for k in got["keypoints"]] == [k["name"] for k in want["keypoints"]]
    xy = np.array([[k["x"], k["y"]] for k in got["keypoints"]])
    want_xy = np.array([[k["x"], k["y"]] for k in want["keypoints"]])
    np.testing.assert_allclose(xy, want_xy, atol=1e-3, rtol=0, err_msg="arm64 vs host runner (px)")
    scores = np.array([k["score"] for k in got["keypoints"]])
    want_scores = np.array([k["score"] for k in want["keypoints"]])
    np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=1e-3)


def test_bundle_under_qemu_runs_tflite_like_host(
    arm64_bundle, native_release, movepose_tflite, frame, tmp_path
):
    """The LiteRT engine of the bundle (libLiteRt.so of the aarch64 wheel) on a .tflite: keypoints equal the host
    runner's and the reference path's (mobilesdk.preprocess -> ai_edge_litert -> numpy codec -> frame pixels)."""
    from PIL import Image

    from mobilesdk import preprocess as pp
    from mobilesdk.cards import load_card
    from mobilesdk.codecs import codec_for
    from tests.runtime_helpers import run_model

    assert arm64_bundle.has_litert, "the native core has the LiteRT engine, the bundle must carry it"
    copy = _copy_elsewhere(arm64_bundle.bundle_dir, tmp_path)
    args = ["--model", str(movepose_tflite["tflite"]), "--image", str(frame)]
    args += ["--iterations", "1", "--warmup", "0", "--threads", "1"]
    got = final_json(run_arm64(["sh", str(copy / "run"), *args], tmp_path, cwd=tmp_path))
    print(
        f"arm64 LiteRT under qemu: load {got['load_ms']:.0f} ms, total {got['stages']['total']['p50']:.0f} ms"
    )
    assert native_release.has_litert, "the host runner has no LiteRT engine"
    host = subprocess.run([str(native_release.runner), *args], capture_output=True, text=True, timeout=300)
    want = final_json(host)
    for key, atol in (("x", 1e-3), ("y", 1e-3), ("score", 1e-4)):
        np.testing.assert_allclose(
            [k[key] for k in got["keypoints"]], [k[key] for k in want["keypoints"]], atol=atol, rtol=0,
            err_msg=f"arm64 vs host runner: {key}",
        )  # fmt: skip

    card = load_card(movepose_tflite["card"])
    spec = movepose_tflite["artifact"]["input"]
    image = np.asarray(Image.open(frame).convert("RGB"))
    x, matrix = pp.preprocess(
        pp.Frame.from_array(image, "rgb"), card.input, layout=spec["layout"], dtype=spec["dtype"]
    )
    roles = [o["role"] for o in movepose_tflite["artifact"]["outputs"]]
    kps = codec_for(card).decode(dict(zip(roles, run_model(movepose_tflite["tflite"], [x]), strict=True)))
    want_xy = pp.keypoints_to_frame(kps.xy[0], matrix)
    xy = np.array([[k["x"], k["y"]] for k in got["keypoints"]])
    np.testing.assert_allclose(xy, want_xy, atol=1e-3, rtol=0, err_msg="arm64 LiteRT vs reference (px)")
    scores = np.array([k["score"] for k in got["keypoints"]])
    np.testing.assert_allclose(scores, kps.scores[0], atol=1e-4, rtol=1e-3)


def test_launcher_from_any_directory(arm64_bundle, tmp_path):
    """`sh run` inside the bundle and `sh rel/run` from above it (Android's sh gives $0 as typed); the runner
    then starts (its usage error: exit 2, one line)."""
    copy = _copy_elsewhere(arm64_bundle.bundle_dir, tmp_path)
    for cwd, launcher in ((copy, "run"), (tmp_path, str(copy.relative_to(tmp_path) / "run"))):
        proc = run_arm64(["sh", launcher], tmp_path, cwd=cwd)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().splitlines() == [
            "mobilesdk-runner: error: --model is required (or --manifest with --outputs)"
        ]


def test_host_executorch_dir_without_package_fails_configure(tmp_path):
    """An ExecuTorch directory that holds no package is a configure error, not a build without the engine."""
    from mobilesdk.native import NATIVE_DIR

    empty = tmp_path / "executorch"
    empty.mkdir()
    args = [
        "cmake", "-S", str(NATIVE_DIR), "-B", str(tmp_path / "build"), f"-DMSDK_EXECUTORCH_DIR={empty}",
        "-DMSDK_BUILD_TESTS=OFF", "-DMSDK_BUILD_JNI=OFF", "-DMSDK_BUILD_RUNNER=OFF",
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "no usable ExecuTorch package in MSDK_EXECUTORCH_DIR" in " ".join(proc.stderr.split()), proc.stderr


def test_arm64_build_without_executorch_package_fails(monkeypatch, tmp_path):
    """The cross build with an unusable ExecuTorch package (its CMake config missing) stops at configure with
    one line naming it; it never yields a bundle without the engine."""
    from mobilesdk import native_cross
    from mobilesdk.native import NativeBuildError

    extract = native_cross._extract

    def without_config(wheel, members, dest):
        extract(wheel, members, dest)
        (dest / "executorch" / "share" / "cmake" / "executorch-config.cmake").unlink(missing_ok=True)

    monkeypatch.setattr(native_cross, "_extract", without_config)
    with pytest.raises(NativeBuildError) as err:
        native_cross.build_arm64_bundle(tmp_path / "cache", WHEEL_CACHE, litert=False)
    message = str(err.value)
    assert "\n" not in message and "no usable ExecuTorch package in MSDK_EXECUTORCH_DIR" in message, message
    assert not list((tmp_path / "cache").glob("arm64-*/mobilesdk"))


def test_runner_without_engine_is_rejected(arm64_bundle, tmp_path):
    from mobilesdk.native import NativeBuildError
    from mobilesdk.native_cross import _runner_checks

    fake = tmp_path / "mobilesdk-runner"
    shutil.copyfile(arm64_bundle.bundle_dir / "libm.so.6", fake)  # an aarch64 ELF that links no ExecuTorch
    with pytest.raises(NativeBuildError, match="built without its ExecuTorch engine"):
        _runner_checks(fake, litert=False)
    _runner_checks(arm64_bundle.runner, litert=arm64_bundle.has_litert)


def test_missing_cross_compiler_is_a_one_line_error(tmp_path):
    (tmp_path / "bin").mkdir()
    os.symlink(shutil.which("cmake"), tmp_path / "bin" / "cmake")
    exe = Path(sys.executable).with_name("mobilesdk")
    proc = subprocess.run(
        [str(exe), "runner", "build", "--target", "arm64", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(tmp_path / "bin")},
        timeout=120,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "aarch64 cross compiler not found on PATH" in lines[0] and "g++-aarch64-linux-gnu" in lines[0]


def test_runner_build_command_prints_the_bundle(arm64_bundle):
    from click.testing import CliRunner

    from mobilesdk.cli.main import cli

    args = [
        "runner",
        "build",
        "--target",
        "arm64",
        "--cache-dir",
        str(NATIVE_CACHE),
        "--wheel-cache",
        str(WHEEL_CACHE),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert Path(result.output.strip()) == arm64_bundle.bundle_dir
