"""`mobilesdk runner build`: build the host mobilesdk-runner (native core + ExecuTorch) and print its path."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_CACHE = Path("~/.cache/mobilesdk/native")  # also the default of bench --native-cache


@click.group()
def runner() -> None:
    """The native runner: the C++ core end to end on the host (see android_template/native/README.md)."""


@runner.command("build")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_CACHE,
    show_default=True,
    help="Where builds are cached, keyed by the native sources, the ExecuTorch version and the options.",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Parallel compile jobs (default: all cores).")
def build(cache_dir: Path, jobs: int | None) -> None:
    """Build mobilesdk-runner with CMake (reused when unchanged) and print its path."""
    from mobilesdk.native import runner_path

    click.echo(str(runner_path(cache_dir.expanduser(), jobs=jobs)))
