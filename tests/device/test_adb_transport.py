"""The adb transport and `mobilesdk devices` against the emulated phone (tests/phone), driven by the real adb —
Debian's 29.0.6 and platform-tools' 36.0.0, each test once per version (the ``adb_server`` parameter)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mobilesdk.cli.main import cli
from mobilesdk.device.adb import Adb
from mobilesdk.device.transport import DeviceDisconnected, DeviceError, DeviceStorageFull
from tests.phone.conftest import adb_server, phone, phone_factory  # noqa: F401
from tests.phone.harness import EmulatedPhone


def _adb(p) -> Adb:
    return Adb(path=p.server.adb, env=p.server.env)


def test_run_quotes_arguments_and_reports_exit_codes(phone):  # noqa: F811
    dev = _adb(phone).device(phone.serial)
    r = dev.run(["sh", "-c", 'printf "%s|" "$@"; echo err >&2; exit 7', "argv0", "a b", "it's", "$HOME", "*"])
    assert r.stdout == "a b|it's|$HOME|*|"  # each element arrived as one argument, nothing expanded
    assert r.exit_code == 7 and r.stderr.strip() == "err"
    assert dev.run(["true"]).exit_code == 0
    assert dev.check(["getprop", "ro.soc.model"]).strip() == phone.profile["props"]["ro.soc.model"]
    with pytest.raises(DeviceError, match=r"failed \(exit 3\)"):
        dev.check(["sh", "-c", "exit 3"])


def test_a_dropped_transport_is_never_a_result(phone_factory):  # noqa: F811
    """adb 29 exits 0 and adb 36 exits 255 with no message: neither may pass for a finished command."""
    p = phone_factory(faults={"drop": {"command": "sleep 5", "after_s": 0.5}})
    dev = _adb(p).device(p.serial)
    with pytest.raises(DeviceDisconnected, match="connection dropped while `sh -c echo started; sleep 5`"):
        dev.run(["sh", "-c", "echo started; sleep 5"], timeout=30)


def test_without_shell_v2_the_exit_status_still_comes_through(phone_factory):  # noqa: F811
    p = phone_factory(faults={"no_shell_v2": True})
    dev = _adb(p).device(p.serial)
    assert not dev.shell_v2
    r = dev.run(["sh", "-c", "echo out; echo err >&2; exit 5"])
    assert r.exit_code == 5  # adb itself exits 0 here
    assert "out" in r.stdout and "err" in r.stdout  # merged streams


def test_push_pull_and_full_storage(phone_factory, tmp_path):  # noqa: F811
    p = phone_factory(storage_bytes=4 << 20)
    dev = _adb(p).device(p.serial)
    data = bytes(range(256)) * 4096  # 1 MiB
    (tmp_path / "a.bin").write_bytes(data)
    seen = []
    dev.push(
        tmp_path / "a.bin", "/data/local/tmp/a.bin", progress=lambda done, total: seen.append((done, total))
    )
    assert seen[0] == (0, len(data)) and seen[-1] == (len(data), len(data))
    dev.pull("/data/local/tmp/a.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
    (tmp_path / "big.bin").write_bytes(b"\0" * (8 << 20))
    with pytest.raises(DeviceStorageFull, match="no space left on the phone"):
        dev.push(tmp_path / "big.bin", "/data/local/tmp/big.bin")
    with pytest.raises(DeviceError, match="pull /data/local/tmp/nothing failed"):
        dev.pull("/data/local/tmp/nothing", tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_a_killed_command_reports_its_signal(phone_factory):  # noqa: F811
    p = phone_factory(faults={"kill": {"match": "^sleep 30", "signal": 9, "after_s": 0.3, "times": 2}})
    dev = _adb(p).device(p.serial)
    r = dev.run(["sh", "-c", "sleep 30; echo survived"], timeout=30)
    assert r.stdout.strip() == "survived"  # `sleep 30` died, the shell went on: its own status is echo's
    r = dev.run(["sleep", "30"], timeout=30)
    assert (r.exit_code, r.signal) == (137, 9)


def test_states_unauthorized_offline_and_unknown(phone_factory):  # noqa: F811
    u = phone_factory(faults={"unauthorized": True}, connect="unauthorized")
    o = phone_factory(faults={"offline": True}, connect="offline")
    adb = _adb(u)
    with pytest.raises(DeviceError, match="is unauthorized: accept the 'Allow USB debugging"):
        adb.device(u.serial)
    with pytest.raises(DeviceError, match="is offline: .*reconnect"):
        adb.device(o.serial)
    with pytest.raises(DeviceError, match="no phone with serial 'nope'"):
        adb.device("nope")


def test_devices_json_for_every_profile(phone_factory):  # noqa: F811
    phones = {name: phone_factory(profile=name) for name in ("galaxy-s24", "galaxy-a52s", "pixel-8")}
    hot = phone_factory(profile="galaxy-s24", thermal=EmulatedPhone.HOT_FOREVER)
    u = phone_factory(faults={"unauthorized": True}, connect="unauthorized")
    o = phone_factory(faults={"offline": True}, connect="offline")
    env = hot.server.env | {"ADB": hot.server.adb}
    res = CliRunner().invoke(cli, ["devices", "--json"], env=env)
    assert res.exit_code == 0, res.output
    got = {d["serial"]: d for d in json.loads(res.output)["devices"]}
    assert set(got) == {p.serial for p in [*phones.values(), hot, u, o]}
    for p in phones.values():
        d, props = got[p.serial], p.profile["props"]
        assert d["state"] == "device"
        assert d["model"] == props["ro.product.model"] and d["android"] == props["ro.build.version.release"]
        assert d["abis"][0] == "arm64-v8a"
        clusters = p.profile["clusters"]
        assert sum(len(c["cpus"]) for c in d["clusters"]) == sum(len(c["cpus"]) for c in clusters)
        big = max(clusters, key=lambda c: c["max_khz"])
        assert d["clusters"][-1]["cpus"] == big["cpus"]
        assert d["clusters"][-1]["max_mhz"] == round(big["max_khz"] / 1000)
        assert d["battery"]["level"] is not None and d["thermal"]["status"] == 0
    assert got[phones["galaxy-s24"].serial]["soc"]["name"] == "Snapdragon 8 Gen 3"
    assert got[phones["galaxy-s24"].serial]["clusters"][-1]["core"] == "Cortex-X4"
    assert got[phones["galaxy-a52s"].serial]["soc"]["name"] == "Snapdragon 778G"
    pixel = got[phones["pixel-8"].serial]["soc"]
    assert pixel["manufacturer"] == "Google" and pixel["name"] is None  # not a Snapdragon: no marketing name
    assert got[hot.serial]["thermal"]["status"] >= 3
    assert got[u.serial]["state"] == "unauthorized" and "RSA" in got[u.serial]["advice"]
    assert got[o.serial]["state"] == "offline" and "reconnect" in got[o.serial]["advice"]
    table = CliRunner().invoke(cli, ["devices"], env=env)
    assert table.exit_code == 0 and "SM8650" in table.output and "unauthorized" in table.output


def test_devices_without_adb_is_one_line(tmp_path):
    res = CliRunner().invoke(cli, ["devices"], env={"ADB": str(tmp_path / "adb"), "PATH": str(tmp_path)})
    assert res.exit_code == 1
    assert res.output.count("\n") == 1 and "is not an executable file" in res.output
