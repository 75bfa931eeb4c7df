"""Root command group. Importing this module must stay cheap: no torch, no runtimes (`mobilesdk --help`)."""

from __future__ import annotations

import sys

import click

from mobilesdk import __version__
from mobilesdk.errors import MobileSDKError

COMMANDS = {
    "models": "mobilesdk.cli.models:models",
    "build": "mobilesdk.cli.build:build",
    "verify": "mobilesdk.cli.verify:verify",
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
        try:
            return super().invoke(ctx)
        except MobileSDKError as exc:
            raise click.ClickException(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


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
    """


def main() -> None:
    import warnings

    # Deprecation chatter from torch/executorch internals is not actionable for a user of this CLI.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        cli.main(prog_name="mobilesdk")
    except KeyboardInterrupt:  # click handles it inside commands; this covers the rest
        click.echo("Aborted.", err=True)
        sys.exit(130)
