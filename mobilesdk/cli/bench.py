"""`mobilesdk bench DIR|FILE`: host CPU latency of artifacts, side by side with eager and ONNX Runtime."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mobilesdk.cli.history import db_option, store_result
from mobilesdk.cli.options import checkpoint_option, json_option
from mobilesdk.cli.runner import DEFAULT_CACHE


def _csv(ctx, param, value):
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return tuple(items)


class BenchCommand(click.Command):
    """`bench TARGET...`, and `bench history ...` when the first target is `history` and no such path exists
    (a folder named history is still benchmarked, as before)."""

    def make_context(self, info_name, args, parent=None, **extra):
        if args and args[0] == "history" and not Path(args[0]).exists():
            from mobilesdk.cli.history import history

            return history.make_context(f"{info_name} history", list(args[1:]), parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


@click.command(cls=BenchCommand)
@click.argument("targets", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--threads",
    "-t",
    type=click.IntRange(min=1),
    multiple=True,
    help="Thread count (repeat for several; default 1).",
)
@click.option(
    "--iterations",
    "-n",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Timed rounds per thread count.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0, min_open=True),
    help="A time budget per thread count instead of --iterations.",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Untimed runs per candidate first.",
)
@click.option(
    "--compare",
    callback=_csv,
    default="",
    help="Also time the PyTorch model: eager, onnxruntime (comma-separated).",
)
@click.option(
    "--card",
    "card_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The model card, for --compare on a user's model.",
)
@checkpoint_option
@click.option(
    "--runner",
    "runner_kind",
    type=click.Choice(["native"]),
    help="Also run each .pte and .tflite through the native core end to end (mobilesdk-runner, built on "
    "first use), per stage.",
)
@click.option(
    "--native-cache",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_CACHE,
    show_default=True,
    help="Where --runner native builds are cached.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write an HTML report with plots.",
)
@db_option
@click.option("--no-history", is_flag=True, help="Do not store this run in the history database.")
@click.option(
    "--adb-serial",
    "adb_serials",
    multiple=True,
    metavar="SERIAL",
    help="Run on this phone over adb instead of the host (repeatable: several phones, one report). "
    "See `mobilesdk devices`.",
)
@click.option("--host", "with_host", is_flag=True, help="With --adb-serial: also time this machine's CPU.")
@click.option(
    "--cooldown",
    type=click.FloatRange(min=0),
    default=300,
    show_default=True,
    help="Phones: longest wait (s) for a hot phone to cool before it is skipped.",
)
@click.option(
    "--cooldown-poll",
    type=click.FloatRange(min=0.05),
    default=15.0,
    show_default=True,
    help="Phones: seconds between thermal reads while waiting.",
)
@click.option(
    "--max-temp",
    type=click.FloatRange(min=20, max=80),
    default=40.0,
    show_default=True,
    help="Phones: a temperature (°C) above which the phone counts as hot.",
)
@click.option(
    "--frame",
    default="nv21:1920x1080",
    show_default=True,
    help="Phones and --emulate: the synthetic camera frame.",
)
@click.option("--keep", is_flag=True, help="Phones: leave the pushed runner and models in /data/local/tmp.")
@click.option(
    "--device-runner",
    "device_runners",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Phones: also time the artifacts with your stock Android runner binary (LiteRT benchmark_model for "
    ".tflite, ExecuTorch executor_runner for .pte); labelled as stock, model only.",
)
@click.option(
    "--emulate",
    type=click.Choice(["arm64"]),
    help="Count arm64 instructions per stage under qemu instead of timing (deterministic; instructions, not "
    "time). See docs/emulated-cost.md.",
)
@click.option(
    "--cpu",
    "cpus",
    callback=_csv,
    default="",
    help="With --emulate: CPU profiles, comma-separated (cortex-a76, armv9-sve128, cortex-a53; default all).",
)
@click.option(
    "--fail-above",
    type=click.FloatRange(min=1.0),
    metavar="RATIO",
    help="With --emulate: exit 1 if an instruction count exceeds RATIO x the baseline's (a CI gate).",
)
@click.option(
    "--baseline",
    metavar="FILE|last",
    help="With --fail-above: a --json output of an earlier emulated bench, or last (the previous stored run of "
    "this model on each profile; the default).",
)
@click.option(
    "--bundle",
    "bundle_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="With --emulate: count with this arm64 runner bundle (`mobilesdk runner build --target arm64`) "
    "instead of building one.",
)
@json_option
@click.pass_context
def bench(
    ctx,
    targets,
    threads,
    iterations,
    seconds,
    warmup,
    compare,
    card_path,
    checkpoint,
    runner_kind,
    native_cache,
    report_path,
    db,
    no_history,
    adb_serials,
    with_host,
    cooldown,
    cooldown_poll,
    max_temp,
    frame,
    keep,
    device_runners,
    emulate,
    cpus,
    fail_above,
    baseline,
    bundle_dir,
    as_json,
) -> None:
    """Time every artifact of a build dir (or a .pte/.tflite) on this machine's CPU. Several targets are
    compared in one interleaved run (e.g. two builds of one model). Every run is stored in the history
    (--db, --no-history); `mobilesdk bench history` lists, compares and plots the stored runs.

    \b
    mobilesdk bench dist/movepose-xs --compare eager,onnxruntime
    mobilesdk bench model.tflite --threads 1 --threads 2 --seconds 10 --json
    mobilesdk bench old/movepose-xs dist/movepose-xs --report compare.html
    mobilesdk bench history --compare last         # see mobilesdk bench history --help
    mobilesdk bench dist/movepose-xs --adb-serial R5CX123ABC   # on a phone (arm64 runner bundle over adb)
    mobilesdk bench dist/movepose-xs --emulate arm64 --cpu cortex-a76 --fail-above 1.02   # arm64 instructions
    """
    import tempfile

    from rich.console import Console

    from mobilesdk.bench.host import BenchPlan
    from mobilesdk.bench.host import bench as run_bench
    from mobilesdk.bench.report import format_table, write_html
    from mobilesdk.cli.progress import RichProgress

    console = Console(stderr=True)
    progress = RichProgress(console)

    def on_phones(phone_threads, host_result=None):
        from mobilesdk.cli.bench_phone import run_phone_bench

        return run_phone_bench(
            list(targets), adb_serials, threads=phone_threads, iterations=iterations, warmup=warmup,
            frame=frame, cooldown=cooldown, cooldown_poll=cooldown_poll, max_temp=max_temp, keep=keep,
            device_runners=device_runners, native_cache=native_cache, as_json=as_json, report_path=report_path,
            db=db, no_history=no_history, host_result=host_result, progress=progress,
        )  # fmt: skip

    if emulate is None and (cpus or fail_above is not None or baseline is not None or bundle_dir is not None):
        raise click.UsageError("--cpu, --fail-above, --baseline and --bundle go with --emulate arm64")
    if baseline is not None and fail_above is None:
        raise click.UsageError("--baseline goes with --fail-above")
    if emulate is not None:
        if adb_serials or runner_kind or seconds is not None or threads:
            raise click.UsageError(
                "--emulate counts one thread of the arm64 bundle: no --adb-serial, --runner, --seconds or --threads"
            )
        from click.core import ParameterSource

        from mobilesdk.cli.bench_emulate import run_emulated_bench
        from mobilesdk.emulate.bench import DEFAULT_ITERATIONS

        explicit = ctx.get_parameter_source("iterations") is not ParameterSource.DEFAULT
        return run_emulated_bench(
            list(targets), cpus=cpus, iterations=iterations if explicit else DEFAULT_ITERATIONS, frame=frame,
            compare=compare, native_cache=native_cache, card_path=card_path, checkpoint=checkpoint,
            bundle_dir=bundle_dir, as_json=as_json, report_path=report_path, db=db, no_history=no_history, fail_above=fail_above, baseline=baseline, progress=progress,
        )  # fmt: skip
    if adb_serials and not with_host:
        return on_phones(threads)
    runner = None
    if runner_kind == "native":
        from mobilesdk.native import runner_path

        with progress.phase("Building mobilesdk-runner (cached after the first time)"):
            runner = runner_path(native_cache.expanduser())
    plan = BenchPlan(
        warmup=warmup,
        iterations=iterations,
        seconds=seconds,
        threads=tuple(threads) or (1,),
        compare=compare,
        runner=runner,
    )
    with tempfile.TemporaryDirectory(prefix="mobilesdk-bench-") as work:
        result = run_bench(
            list(targets),
            plan,
            card_path=card_path,
            checkpoint=checkpoint,
            workdir=Path(work),
            progress=progress,
        )
    if adb_serials:  # --host with phones: one report (the phones take the first --threads)
        return on_phones(threads[:1], host_result=result)
    if report_path is not None:
        write_html(result, report_path)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(format_table(result))
        if report_path is not None:
            click.echo(f"wrote {report_path}")
    if not no_history:  # after the output: a history that cannot take the run loses nothing shown above
        store_result(result, db)
