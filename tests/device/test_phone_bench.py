"""`mobilesdk bench --adb-serial` end to end against the emulated phone (tests/phone) with the real adb: the arm64
runner bundle pushed and run under emulation, pinning, thermal preflight, per-stage results, history — and
every fault as a one-line error with what was measured before it kept. Timings under emulation are not phone
timings: nothing here asserts on speed."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from click.testing import CliRunner

from mobilesdk.cli.main import cli
from tests.fixtures import NATIVE_CACHE
from tests.phone.conftest import adb_server, phone_factory  # noqa: F401
from tests.phone.harness import EmulatedPhone

# The transport's own tests (test_adb_transport.py) run against adb 29 and 36; the bench above it once, with the
# platform-tools adb users have (the emulated runs are the slow part of the suite).
pytestmark = pytest.mark.parametrize("adb_server", ["adb36"], indirect=True)

FAST = [
    "--iterations",
    "2",
    "--warmup",
    "1",
    "--cooldown",
    "0",
    "--cooldown-poll",
    "0.2",
    "--frame",
    "nv21:320x240",
]


@pytest.fixture(scope="module")
def both_runtimes(movepose_pte, movepose_tflite):
    """The trained movepose-xs-128 as a .pte and a .tflite (each with its embedded manifest): two targets."""
    return [movepose_pte["pte"], movepose_tflite["tflite"]]


def _bench(p, target, tmp_path, *extra, serials=None):
    env = p.server.env | {"ADB": p.server.adb, "XDG_DATA_HOME": str(tmp_path / "data")}
    args = [
        "bench",
        *map(str, target),
        *FAST,
        "--native-cache",
        str(NATIVE_CACHE),
        "--db",
        str(tmp_path / "h.sqlite"),
    ]
    for s in serials or [p.serial]:
        args += ["--adb-serial", s]
    return CliRunner().invoke(cli, [*args, *extra], env=env)


def test_bench_on_an_emulated_snapdragon_phone(phone_factory, both_runtimes, tmp_path):  # noqa: F811
    p = phone_factory(profile="galaxy-s24", battery={"level": 20, "usb": True})
    res = _bench(p, both_runtimes, tmp_path, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    (phone,) = doc["phones"]
    assert phone["error"] is None and phone["device"]["soc"]["name"] == "Snapdragon 8 Gen 3"
    assert phone["pinning"]["cpus"] == [7] and phone["pinning"]["mask"] == "80"  # the X4 prime core
    assert [c["mask"] for c in p.taskset_calls()][-1:] == ["80"]  # what the phone's taskset was given
    assert phone["preflight"]["battery"]["level"] == 20 and any(
        "25 %" in n for n in phone["preflight"]["notes"]
    )
    assert phone["preflight"]["thermal_before"]["temperatures_c"] and phone["preflight"]["thermal_after"]
    cands = phone["result"]["candidates"]
    runtimes = sorted(c["runtime"] for c in cands)
    assert runtimes == ["mobilesdk-runner arm64 (executorch)", "mobilesdk-runner arm64 (litert)"]
    for c in cands:
        assert c["threads"] == 1 and c["core_mask"] == "80" and len(c["samples_ms"]) == 2
        assert set(c["stages"]) == {"preprocess", "inference", "decode", "total"}
        assert c["sha256"] and c["runtime_version"]
    db = sqlite3.connect(tmp_path / "h.sqlite")
    (kind, soc) = db.execute("SELECT device_kind, soc_id FROM runs").fetchone()
    assert (kind, soc) == ("phone", "SM8650")
    # cleaned up: nothing of ours left on the phone
    assert not p.device_path("/data/local/tmp/mobilesdk/models").exists()


def test_faults_are_one_line_errors(phone_factory, both_runtimes, tmp_path):  # noqa: F811
    hot = phone_factory(thermal=EmulatedPhone.HOT_FOREVER)
    res = _bench(hot, both_runtimes, tmp_path)
    assert res.exit_code == 1 and "stayed hot" in res.output and "skipped, not benchmarked" in res.output
    assert hot.taskset_calls() == []  # nothing ran
    old = phone_factory(profile="galaxy-a03-core")
    res = _bench(old, both_runtimes, tmp_path)
    assert res.exit_code == 1 and "is not an arm64 phone (ABIs: armeabi-v7a, armeabi)" in res.output
    full = phone_factory(storage_bytes=8 << 20)
    res = _bench(full, both_runtimes, tmp_path)
    assert res.exit_code == 1 and "no space left on the phone" in res.output
    killed = phone_factory(
        faults={"kill": {"match": "mobilesdk-runner --model", "signal": 9, "after_s": 0.5}}
    )
    res = _bench(killed, both_runtimes, tmp_path)
    assert res.exit_code == 1 and "killed by signal 9" in res.output
    dropped = phone_factory(faults={"drop": {"command": "/run --model", "after_s": 0.5}})
    res = _bench(dropped, both_runtimes, tmp_path)
    assert res.exit_code == 1 and "connection dropped" in res.output
    unauthorized = phone_factory(faults={"unauthorized": True}, connect="unauthorized")
    res = _bench(unauthorized, both_runtimes, tmp_path)
    assert res.exit_code == 1 and "accept the 'Allow USB debugging" in res.output
    for r in (res,):
        assert r.output.strip().splitlines()[-1].startswith("Error: ")


def test_a_failing_phone_keeps_the_others_results(phone_factory, both_runtimes, tmp_path):  # noqa: F811
    # a vendor cpuset that keeps the shell off the prime core: pinned to the fastest CPUs it may use
    good = phone_factory(profile="galaxy-s24", cpuset="0-6")
    hot = phone_factory(thermal=EmulatedPhone.HOT_FOREVER)
    other = phone_factory(profile="pixel-8")
    report = tmp_path / "phones.html"
    res = _bench(
        good,
        both_runtimes,
        tmp_path,
        "--report",
        str(report),
        serials=[good.serial, other.serial, hot.serial],
    )
    assert res.exit_code == 1, res.output
    html = report.read_text()
    assert "SM-S921U: xnnpack-fp32" in html and "Pixel 8: litert-fp32" in html  # one report, both phones
    assert "Snapdragon 8 Gen 3" in res.output and "stayed hot" in res.output  # measured, then the error
    db = sqlite3.connect(tmp_path / "h.sqlite")
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 2  # the measured phones' runs are kept
    rows = db.execute(
        "SELECT r.soc_id, c.core_mask, c.threads FROM candidates c JOIN runs r ON r.id = c.run_id"
    )
    s24 = {(mask, n) for soc, mask, n in rows if soc == "SM8650"}
    assert s24 == {("60", 2)}  # cpu5-6, the faster A720 pair
    # a hot phone that cools is waited for, then benchmarked
    cooling = phone_factory(thermal=EmulatedPhone.HOT_COOLING)
    env_args = ["--cooldown", "60"]
    res = _bench(cooling, both_runtimes, tmp_path, *env_args)
    assert res.exit_code == 0, res.output
    assert "waiting to cool" in res.output


def _stock_runner(folder, name: str, output: str):
    """A stand-in for a user's stock runner binary (an Android bionic executable cannot run in the emulated
    phone): a shell script that prints what the real one prints (tests/bench/test_stock_runners.py) and the
    arguments it was given."""
    path = folder / name
    path.write_text(f"#!/bin/sh\necho \"args: $*\" >&2\ncat <<'OUT'\n{output}OUT\n")
    path.chmod(0o755)
    return path


def test_stock_runners_are_run_pinned_parsed_and_labelled(phone_factory, both_runtimes, tmp_path):  # noqa: F811
    from tests.bench.test_stock_runners import BENCHMARK_MODEL

    p = phone_factory(profile="galaxy-s24")
    bm = _stock_runner(tmp_path, "benchmark_model", BENCHMARK_MODEL)
    res = _bench(p, both_runtimes, tmp_path, "--json", "--device-runner", str(bm))
    assert res.exit_code == 0, res.output
    cands = {c["name"]: c for c in json.loads(res.stdout)["phones"][0]["result"]["candidates"]}
    stock = cands["stock benchmark_model:litert-fp32"]  # the .tflite only: benchmark_model is LiteRT's
    assert stock["kind"] == "stock" and "stock" in stock["runtime"] and stock["core_mask"] == "80"
    assert stock["p50"] == pytest.approx(1239.807) and stock["mean"] == pytest.approx(1240.27)
    assert stock["n"] == 50 and stock["load_ms"] == pytest.approx(5.579)
    assert [c["mask"] for c in p.taskset_calls()][-1] == "80"
    broken = _stock_runner(tmp_path, "executor_runner", "I 00:00:00.000 executorch:x.cpp:1] starting\n")
    res = _bench(p, both_runtimes, tmp_path, "--device-runner", str(broken))
    assert res.exit_code == 1 and "executor_runner's output does not parse" in res.output
    other = _stock_runner(tmp_path, "mybench", "")
    res = _bench(p, both_runtimes, tmp_path, "--device-runner", str(other))
    assert res.exit_code == 1 and "cannot tell which stock runner" in res.output


def test_bundle_pushed_and_run_over_adb_gives_the_host_runners_keypoints(
    phone_factory,  # noqa: F811
    both_runtimes,
):
    """The arm64 bundle, pushed with the real `adb push` and started with the real `adb shell` on the emulated
    phone (qemu through the phone's binfmt_misc), prints the host runner's keypoints for both runtimes."""
    import subprocess

    from mobilesdk.bench.phone import _bundle_files, push_files
    from mobilesdk.build import Progress
    from mobilesdk.device.adb import Adb
    from mobilesdk.native import runner_path
    from mobilesdk.native_cross import build_arm64_bundle

    p = phone_factory(profile="pixel-8")
    dev = Adb(path=p.server.adb, env=p.server.env).device(p.serial)
    bundle = build_arm64_bundle(NATIVE_CACHE, NATIVE_CACHE.parent / "wheels")
    remote, files = _bundle_files(bundle.bundle_dir, bundle.info)
    models = [(m, f"/data/local/tmp/m/{m.name}") for m in both_runtimes]
    push_files(
        dev, files + [(m, r, hashlib.sha256(m.read_bytes()).hexdigest()) for m, r in models], Progress()
    )
    args = ["--frame", "nv21:320x240", "--warmup", "0", "--iterations", "1", "--threads", "1"]
    host = runner_path(NATIVE_CACHE)
    for model, on_phone in models:
        r = dev.run(["sh", f"{remote}/run", "--model", on_phone, *args], timeout=600)
        assert r.exit_code == 0, r.stderr or r.stdout
        phone_doc = json.loads(r.stdout.strip().splitlines()[-1])
        want = json.loads(
            subprocess.run(
                [str(host), "--model", str(model), *args], capture_output=True, text=True, check=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        assert phone_doc["runtime"]["name"] == want["runtime"]["name"]
        for a, b in zip(phone_doc["keypoints"], want["keypoints"], strict=True):
            assert a["name"] == b["name"]
            assert abs(a["x"] - b["x"]) <= 1e-3 and abs(a["y"] - b["y"]) <= 1e-3, (model.name, a, b)
            assert abs(a["score"] - b["score"]) <= 1e-4
