"""Bad inputs to `mobilesdk build`: one-line error, non-zero exit, nothing written. And interrupted builds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from mobilesdk.cli.main import cli
from tests.conftest import user_card


def _fails(args: list[str], out: Path, expected: str) -> str:
    result = CliRunner().invoke(cli, ["build", *args, "--out", str(out)])
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    text = lines[-1]  # progress lines may precede it; the error itself is one line, and last
    assert text.startswith("Error: ") and sum(line.startswith("Error:") for line in lines) == 1, lines
    assert expected in text, text
    assert not out.exists() or not any(out.iterdir()), f"left files behind: {list(out.iterdir())}"
    return text


def test_unknown_model(tmp_path):
    _fails(["--model", "movepose-xxs"], tmp_path / "out", "did you mean movepose-xs")


def test_missing_corrupt_foreign_and_malicious_checkpoints(tmp_path, small_cards):
    card = str(small_cards["movepose"])
    out = tmp_path / "out"
    _fails(["--card", card, "--checkpoint", str(tmp_path / "none.pth")], out, "checkpoint not found")
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(bytes(range(256)))  # every byte value; the seeded sweep is in tests/test_modeling.py
    _fails(["--card", card, "--checkpoint", str(corrupt)], out, "not a readable PyTorch checkpoint")
    foreign = tmp_path / "foreign.pth"
    torch.save({"conv.weight": torch.zeros(2, 2)}, foreign)
    _fails(["--card", card, "--checkpoint", str(foreign)], out, "does not fit MovePose")
    evil = tmp_path / "evil.pth"
    torch.save({"model": _Evil()}, evil)
    _fails(["--card", card, "--checkpoint", str(evil)], out, "refused to load")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_model_that_cannot_be_exported_names_the_problem(tmp_path):
    text = _fails(
        ["--card", str(user_card(tmp_path, "DataDependentNet"))], tmp_path / "out", "torch.export failed"
    )
    assert "data-dependent" in text.lower(), text


def test_op_outside_the_delegate_is_named(tmp_path):
    _fails(["--card", str(user_card(tmp_path, "CumsumNet"))], tmp_path / "out", "cumsum")


def test_unwritable_out(tmp_path, small_cards):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(cli, ["build", "--card", str(small_cards["movepose"]), "--out", str(blocker)])
    assert result.exit_code != 0 and "is not a directory" in result.output
    assert blocker.read_text() == "not a directory"


def test_calibration_folder_without_images(tmp_path, small_cards):
    empty = tmp_path / "photos"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    _fails(
        ["--card", str(small_cards["movepose"]), "--quantize", "int8", "--calib-images", str(empty)],
        tmp_path / "out",
        "no .jpg/.jpeg/.png images",
    )


def test_unsupported_recipe_backend_combination(tmp_path, small_cards):
    _fails(
        ["--card", str(small_cards["movepose"]), "--backend", "executorch", "--quantize", "fp16"],
        tmp_path / "out",
        "--quantize fp16 is not supported with --backend executorch",
    )


def test_user_model_builds_from_its_card(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--card",
            str(user_card(tmp_path, "TinyHeatmapNet")),
            "--out",
            str(tmp_path / "out"),
            "--backend",
            "executorch",
            "--no-aar",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "user-tinyheatmapnet" / "user-tinyheatmapnet.xnnpack-fp32.pte").is_file()


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, RuntimeError])
def test_interrupted_build_leaves_previous_build_intact(tmp_path, monkeypatch, interrupt):
    from mobilesdk.runtimes import Runtime

    card = user_card(tmp_path, "TinyHeatmapNet")
    out = tmp_path / "out"
    assert (
        CliRunner()
        .invoke(cli, ["build", "--card", str(card), "--out", str(out), "--backend", "executorch", "--no-aar"])
        .exit_code
        == 0
    )
    target = out / "user-tinyheatmapnet"
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def half_then_die(self, job):
        job.path.write_bytes(b"half an artifact")
        raise interrupt("stop")

    monkeypatch.setattr(Runtime, "export", half_then_die)
    result = CliRunner().invoke(cli, ["build", "--card", str(card), "--out", str(out), "--backend", "tflite"])
    assert result.exit_code != 0
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(os.listdir(out)) == ["user-tinyheatmapnet"], "staging directory left behind"
