"""Root command group. Importing this module must stay cheap: no torch, no runtimes (`mobilesdk --help`)."""

from __future__ import annotations

import sys

import click

from mobilesdk import __version__
from mobilesdk.errors import MobileSDKError, first_line

COMMANDS = {
    "bench": "mobilesdk.cli.bench:bench",
    "devices": "mobilesdk.cli.devices:devices",
    "models": "mobilesdk.cli.models:models",
    "build": "mobilesdk.cli.build:build",
    "inspect": "mobilesdk.cli.inspect:inspect",
    "predict": "mobilesdk.cli.predict:predict",
    "verify": "mobilesdk.cli.verify:verify",
    "runner": "mobilesdk.cli.runner:runner",
}


class RootGroup(click.Group):
    """Loads command modules on demand and turns library errors into one-line messages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        import importlib

        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, COMMANDS, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context):
        """The one error boundary: library errors and file-system errors become one line and exit 1."""
        try:
            return super().invoke(ctx)
        except MobileSDKError as exc:
            raise click.ClickException(first_line(exc)) from None
        except OSError as exc:  # ENOSPC, EACCES, EROFS... anywhere a command touches the file system
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or first_line(exc)}") from None


def set_torch_threads(threads: int | None) -> None:
    """--threads for eager PyTorch too (imports torch only when given)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _terminate(signum, frame):
    # SIGTERM (kill, CI timeouts) unwinds like Ctrl-C, so every `finally` removes what it staged.
    raise KeyboardInterrupt


@click.group(
    cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
@click.version_option(__version__, prog_name="mobilesdk")
def cli() -> None:
    """Ship PyTorch human-pose models to Android.

    \b
    mobilesdk models                          the zoo: params, GFLOPs, inputs, outputs, published figures
    mobilesdk build --model movepose-xs       export + verify -> dist/movepose-xs/
    mobilesdk verify dist/movepose-xs         re-run host parity: eager vs artifact
    mobilesdk bench dist/movepose-xs          host CPU latency, next to eager / ONNX Runtime
    mobilesdk predict dist/movepose-xs a.jpg  keypoints on your photos (--overlay out.png to see them)
    mobilesdk devices                         phones over adb: SoC, CPU clusters, battery, thermal
    """


def main() -> None:
    import warnings

    # Deprecation chatter from torch/executorch internals is not actionable for a user of this CLI.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(prog_name="mobilesdk")
    except KeyboardInterrupt:  # click handles it inside commands; this covers the rest
        click.echo("Aborted.", err=True)
        sys.exit(130)
