"""The benchmark history: storing, listing and filtering runs; the noise-aware verdict; concurrent writers, a
corrupted or newer file, unknown runs; and `mobilesdk bench` storing each run it measures."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mobilesdk.bench import history as hist
from mobilesdk.bench.compare import compare_runs, mann_whitney_u, verdict
from mobilesdk.bench.host import BenchPlan, BenchResult, CandidateResult
from mobilesdk.bench.records import Device, now_utc
from mobilesdk.bench.stats import Stats
from mobilesdk.cli.main import cli

HOST = {"cpu": "Test CPU @ 3.0GHz", "cores": 2, "machine": "x86_64", "python": "3.11.9"}
PHONE = Device(
    "phone",
    serial="R5CX21ABCDE",
    manufacturer="samsung",
    model="SM-S921B",
    soc_id="SM8650",
    soc_name="Snapdragon 8 Gen 3",
    android_version="14",
    sdk=34,
    abi="arm64-v8a",
    extra={"board_platform": "pineapple"},
)


def draws(seed: int, scale: float = 1.0, n: int = 30, p50: float = 10.0, spread: float = 0.05) -> list[float]:
    """``n`` latencies (ms) around ``p50 * scale`` with a relative spread (sd / mean) of ``spread``."""
    rng = np.random.default_rng(seed)
    return list(rng.normal(p50, p50 * spread, n) * scale)


def result(samples: dict[str, list[float]], model: str = "tiny", threads: int = 1) -> BenchResult:
    """A BenchResult as `mobilesdk bench` makes one, built by hand."""
    first = next(iter(samples.values()))
    out = BenchResult(model, dict(HOST), BenchPlan(warmup=0, iterations=len(first)))
    for name, s in samples.items():
        out.results.append(
            CandidateResult(
                name,
                "artifact",
                "executorch",
                threads,
                2.5,
                Stats.of(s),
                list(s),
                recipe=name,
                file=f"{model}.{name}.pte",
                bytes=12345,
                sha256="ab" * 32,
                runtime_version="1.5.1",
            )
        )
    out.finished_at = now_utc()
    out.fingerprint = "f" * 16
    return out


def store(db: Path, res: BenchResult, device: Device | None = None) -> int:
    return hist.store(db, hist.run_of(res, device))


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


# ---- store, list, filter ---------------------------------------------------------------------------------


def test_runs_are_stored_listed_and_filtered(tmp_path):
    db = tmp_path / "deep" / "h.sqlite"
    samples = draws(1)
    assert store(db, result({"xnnpack-fp32": samples, "litert-fp32": draws(2)})) == 1
    assert store(db, result({"xnnpack-fp32": draws(3)}, model="other")) == 2
    phone = hist.run_of(result({"xnnpack-fp32": draws(4)}), PHONE)
    phone.freqs_before, phone.temps_after = {"cpu7": 3302400.0}, {"battery": 31.5}
    phone.candidates[0].core_mask = "0x80"
    assert hist.store(db, phone) == 3

    with hist.History.open(db, create=False) as h:
        assert [r.id for r in h.runs()] == [3, 2, 1]  # newest first
        assert [r.id for r in h.runs(model="tiny")] == [3, 1]
        assert [r.id for r in h.runs(device="host")] == [2, 1]
        assert [r.id for r in h.runs(device="sm8650")] == [3]  # part of the label, any case
        assert [r.id for r in h.runs(device="R5CX21")] == [3]
        assert [r.id for r in h.runs(limit=1)] == [3] and h.count(model="tiny") == 2
        first = h.run(1)
        phone_run = h.run(3)
    c = first.candidates[0]
    assert c.samples == samples  # every sample, exactly
    assert c.stats == Stats.of(samples) and c.artifact_sha256 == "ab" * 32 and c.runtime_version == "1.5.1"
    assert (c.name, c.threads, c.recipe, c.bytes, c.load_ms) == (
        "xnnpack-fp32",
        1,
        "xnnpack-fp32",
        12345,
        2.5,
    )
    assert first.unit == "ms" and first.model_fingerprint == "f" * 16 and first.mobilesdk_version
    assert first.plan["iterations"] == 30 and first.created_at.endswith("+00:00")
    assert first.device == Device.host(HOST) and first.device.cpu == HOST["cpu"]
    assert first.freqs_before is None and first.temps_before is None  # what a host cannot read stays NULL
    assert phone_run.device == PHONE and phone_run.device.key == "phone:R5CX21ABCDE"
    assert phone_run.freqs_before == {"cpu7": 3302400.0} and phone_run.temps_after == {"battery": 31.5}
    assert phone_run.candidates[0].core_mask == "0x80"


def test_the_cli_lists_shows_and_prints_json(tmp_path):
    db = tmp_path / "h.sqlite"
    for seed in range(3):
        store(db, result({"xnnpack-fp32": draws(seed)}))
    store(db, result({"xnnpack-fp32": draws(9)}), PHONE)

    listing = invoke("bench", "history", "--db", db, "--device", "host", "--limit", "2")
    assert listing.exit_code == 0, listing.output
    assert "2 of 3 run(s)" in listing.output and "--limit 0 lists all 3" in listing.output
    rows = [line.split()[0] for line in listing.output.splitlines()[3:] if line.strip()[:1].isdigit()]
    assert rows == ["3", "2"]

    doc = json.loads(invoke("bench", "history", "--db", db, "--json", "--model", "tiny").stdout)
    assert [r["id"] for r in doc] == [4, 3, 2, 1]
    assert doc[0]["device"]["soc_id"] == "SM8650" and doc[0]["device"]["kind"] == "phone"
    assert len(doc[1]["candidates"][0]["samples"]) == 30 and doc[1]["candidates"][0]["p50"] > 0

    shown = invoke("bench", "history", "--db", db, "2")
    assert shown.exit_code == 0 and "run 2: tiny on host Test CPU" in shown.output
    assert "xnnpack-fp32" in shown.output and "abababababab" in shown.output

    empty = invoke("bench", "history", "--db", tmp_path / "none.sqlite")
    assert empty.exit_code == 0 and "no runs stored" in empty.output
    assert not (tmp_path / "none.sqlite").exists()  # reading never creates a history


def test_schema_version_is_recorded_and_a_newer_one_is_refused(tmp_path):
    db = tmp_path / "h.sqlite"
    store(db, result({"a": draws(0)}))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(hist.SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.execute("UPDATE schema_version SET version = ?", (hist.SCHEMA_VERSION + 1,))
    out = invoke("bench", "history", "--db", db)
    assert out.exit_code == 1 and len(error_lines(out.output)) == 1
    assert f"{db}: history schema version {hist.SCHEMA_VERSION + 1} is newer" in out.output
    assert "upgrade mobilesdk" in out.output and "Traceback" not in out.output


def test_another_sqlite_database_is_not_taken_for_a_history(tmp_path):
    db = tmp_path / "other.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    before = db.read_bytes()
    with pytest.raises(hist.HistoryUnusableError, match="not a mobilesdk history"):
        store(db, result({"a": draws(0)}))
    assert db.read_bytes() == before


def test_unknown_runs_are_one_line_errors(tmp_path):
    db = tmp_path / "h.sqlite"
    store(db, result({"a": draws(0)}))
    for args, expected in (
        (["42"], "run 42 is not in"),
        (["--compare", "1", "42"], "run 42 is not in"),
        (["--compare", "seven"], "run 'seven': run ids are numbers"),
        (["--compare", "last"], "run 1 is the only run of tiny"),
        (["--compare", "1"], "run 1 is the only run of tiny"),
    ):
        out = invoke("bench", "history", "--db", db, *args)
        assert out.exit_code == 1, (args, out.output)
        assert len(error_lines(out.output)) == 1 and expected in out.output, (args, out.output)
    out = invoke("bench", "history", "--db", tmp_path / "none.sqlite", "--compare", "last")
    assert out.exit_code == 1 and "no runs in" in out.output


def test_default_path_follows_xdg():
    assert hist.default_path({"XDG_DATA_HOME": "/data"}) == Path("/data/mobilesdk/history.sqlite")
    home = Path("~/.local/share/mobilesdk/history.sqlite").expanduser()
    assert hist.default_path({}) == home
    assert hist.default_path({"XDG_DATA_HOME": "relative/dir"}) == home  # the spec ignores relative paths


# ---- the verdict -----------------------------------------------------------------------------------------


def test_mann_whitney_u_exact_small_samples():
    assert mann_whitney_u([1, 2, 3], [4, 5, 6]) == (0.0, pytest.approx(0.1))  # 2 / C(6, 3)
    assert mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])[1] == pytest.approx(2 / 252)
    assert mann_whitney_u([6, 7, 8, 9, 10], [1, 2, 3, 4, 5])[0] == 25.0
    assert mann_whitney_u([5.0] * 10, [5.0] * 12)[1] == 1.0  # all equal: no evidence


def test_mann_whitney_u_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")  # a cross-check where scipy happens to be installed
    rng = np.random.default_rng(7)
    for m, n, shift, decimals in (
        (5, 7, 1.0, 6),
        (30, 30, 0.3, 6),
        (50, 50, 0.5, 6),
        (80, 60, 0.2, 6),
        (40, 45, 0.4, 1),
    ):
        a, b = np.round(rng.normal(0, 1, m), decimals), np.round(rng.normal(shift, 1, n), decimals)
        ties = len(np.unique(np.concatenate([a, b]))) < m + n
        method = "exact" if max(m, n) <= 50 and not ties else "asymptotic"
        ref = stats.mannwhitneyu(a, b, alternative="two-sided", method=method)
        u, p = mann_whitney_u(a, b)
        assert u == ref.statistic and p == pytest.approx(ref.pvalue, rel=1e-9), (m, n, decimals)


def test_the_same_samples_and_the_same_distribution_are_no_change():
    a = draws(1)
    assert verdict(a, list(a))[3] == "no change"
    assert verdict(a, list(a))[1] == 1.0
    for seed in range(2, 12):  # ten second draws from the same distribution
        ratio, p, noise, word, reason = verdict(a, draws(seed))
        assert word == "no change", (seed, ratio, p, reason)


@pytest.mark.parametrize(("scale", "expected"), [(1.3, "slower"), (0.7, "faster")])
def test_a_change_outside_the_noise_is_called(scale, expected):
    ratio, p, noise, word, reason = verdict(draws(1), draws(2, scale))
    assert word == expected and p < 0.01 and abs(ratio - scale) < 0.05, reason


def test_a_tiny_consistent_difference_inside_the_noise_is_no_change():
    a = draws(1, n=2000)
    b = [x * 1.015 for x in draws(2, n=2000)]
    ratio, p, noise, word, reason = verdict(a, b)
    # 2000 samples make a 1.5 % shift highly significant for the test alone; it is inside the noise
    assert p < 1e-6 and word == "no change" and "within the noise" in reason
    assert verdict(draws(1), [x * 1.015 for x in draws(1)])[3] == "no change"


def test_a_small_change_of_a_very_steady_run_is_called():
    a = draws(1, spread=0.002)  # 0.2 % spread: the 2 % floor is the noise
    assert verdict(a, draws(2, 1.05, spread=0.002))[3] == "slower"
    assert verdict(a, draws(2, 1.015, spread=0.002))[3] == "no change"  # under the floor


def test_too_few_samples_never_call_a_change():
    ratio, _, _, word, reason = verdict([10.0, 10.1, 10.2], [20.0, 20.1, 20.2])
    assert ratio > 1.9 and word == "no change" and "too few samples" in reason


def test_instruction_counts_have_a_finer_floor():
    a, b = [1_000_000.0] * 10, [1_010_000.0] * 10  # deterministic counts: no spread, a 1 % change
    assert verdict(a, b, "instructions")[3] == "slower"
    assert verdict(a, b, "ms")[3] == "no change"


def test_runs_compare_per_candidate_and_thread_count(tmp_path):
    db = tmp_path / "h.sqlite"
    store(db, result({"xnnpack-fp32": draws(1), "litert-fp32": draws(2), "gone": draws(3)}))
    store(db, result({"xnnpack-fp32": draws(4, 1.3), "litert-fp32": draws(5, 0.7), "new": draws(6)}))
    with hist.History.open(db) as h:
        comparison = compare_runs(h.run(1), h.run(2))
    words = {r.name: r.verdict for r in comparison.rows}
    assert words == {"xnnpack-fp32": "slower", "litert-fp32": "faster"}
    assert comparison.only_a == ["gone @ 1t"] and comparison.only_b == ["new @ 1t"]
    assert not comparison.differs

    for args in (["--compare", "1", "2"], ["--compare", "last"], ["--compare", "2"], ["--compare"]):
        out = invoke("bench", "history", "--db", db, *args)
        assert out.exit_code == 0, out.output
        assert "A: run 1" in out.output and "B: run 2" in out.output
        assert "1 slower, 1 faster, 0 no change" in out.output and "Mann-Whitney U" in out.output
    doc = json.loads(invoke("bench", "history", "--db", db, "--compare", "last", "--json").stdout)
    assert (doc["a"], doc["b"], doc["unit"]) == (1, 2, "ms")
    assert {c["name"]: c["verdict"] for c in doc["candidates"]} == words


def test_compare_last_pairs_runs_of_one_model_on_one_device(tmp_path):
    db = tmp_path / "h.sqlite"
    store(db, result({"a": draws(1)}))  # 1: tiny on the host
    store(db, result({"a": draws(2)}), PHONE)  # 2: tiny on the phone
    store(db, result({"a": draws(3)}, model="other"))  # 3
    store(db, result({"a": draws(4, 1.3)}))  # 4: tiny on the host again
    doc = json.loads(
        invoke("bench", "history", "--db", db, "--compare", "last", "--model", "tiny", "--json").stdout
    )
    assert (doc["a"], doc["b"]) == (1, 4)
    out = invoke("bench", "history", "--db", db, "--compare", "2", "4")  # across devices: allowed, said
    assert out.exit_code == 0 and "the runs differ in: device" in out.output


def test_runs_in_different_units_are_not_compared(tmp_path):
    db = tmp_path / "h.sqlite"
    store(db, result({"a": draws(1)}))
    counted = hist.run_of(result({"a": draws(2, 1e5)}))
    counted.unit = "instructions"
    hist.store(db, counted)
    out = invoke("bench", "history", "--db", db, "--compare", "1", "2")
    assert out.exit_code == 1 and "different units (ms, instructions)" in out.output


# ---- robustness ------------------------------------------------------------------------------------------

RUNS_PER_WRITER = 60
WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mobilesdk.bench import history as hist
    from mobilesdk.bench.records import Device, StoredCandidate, StoredRun, now_utc
    from mobilesdk.bench.stats import Stats

    db, go, name, count = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    go.with_name(f"ready-{name}").touch()  # imported: start together
    while not go.exists():
        time.sleep(0.001)
    for i in range(count):
        samples = [float(i + k) for k in range(1, 31)]
        candidates = [StoredCandidate(f"c{j}", "artifact", "executorch", 1, Stats.of(samples), samples) for j in range(3)]
        run = StoredRun(name, Device("host", cpu="cpu", cores=2, machine="x86_64"), candidates, now_utc())
        hist.store(db, run)
    """
)


def test_two_processes_storing_at_once_keep_every_run(tmp_path):
    db, go = tmp_path / "new" / "h.sqlite", tmp_path / "go"  # both also race to create the file
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(go), name, str(RUNS_PER_WRITER)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("left", "right")
    ]
    deadline = time.monotonic() + 60
    while (
        not all((tmp_path / f"ready-{n}").exists() for n in ("left", "right")) and time.monotonic() < deadline
    ):
        time.sleep(0.005)
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with hist.History.open(db) as h:
        runs = h.runs()
    total = 2 * RUNS_PER_WRITER
    assert len(runs) == total and len({r.id for r in runs}) == total
    assert [r.model for r in runs].count("left") == RUNS_PER_WRITER
    assert all(len(r.candidates) == 3 and len(r.candidates[2].samples) == 30 for r in runs)  # whole runs


def _history_with_runs(db: Path, count: int = 40) -> None:
    for seed in range(count):
        store(db, result({"xnnpack-fp32": draws(seed, n=200), "litert-fp32": draws(seed + 100, n=200)}))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _garbage(db: Path) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(np.random.default_rng(0).bytes(20000))


def _truncated(db: Path) -> None:
    _history_with_runs(db)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])


def _newer(db: Path) -> None:
    store(db, result({"a": draws(0)}))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_garbage, "corrupted history database (not an SQLite database)"),
        (_truncated, "corrupted history database"),
        (_newer, "history schema version 99 is newer"),
    ],
)
def test_a_bench_into_an_unusable_history_loses_nothing(tmp_path, monkeypatch, damage, expected):
    """The result is printed (and its report written), the run goes to a side file the user is told about, the
    damaged file stays as it was, and the command fails with one line."""
    db = tmp_path / "data" / "history.sqlite"
    damage(db)
    before = db.read_bytes()
    measured = result({"xnnpack-fp32": draws(1), "litert-fp32": draws(2)})
    monkeypatch.setattr("mobilesdk.bench.host.bench", lambda *a, **k: measured)
    report = tmp_path / "r.html"
    out = invoke("bench", tmp_path, "--db", db, "--json", "--report", report)

    assert out.exit_code == 1
    (line,) = error_lines(out.output)
    assert f"{db}: {expected}" in line and "left untouched" in line, line
    assert json.loads(out.stdout)["candidates"][0]["samples_ms"]  # the result was printed
    assert report.is_file()
    assert db.read_bytes() == before
    side = Path(line.split(" in ")[-1].removesuffix(" instead"))
    assert side.parent == db.parent and side.name.startswith("history.unsaved-") and side.is_file()
    assert "stored as run 1 in" in line
    with hist.History.open(side, create=False) as h:
        (kept,) = h.runs()
    assert [c.samples for c in kept.candidates] == [r.samples for r in measured.results]


def test_a_corrupted_history_is_a_one_line_error_for_every_reader(tmp_path):
    db = tmp_path / "h.sqlite"
    _truncated(db)
    for args in ([], ["--compare", "last"], ["3"], ["--report", tmp_path / "h.html"]):
        out = invoke("bench", "history", "--db", db, *args)
        assert out.exit_code == 1 and len(error_lines(out.output)) == 1, (args, out.output)
        assert "corrupted history database" in out.output and "move it aside" in out.output


def test_the_history_report_plots_each_model_per_device(tmp_path):
    db = tmp_path / "h.sqlite"
    for seed in range(3):
        store(db, result({"xnnpack-fp32": draws(seed), "litert-fp32": draws(seed + 10, 1.2)}))
    store(db, result({"xnnpack-fp32": draws(7)}), PHONE)
    store(db, result({"xnnpack-fp32": draws(8)}, model="other"))
    report = tmp_path / "h.html"
    out = invoke("bench", "history", "--db", db, "--model", "tiny", "--report", report)
    assert out.exit_code == 0, out.output
    text = report.read_text()
    assert text.count('src="data:image/png;base64,') == 2  # the host and the phone
    assert (
        "tiny on host Test CPU" in text and "tiny on phone samsung SM-S921B" in text and "other" not in text
    )


# ---- `mobilesdk bench` stores its runs -------------------------------------------------------------------


def test_a_folder_named_history_is_still_benchmarked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "history").mkdir()
    seen = []
    monkeypatch.setattr(
        "mobilesdk.bench.host.bench", lambda targets, *a, **k: seen.append(targets) or result({"a": draws(1)})
    )
    out = invoke("bench", "history", "--no-history")
    assert out.exit_code == 0, out.output
    assert seen == [[Path("history")]] and "stored as run" not in out.output


def test_the_default_history_is_under_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("mobilesdk.bench.host.bench", lambda *a, **k: result({"a": draws(1)}))
    out = invoke("bench", tmp_path)
    db = tmp_path / "xdg" / "mobilesdk" / "history.sqlite"
    assert out.exit_code == 0 and f"stored as run 1 in {db}" in out.output
    assert invoke("bench", "history").output.count("tiny") == 1


def test_bench_stores_each_run_of_a_real_build(tiny_build, tmp_path):
    db = tmp_path / "h.sqlite"
    for expected in (1, 2):
        out = invoke("bench", tiny_build, "--iterations", "3", "--warmup", "0", "--db", db)
        assert out.exit_code == 0, out.output
        assert f"stored as run {expected} in {db}" in out.stderr
    assert invoke("bench", tiny_build, "-n", "3", "--warmup", "0", "--db", db, "--no-history").exit_code == 0
    with hist.History.open(db, create=False) as h:
        runs = h.runs()
    assert [r.id for r in runs] == [2, 1]
    manifest = json.loads((tiny_build / "manifest.json").read_text())
    hashes = {a["recipe"]: a["sha256"] for a in manifest["artifacts"]}
    run = runs[0]
    assert run.model == manifest["model"]["id"] and run.model_fingerprint == manifest["model"]["fingerprint"]
    assert run.device.kind == "host" and run.device.cores >= 1 and run.unit == "ms"
    assert {c.recipe: c.artifact_sha256 for c in run.candidates} == hashes
    assert all(c.runtime_version and len(c.samples) == 3 for c in run.candidates)
    out = invoke("bench", "history", "--db", db, "--compare", "last")
    assert out.exit_code == 0 and "too few samples" in out.output  # 3 iterations cannot call a change
