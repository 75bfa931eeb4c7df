"""The emulated phone, driven by the real adb client (29 from Debian, 36 from the adbutils wheel).

Each test runs once per adb version (the ``adb_server`` fixture). ``EXPECT`` records what the two versions do
differently, as observed against this double (README.md has the table).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.fixtures import TEST_CACHE
from tests.phone import profiles
from tests.phone.harness import EmulatedPhone

EXPECT = {
    "adb29": {"dropped_rc": 0, "sync_error_stream": "stdout", "error_prefix": "error: "},
    "adb36": {"dropped_rc": 255, "sync_error_stream": "stderr", "error_prefix": "adb: "},
}

HELLO_C = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512], last[64] = "";
    int parts = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "CPU part", 8)) { parts++; sscanf(strchr(line, ':') + 1, "%63s", last); }
    printf("hello from arm64: argc=%d cpu_parts=%d last_part=%s\n", argc, parts, last);
    return 3;
}
"""


def cross_compile(source: str, static: bool) -> Path:
    """An arm64 build of ``source`` (cached by content under TEST_CACHE/phone)."""
    gcc = shutil.which("aarch64-linux-gnu-gcc")
    if gcc is None:
        pytest.fail(
            "aarch64-linux-gnu-gcc is missing (Debian gcc-aarch64-linux-gnu); install.sh should have installed it"
        )
    key = hashlib.sha256(f"{static}\n{source}".encode()).hexdigest()[:16]
    out = TEST_CACHE / "phone" / f"hello-{'static' if static else 'dynamic'}-{key}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        src = out.with_suffix(f".{os.getpid()}.c")
        src.write_text(source)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(
            [gcc, "-O1", *(["-static"] if static else []), "-o", str(tmp), str(src)], check=True, timeout=120
        )
        src.unlink()
        tmp.replace(out)
    return out


@pytest.fixture(scope="session")
def hello_static() -> Path:
    return cross_compile(HELLO_C, static=True)


# --------------------------------------------------------------------------------------- the adb basics


def test_connect_and_devices_list(phone, adb_server):
    listing = adb_server.run("devices", "-l").stdout
    line = next(ln for ln in listing.splitlines() if ln.startswith(phone.serial))
    assert line.split()[1] == "device"
    assert "product:e1qsqw model:SM_S921U device:e1q" in line
    assert phone.adb("get-state").stdout.strip() == "device"


def test_getprop(phone):
    assert phone.adb("shell", "getprop", "ro.soc.model").stdout == "SM8650\n"
    everything = phone.shell("getprop").stdout
    assert "[ro.soc.manufacturer]: [QTI]\n" in everything
    assert "[ro.board.platform]: [pineapple]\n" in everything
    lines = everything.splitlines()
    assert all(ln.startswith("[") and ln.endswith("]") for ln in lines)
    keys = [ln[1 : ln.index("]")] for ln in lines]
    assert keys == sorted(keys) and len(keys) > 30
    assert phone.shell("getprop no.such.prop; getprop no.such.prop fallback").stdout == "\nfallback\n"
    set_ro = phone.shell("setprop ro.soc.model X; echo rc=$?; setprop debug.x 1; getprop debug.x")
    assert set_ro.stdout == "rc=1\n1\n" and "Failed to set property" in set_ro.stderr


def test_exit_codes_and_streams_through_shell_v2(phone):
    r = phone.shell("echo out; echo err >&2; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, "out\n", "err\n")
    assert phone.adb("shell", "false").returncode == 1
    assert phone.adb("shell", "true").returncode == 0
    assert phone.shell("exit 255").returncode == 255


def test_arguments_are_joined_with_spaces(phone):
    # adb joins its arguments with spaces: the device's shell splits them again ("c d" becomes two words)
    assert phone.adb("shell", "printf", "[%s]", "a", "b", "c d").stdout == "[a][b][c][d]"
    assert phone.adb("shell", "echo", "$((6*7))").stdout == "42\n"


def test_stdin_is_forwarded(phone, adb_server):
    assert phone.adb("shell", "cat", input=b"hello\n").stdout == "hello\n"
    blob = os.urandom(300_000)
    r = adb_server.run_bytes("-s", phone.serial, "shell", "cat", input=blob)
    assert r.returncode == 0 and r.stdout == blob


def test_push_and_pull_are_byte_exact(phone, tmp_path):
    data = os.urandom(4 << 20)
    local = tmp_path / "model.bin"
    local.write_bytes(data)
    push = phone.adb("push", str(local), "/data/local/tmp/model.bin")
    assert push.returncode == 0, push
    assert "1 file pushed" in push.stdout + push.stderr
    remote_sum = phone.shell("sha256sum /data/local/tmp/model.bin").stdout.split()[0]
    assert remote_sum == hashlib.sha256(data).hexdigest()
    pull = phone.adb("pull", "/data/local/tmp/model.bin", str(tmp_path / "back.bin"))
    assert pull.returncode == 0, pull
    assert (tmp_path / "back.bin").read_bytes() == data
    missing = phone.adb("pull", "/data/local/tmp/nope", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "No such file or directory" in missing.stdout + missing.stderr


def test_pushed_file_in_data_local_tmp_executes(phone, tmp_path):
    script = tmp_path / "tool.sh"
    script.write_text('#!/system/bin/sh\necho "tool ran in $PWD with $#: $*"\n')
    script.chmod(0o755)
    assert phone.adb("push", str(script), "/data/local/tmp/").returncode == 0
    r = phone.shell("cd /data/local/tmp && ./tool.sh x y")
    assert r.stdout == "tool ran in /data/local/tmp with 2: x y\n"
    # adb push copies the owner's bits to group and other (adbd's rule): 0755 -> 0777, 0644 -> 0666
    assert phone.shell("stat -c %a /data/local/tmp/tool.sh").stdout == "777\n"


def test_pushed_directory_tree_keeps_modes_and_runs_like_the_runner_bundle(phone, tmp_path):
    """The arm64 runner bundle's layout and start: ``./ld-linux-aarch64.so.1 --library-path DIR DIR/runner``."""
    loader, libc = (
        Path("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"),
        Path("/usr/aarch64-linux-gnu/lib/libc.so.6"),
    )
    if not (loader.exists() and libc.exists()):
        pytest.fail("arm64 glibc is missing (Debian libc6-arm64-cross); install.sh should have installed it")
    bundle = tmp_path / "bundle"
    (bundle / "lib").mkdir(parents=True)
    shutil.copy(cross_compile(HELLO_C, static=False), bundle / "mobilesdk-runner")
    shutil.copy(loader, bundle / "ld-linux-aarch64.so.1")
    shutil.copy(libc, bundle / "lib" / "libc.so.6")
    (bundle / "lib" / "notes.txt").write_text("data\n")
    for f, mode in (("mobilesdk-runner", 0o755), ("ld-linux-aarch64.so.1", 0o755), ("lib/libc.so.6", 0o644), ("lib/notes.txt", 0o644)):  # fmt: skip
        (bundle / f).chmod(mode)
    # to a directory that does not exist yet: the bundle's content lands in it (adb 29 and 36 alike)
    push = phone.adb("push", str(bundle), "/data/local/tmp/x/")
    assert push.returncode == 0, push
    modes = phone.shell(
        "cd /data/local/tmp/x && stat -c '%n %a' mobilesdk-runner ld-linux-aarch64.so.1 lib/libc.so.6 lib/notes.txt"
    ).stdout
    assert modes.split("\n")[:4] == [
        "mobilesdk-runner 777",
        "ld-linux-aarch64.so.1 777",
        "lib/libc.so.6 666",
        "lib/notes.txt 666",
    ]
    run = phone.shell(
        "cd /data/local/tmp/x && ./ld-linux-aarch64.so.1 --library-path $PWD/lib $PWD/mobilesdk-runner a b"
    )
    assert run.returncode == 3, run
    assert run.stdout == "hello from arm64: argc=3 cpu_parts=8 last_part=0xd82\n"
    # again, now that x exists: adb puts the directory inside it
    assert phone.adb("push", str(bundle), "/data/local/tmp/x/").returncode == 0
    assert (
        phone.shell("test -x /data/local/tmp/x/bundle/mobilesdk-runner && echo nested").stdout == "nested\n"
    )


def test_static_arm64_binary_runs_and_sees_the_arm_cpuinfo(phone, hello_static):
    assert phone.adb("push", str(hello_static), "/data/local/tmp/hello").returncode == 0
    r = phone.shell("/data/local/tmp/hello one two")
    assert r.returncode == 3, r  # the exit code comes back through shell_v2
    assert r.stdout == "hello from arm64: argc=3 cpu_parts=8 last_part=0xd82\n"
    assert phone.shell("cat /proc/sys/fs/binfmt_misc/qemu-aarch64").stdout.startswith("enabled\n")


# ------------------------------------------------------------------------------ the phone's Android side


@pytest.mark.parametrize("name", sorted(profiles.PROFILES))
def test_profile_topology_in_sysfs_and_cpuinfo(phone_factory, name):
    p = phone_factory(profile=name)
    prof = profiles.get(name)
    script = (
        "cd /sys/devices/system/cpu; cat possible online; "
        'for c in cpu[0-9]*; do echo "${c#cpu} $(cat $c/cpufreq/cpuinfo_max_freq) $(cat $c/cpufreq/related_cpus)"; done; '
        "grep -c '^processor' /proc/cpuinfo; grep '^CPU part' /proc/cpuinfo | sort | uniq -c | wc -l; "
        "grep -m1 '^Features' /proc/cpuinfo"
    )
    lines = p.shell(script).stdout.splitlines()
    n = prof["ncpus"]
    assert lines[0] == lines[1] == f"0-{n - 1}"
    per_cpu = {int(ln.split()[0]): ln.split(maxsplit=2)[1:] for ln in lines[2 : 2 + n]}
    for cl in prof["clusters"]:
        for cpu in cl["cpus"]:
            assert per_cpu[cpu] == [str(cl["max_khz"]), " ".join(map(str, cl["cpus"]))]
    assert lines[2 + n] == str(n)
    assert int(lines[3 + n]) == len({cl["part"] for cl in prof["clusters"]})
    assert "asimddp" in lines[4 + n]
    assert p.shell("getprop ro.soc.model; getprop ro.soc.manufacturer").stdout.split("\n")[:2] == [
        prof["props"]["ro.soc.model"],
        prof["props"]["ro.soc.manufacturer"],
    ]


def test_taskset_records_the_mask_and_runs_the_command(phone):
    r = phone.shell("taskset 80 cat /sys/devices/system/cpu/cpu7/cpufreq/cpuinfo_max_freq")
    assert (r.returncode, r.stdout) == (0, "3398400\n")
    call = phone.taskset_calls()[-1]
    assert call["mask"] == "80" and call["cpus"] == [7] and call["argv"][0] == "cat"
    bad = phone.shell("taskset 100 true")  # cpu8 does not exist on an 8-core phone
    assert bad.returncode == 1 and "Invalid argument" in bad.stderr
    assert phone.shell("taskset 0xf0 true").returncode == 1  # toybox takes bare hex only


def test_dumpsys_battery_and_fixed_performance_mode(phone):
    battery = phone.shell("dumpsys battery").stdout
    assert (
        "  level: 80\n" in battery
        and "  USB powered: true\n" in battery
        and "  temperature: 285\n" in battery
    )
    phone.shell("dumpsys battery unplug; dumpsys battery set level 20")
    unplugged = phone.shell("dumpsys battery").stdout
    assert (
        "(UPDATES STOPPED" in unplugged
        and "  USB powered: false\n" in unplugged
        and "  level: 20\n" in unplugged
    )
    assert phone.shell("cat /sys/class/power_supply/battery/capacity").stdout == "20\n"
    phone.shell("dumpsys battery reset")
    assert "  level: 80\n" in phone.shell("dumpsys battery").stdout
    policy = "/sys/devices/system/cpu/cpufreq/policy7/scaling_max_freq"
    phone.shell("cmd power set-fixed-performance-mode-enabled true")
    capped = int(phone.shell(f"cat {policy}").stdout)
    assert capped < 3398400
    phone.shell("cmd power set-fixed-performance-mode-enabled false")
    assert phone.shell(f"cat {policy}").stdout == "3398400\n"


def test_the_phone_is_a_namespace_not_the_host(phone):
    r = phone.shell("id -u; ls /work 2>&1; touch /usr/x 2>&1; echo; df /data | tail -1")
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    assert "No such file" in lines[1] and "Permission denied" in lines[2]
    assert not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists()  # registered in the phone only


# ---------------------------------------------------------------------------------------------- faults


def test_unauthorized_phone(phone_factory, adb_server):
    p = phone_factory(faults={"unauthorized": True}, connect=None)
    out = p.connect(adb_server, expect="unauthorized")
    assert (p.connect_returncode, out.strip()) == (
        0,
        f"failed to authenticate to {p.serial}",
    )  # exits 0 anyway
    r = p.shell("true")
    assert r.returncode == 1
    assert r.stderr.startswith(EXPECT[adb_server.name]["error_prefix"] + "device unauthorized.")


def test_offline_phone(phone_factory, adb_server):
    p = phone_factory(faults={"offline": True}, connect="offline")
    r = p.shell("true")
    assert (r.returncode, r.stderr) == (1, EXPECT[adb_server.name]["error_prefix"] + "device offline\n")


def test_no_shell_v2_exits_0_with_stderr_merged(phone_factory):
    p = phone_factory(faults={"no_shell_v2": True})
    assert "shell_v2" not in p.adb("features").stdout
    r = p.shell("echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (0, "out\nerr\n", "")
    # stdin still reaches the command, but its end does not (no close-stdin without shell_v2): read one line
    assert p.adb("shell", "head -n 1", input=b"first\nsecond\n", timeout=20).stdout == "first\n"


def test_transport_dropped_mid_command(phone_factory, adb_server):
    p = phone_factory(faults={"drop": {"command": "sleep", "after_s": 0.3}})
    t = time.monotonic()
    r = p.shell("echo start; sleep 5; echo end")
    assert time.monotonic() - t < 4
    assert (r.returncode, r.stdout) == (EXPECT[adb_server.name]["dropped_rc"], "start\n")
    # the server reconnects to a phone still listening
    p.wait_state(adb_server, "device")
    assert p.shell("echo again", timeout=30).stdout == "again\n"


def test_transport_dropped_after_n_bytes_and_phone_gone(phone_factory, adb_server):
    p = phone_factory(faults={"drop": {"after_stdout_bytes": 100_000, "then": "gone"}})
    r = adb_server.run_bytes("-s", p.serial, "shell", "head -c 10000000 /dev/zero")
    assert r.returncode == EXPECT[adb_server.name]["dropped_rc"]
    assert len(r.stdout) == 100_000
    assert p.wait_state(adb_server, "device", until=False) == "offline"  # and stays so: nobody listens now
    after = p.shell("true", timeout=30)
    assert (after.returncode, after.stderr) == (
        1,
        EXPECT[adb_server.name]["error_prefix"] + "device offline\n",
    )


def test_storage_full(phone_factory, adb_server, tmp_path):
    p = phone_factory(storage_bytes=2 << 20)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\1" * (4 << 20))
    r = p.adb("push", str(big), "/data/local/tmp/big.bin")
    assert r.returncode == 1
    stream = getattr(r, EXPECT[adb_server.name]["sync_error_stream"])
    assert "remote write failed: No space left on device" in stream
    assert p.shell("ls /data/local/tmp").stdout == ""  # the partial file is removed, as adbd does
    full = phone_factory(storage_bytes=4 << 20, prefill_bytes=4 << 20)
    assert full.shell("df /data | tail -1").stdout.split()[4] == "100%"
    small = tmp_path / "small.bin"
    small.write_bytes(b"\2" * 65536)
    assert full.adb("push", str(small), "/data/local/tmp/").returncode == 1


def thermal_polls(p: EmulatedPhone, n: int) -> list[tuple[int, float]]:
    """(thermal status, SKIN degC) of n successive ``dumpsys thermalservice`` polls, as a bench preflight does."""
    out = []
    for _ in range(n):
        lines = p.shell("dumpsys thermalservice").stdout.splitlines()
        status = int(next(ln for ln in lines if ln.startswith("Thermal Status:")).split(":")[1])
        skin = next(ln for ln in lines if "mType=3," in ln)
        out.append((status, float(skin.split("mValue=")[1].split(",")[0])))
    return out


def sysfs_and_battery(p: EmulatedPhone) -> tuple[int, int]:
    """The SKIN zone in millidegrees (sysfs) and the battery in tenths of a degree (dumpsys battery get)."""
    return int(p.shell("cat /sys/class/thermal/thermal_zone4/temp").stdout), int(
        p.shell("dumpsys battery get temp").stdout
    )


def test_hot_phone_cools_down(phone_factory):
    p = phone_factory(thermal=EmulatedPhone.HOT_COOLING)
    assert sysfs_and_battery(p) == (47000, 455)
    assert thermal_polls(p, 5) == [(4, 47.0), (3, 43.0), (1, 39.0), (0, 35.0), (0, 31.0)]  # CRITICAL .. NONE
    assert sysfs_and_battery(p) == (31000, 295)  # at the floor: the battery sensor is 1.5 degC below SKIN


def test_hot_phone_that_never_cools(phone_factory):
    p = phone_factory(thermal=EmulatedPhone.HOT_FOREVER)
    assert thermal_polls(p, 4) == [(4, 47.0)] * 4
    assert sysfs_and_battery(p) == (47000, 455)


def test_phone_cooling_with_time(phone_factory):
    p = phone_factory(thermal={"start_c": 47.0, "floor_c": 31.0, "cool_per_s_c": 20.0})
    first = float(p.shell("cat /sys/class/thermal/thermal_zone4/temp").stdout) / 1000
    time.sleep(0.5)
    later = float(p.shell("cat /sys/class/thermal/thermal_zone4/temp").stdout) / 1000
    assert first - later >= 8


def test_runner_killed_by_signal(phone_factory, tmp_path):
    runner = tmp_path / "runner-loop"
    runner.write_text("#!/system/bin/sh\nwhile :; do sleep 0.05; done\n")
    runner.chmod(0o755)
    # "match" is a regex over a phone process's command line; anchored here, or the adb shell command itself
    # (`sh -c "...runner-loop..."`) would match too
    kill = {"match": "^/system/bin/sh /data/local/tmp/runner-loop", "signal": 9, "after_s": 0.3}
    p = phone_factory(faults={"kill": kill})
    assert p.adb("push", str(runner), "/data/local/tmp/").returncode == 0
    r = p.shell('/data/local/tmp/runner-loop; echo "shell saw $?"', timeout=30)
    assert (r.returncode, r.stdout) == (0, "shell saw 137\n")  # the runner died, its parent shell went on
    q = phone_factory(faults={"kill": kill})
    assert q.adb("push", str(runner), "/data/local/tmp/").returncode == 0
    assert q.shell("/data/local/tmp/runner-loop", timeout=30).returncode == 137  # the command itself: 128 + 9
