"""`mobilesdk inspect X.aar|X.pte|X.tflite`: layout, classes, assets, ABIs, sizes, 16 KB alignment, ops."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mobilesdk.cli.options import json_option


def _size(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} B"
    n /= 1024
    return f"{n:.1f} KB" if n < 1024 else f"{n / 1024:.1f} MB"


def _model_lines(model: dict) -> list[str]:
    lines = []
    if model.get("model_id"):
        lines.append(f"model: {model['model_id']} ({model.get('recipe')}, {model.get('runtime')})")
    if model.get("input"):
        i = model["input"]
        lines.append(
            f"  input: {i['name']} {i['shape']} {i['dtype']} {i['layout']} ({i['normalization']} normalisation)"
        )
    for o in model.get("outputs", []):
        lines.append(f"  output: {o['name']} {o['shape']} ({o['role']})")
    if model.get("ops"):
        ops = ", ".join(f"{k} x{v['count']}" for k, v in model["ops"].items())
        lines.append(f"  ops: {ops}")
        lines.append(
            f"  min_runtime_version {model.get('min_runtime_version')} (TFLite runtime {model.get('tflite_runtime')})"
        )
    if model.get("describe") and model["describe"].get("methods"):
        lines.append(f"  methods: {', '.join(model['describe']['methods'])}")
    if model.get("delegates") is not None:
        dl = "; ".join(f"{m}: {', '.join(d) or 'none'}" for m, d in model["delegates"].items()) or "unknown"
        lines.append(f"  delegates: {dl}")
    if "embedded_manifest_matches" in model:
        lines.append(
            f"  embedded manifest matches the facade: {'yes' if model['embedded_manifest_matches'] else 'NO'}"
        )
    return lines


def _aar_lines(doc: dict) -> list[str]:
    lines = []
    man = doc.get("android_manifest") or {}
    lines.append(f"namespace {man.get('package')}, minSdk {man.get('min_sdk')}")
    classes = doc.get("classes") or {}
    if classes:
        pkgs = ", ".join(f"{p} ({n})" for p, n in classes["packages"].items())
        lines.append(f"classes.jar: {classes['count']} classes in {pkgs}")
    rec = doc.get("record") or {}
    if rec.get("facade"):
        lines.append(f"facade: {rec['facade']}")
    for a in doc.get("assets", []):
        lines.append(f"asset: {a['name']} {_size(a['bytes'])} ({'stored' if a['stored'] else 'COMPRESSED'})")
    abis = doc.get("abis") or {}
    if not abis:
        lines.append("ABIs: none (no jni/<abi>/*.so)")
    for abi, libs in abis.items():
        for lib in libs:
            align = "16 KB aligned" if lib["aligned_16k"] else f"LOAD alignment {lib['load_aligns']}"
            et = {True: ", ExecuTorch engine", False: ", no ExecuTorch engine", None: ""}[
                lib["has_executorch"]
            ]
            lines.append(
                f"{abi}: {lib['path'].rsplit('/', 1)[-1]} {_size(lib['bytes'])}, {lib['machine']}, {align}{et}"
            )
    if rec.get("dependencies"):
        lines.append(f"dependencies (POM): {', '.join(rec['dependencies'])}")
    for dep in doc.get("dependencies") or []:
        for lib in dep["libraries"]:
            align = "16 KB aligned" if lib["aligned_16k"] else f"LOAD alignment {lib['load_aligns']}"
            lines.append(f"  {dep['coordinate']}: {lib['path']} {_size(lib['bytes'])}, {align}")
    lines += _model_lines(doc.get("model") or {})
    return lines


def _version(ctx, param, value):
    import re

    if value is not None and not re.fullmatch(r"\d+\.\d+(\.\d+)?", value):
        raise click.BadParameter(f"must be a version like 2.16.1, got {value!r}")
    return value


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--tflite-runtime",
    metavar="VERSION",
    callback=_version,
    help="TFLite runtime version to check a .tflite's min_runtime_version against (default: the POM's).",
)
@click.option(
    "--maven-repo",
    type=click.Path(path_type=Path, file_okay=False),
    help="Local Maven repository to check an AAR's dependencies' native libraries in (default ~/.m2/repository).",
)
@json_option
def inspect(path: Path, tflite_runtime: str | None, maven_repo: Path | None, as_json: bool) -> None:
    """Check an AAR (layout, classes, assets, ABIs, 16 KB alignment, asset hash) or a .pte/.tflite.

    Exits 1 when the file has a defect; warnings (e.g. an AAR without native libraries) do not fail.
    """
    from mobilesdk.packaging.inspect import inspect_file

    report = inspect_file(path, tflite_runtime, maven_repo)
    if as_json:
        import json

        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        doc = report.to_json()
        click.echo(f"{path} ({report.kind}, {_size(report.bytes)})")
        for line in _aar_lines(doc) if report.kind == "aar" else _model_lines(doc.get("model") or {}):
            click.echo(f"  {line}")
        for w in report.warnings:
            click.echo(f"warning: {w}")
        for d in report.defects:
            click.echo(f"DEFECT: {d}")
        click.echo("OK" if report.ok else f"{len(report.defects)} defect(s)")
    if not report.ok:
        sys.exit(1)
