"""`mobilesdk bench --emulate arm64`: arm64 instructions per stage counted under qemu-aarch64 (the arm64 runner
bundle, mobilesdk's own counting plugin, the C core's stage marks), as a user and a CI rely on them: counts
repeat exactly, an unsplit 7x7 depthwise costs more than the split one, --fail-above passes within the ratio and
fails past it, and a missing piece is a one-line error. Small inputs: the 128-px fixture, a 320x240 frame,
2 iterations, one profile."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest

from tests.fixtures import NATIVE_CACHE

COUNT = ["--emulate", "arm64", "--cpu", "cortex-a76", "--iterations", "2", "--frame", "nv21:320x240"]


def mobilesdk(*args, env: dict | None = None, bundle=None):
    """``mobilesdk bench ARGS`` (in-process, as the installed command runs it) counting with the session's bundle
    (one binary for every run of a session)."""
    from click.testing import CliRunner

    from mobilesdk.cli.main import cli

    where = (
        ["--bundle", str(bundle.bundle_dir)] if bundle is not None else ["--native-cache", str(NATIVE_CACHE)]
    )
    result = CliRunner(env=env).invoke(cli, ["bench", *map(str, args), *where])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


def counts(doc: dict) -> dict:
    """(profile, candidate) -> steady stage counts and the first iteration's."""
    return {
        (p["profile"], c["name"]): ({s: v["p50"] for s, v in c["stages"].items()}, c["first_iteration"])
        for p in doc["profiles"]
        for c in p["result"]["candidates"]
    }


def test_counts_repeat_exactly_and_gate_a_ci(arm64_bundle, movepose_pte, tmp_path):
    db = tmp_path / "history.db"
    first = mobilesdk(movepose_pte["pte"], *COUNT, "--json", "--db", db, bundle=arm64_bundle)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["unit"] == "instructions" and doc["label"] == "instructions (emulated), not time"
    (key, (steady, first_it)), *rest = counts(doc).items()
    assert not rest and key == ("cortex-a76", "xnnpack-fp32")
    # a 128-px fp32 movepose-xs runs millions of arm64 instructions; preprocess and decode are smaller parts
    assert 1e6 < steady["inference"] < 1e9
    assert 0 < steady["preprocess"] < steady["inference"] and 0 < steady["decode"] < steady["inference"]
    assert steady["total"] >= steady["preprocess"] + steady["inference"] + steady["decode"]
    assert first_it["total"] >= steady["total"]  # the first iteration pays the first touches

    # Again, gated against the run just stored (baseline "last"): same counts to the instruction, within 1.0x.
    again = mobilesdk(
        movepose_pte["pte"], *COUNT, "--json", "--db", db, "--fail-above", "1.0", bundle=arm64_bundle
    )
    assert again.returncode == 0, again.stderr
    assert counts(json.loads(again.stdout)) == counts(doc)
    from click.testing import CliRunner

    from mobilesdk.cli.main import cli

    listed = CliRunner().invoke(cli, ["bench", "history", "--db", str(db)])
    assert listed.exit_code == 0 and listed.stdout.count("emulated:cortex-a76") == 2, listed.stdout

    # A baseline whose inference ran 1.3x fewer instructions: past 1.2x fails, one line per regression.
    cheaper = copy.deepcopy(doc)
    for c in cheaper["profiles"][0]["result"]["candidates"]:
        c["stages"]["inference"]["p50"] /= 1.3
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps(cheaper))
    gated = mobilesdk(
        movepose_pte["pte"],
        *COUNT,
        "--no-history",
        "--fail-above",
        "1.2",
        "--baseline",
        base,
        bundle=arm64_bundle,
    )
    assert gated.returncode == 1
    regressions = [ln for ln in gated.stderr.splitlines() if ln.startswith("regression:")]
    assert len(regressions) == 1 and "cortex-a76 xnnpack-fp32 inference" in regressions[0], gated.stderr
    assert "Error: 1 instruction count(s) above 1.2x" in gated.stderr
    assert "instructions (emulated), not time" in gated.stdout  # the table is printed before the verdict


def test_unsplit_7x7_depthwise_counts_more_than_the_split(arm64_bundle, movepose_pte, movepose_unsplit_pte):
    split_rewrites = movepose_pte["artifact"]["lowering"]["rewrites"]
    assert any(r["kernel"] == [7, 7] for r in split_rewrites)
    assert movepose_unsplit_pte["artifact"]["lowering"]["rewrites"] == []
    # both in one emulated runner process (interleaved), told apart by their folders
    proc = mobilesdk(
        movepose_pte["pte"],
        movepose_unsplit_pte["pte"],
        *COUNT,
        "--json",
        "--no-history",
        bundle=arm64_bundle,
    )
    assert proc.returncode == 0, proc.stderr
    got = {name: stages for (_, name), (stages, _) in counts(json.loads(proc.stdout)).items()}
    split_name, unsplit_name = "1:xnnpack-fp32", "2:xnnpack-fp32"  # two targets: labelled by position
    # the whole 7x7 runs as 1-channel GEMMs: well over the split's count, on the same input and pre/post path
    assert got[unsplit_name]["inference"] > 1.5 * got[split_name]["inference"], got
    # the same pre/post code on the same frame (a few hundred instructions apart: allocator state)
    assert got[unsplit_name]["preprocess"] == pytest.approx(got[split_name]["preprocess"], rel=1e-3)


@pytest.mark.parametrize("missing", ["header", "qemu"])
def test_missing_piece_is_a_one_line_error(arm64_bundle, movepose_pte, tmp_path, missing):
    if missing == "header":
        env = {"MOBILESDK_QEMU_PLUGIN_INCLUDE": str(tmp_path)}
        want = "qemu-plugin.h"
    else:
        bin_dir = tmp_path / "bin"  # the tools the command needs, but no qemu-aarch64
        bin_dir.mkdir()
        env = {"PATH": str(bin_dir)}
        want = "qemu-aarch64 not found"
    proc = mobilesdk(movepose_pte["pte"], *COUNT, "--no-history", env=env, bundle=arm64_bundle)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and want in lines[0], proc.stderr
    assert "install" in lines[0]  # and how to get it
