"""`mobilesdk runner build`: build mobilesdk-runner (native core + ExecuTorch) for the host and print its path, or
cross-compile it into a self-contained arm64 bundle for `adb shell` and print the bundle's directory."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_CACHE = Path("~/.cache/mobilesdk/native")  # also the default of bench --native-cache
DEFAULT_WHEEL_CACHE = Path("~/.cache/mobilesdk/wheels")


@click.group()
def runner() -> None:
    """The native runner: the C++ core end to end, on the host or as an arm64 bundle for adb shell (see
    android_template/native/README.md)."""


@runner.command("build")
@click.option(
    "--target",
    type=click.Choice(["host", "arm64"]),
    default="host",
    show_default=True,
    help="host: the runner for this machine (prints its path). arm64: a self-contained arm64 bundle "
    "(runner, ExecuTorch/LiteRT, glibc and its loader, launcher `run`) for adb shell; prints its directory.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_CACHE,
    show_default=True,
    help="Where builds are cached, keyed by the native sources, the ExecuTorch version and the options.",
)
@click.option(
    "--wheel-cache",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_WHEEL_CACHE,
    show_default=True,
    help="arm64: where the aarch64 ExecuTorch and LiteRT wheels are downloaded (pip download) and kept.",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Parallel compile jobs (default: all cores).")
def build(target: str, cache_dir: Path, wheel_cache: Path, jobs: int | None) -> None:
    """Build mobilesdk-runner with CMake (reused when unchanged) and print its path (arm64: the bundle's)."""
    if target == "arm64":
        from mobilesdk.native_cross import build_arm64_bundle

        bundle = build_arm64_bundle(cache_dir.expanduser(), wheel_cache.expanduser(), jobs=jobs)
        click.echo(str(bundle.bundle_dir))
        return
    from mobilesdk.native import runner_path

    click.echo(str(runner_path(cache_dir.expanduser(), jobs=jobs)))
