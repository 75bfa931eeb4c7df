"""Registry, user-architecture loading and hyperparameter checking (mobilesdk.archs)."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from torch import nn

from mobilesdk.archs import ARCHITECTURES, build_architecture, get_architecture, load_user_architecture
from mobilesdk.errors import ArchitectureError

USER_ARCH = textwrap.dedent(
    """
    import torch
    from torch import nn


    class TinyPose(nn.Module):
        output_names = ("heatmaps",)
        head_modules = ("head",)

        def __init__(self, num_keypoints, input_size, width=8):
            super().__init__()
            self.body = nn.Conv2d(3, width, 3, stride=4, padding=1)
            self.head = nn.Conv2d(width, num_keypoints, 1)

        def forward(self, x):
            return (self.head(torch.relu(self.body(x))),)


    class NotAModule:
        pass
    """
)


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "userpkg" / "tiny.py"
    path.parent.mkdir()
    path.write_text(USER_ARCH)
    return path


def test_importing_the_registry_does_not_import_torch() -> None:
    code = "import sys, mobilesdk.archs; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_registered_name_resolves_to_a_module_class(name: str) -> None:
    cls = get_architecture(name)
    assert issubclass(cls, nn.Module)
    assert cls.output_names in {("simcc_x", "simcc_y"), ("heatmaps",), ("volumetric",)}
    assert cls.head_modules


def test_every_architecture_class_in_the_package_is_registered() -> None:
    registered = {tuple(target.split(":")) for target in ARCHITECTURES.values()}
    package = Path(importlib.import_module("mobilesdk.archs").__file__).parent
    found = set()
    for path in package.glob("[!_]*.py"):
        module = importlib.import_module(f"mobilesdk.archs.{path.stem}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and value.__module__ == module.__name__
                and hasattr(value, "output_names")
            ):
                found.add((module.__name__, name))
    assert found == registered


def test_unknown_name_lists_valid_names_and_suggests_the_close_one() -> None:
    with pytest.raises(ArchitectureError) as info:
        get_architecture("movepse")
    message = str(info.value)
    assert "Did you mean 'movepose'" in message
    for name in ARCHITECTURES:
        assert name in message


def test_unknown_hparam_is_named_with_the_accepted_ones() -> None:
    cls = get_architecture("rethinkdeconv")
    with pytest.raises(ArchitectureError) as info:
        build_architecture(cls, 17, {"width": 192, "height": 256}, {"width_mul": 0.75})
    message = str(info.value)
    assert "'width_mul'" in message
    assert "did you mean 'width_mult'" in message
    assert "width_mult, deconv_channels" in message


def test_fixed_arguments_cannot_hide_in_hparams() -> None:
    cls = get_architecture("movepose")
    with pytest.raises(ArchitectureError, match="num_keypoints"):
        build_architecture(cls, 17, {"width": 128, "height": 128}, {"num_keypoints": 5})


@pytest.mark.parametrize(
    ("name", "input_size", "hparams", "fragment"),
    [
        ("movepose", {"width": 128, "height": 128}, {"width_mult": -1}, "width_mult"),
        ("movepose", {"width": 128, "height": 128}, {"depths": [2, 3]}, "depths"),
        ("movepose", {"width": 128, "height": 128}, {"kernel_size": 6}, "kernel_size"),
        ("movepose", {"width": 120, "height": 128}, {}, "input_size.width"),
        ("movepose", {"w": 128, "h": 128}, {}, "input_size"),
        ("mobilehumanpose", {"width": 256, "height": 256}, {"layout": "tail"}, "layout"),
        ("mobilehumanpose", {"width": 96, "height": 96}, {"layout": "head"}, "multiple of 64"),
        ("mobileposenet", {"width": 192, "height": 256}, {"expand_ratios": [6]}, "same length"),
        ("rethinkdeconv", {"width": 192, "height": 256}, {"deconv_channels": "64"}, "deconv_channels"),
        ("rethinkdeconv", {"width": 192, "height": 256}, {"deconv_channels": [64, 0]}, "deconv_channels[1]"),
    ],
)
def test_bad_hparam_values_raise_architecture_error(
    name: str, input_size: dict, hparams: dict, fragment: str
) -> None:
    with pytest.raises(ArchitectureError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        build_architecture(get_architecture(name), 17, input_size, hparams)


def test_yaml_style_values_are_accepted() -> None:
    # YAML gives lists, and ints where a float is meant.
    cls = get_architecture("movepose")
    model = build_architecture(cls, 5, {"width": 64, "height": 64}, {"width_mult": 1, "depths": [1, 1, 1, 1]})
    assert isinstance(model, nn.Module)


def test_user_architecture_from_a_file_relative_to_base_dir(user_file: Path) -> None:
    cls = load_user_architecture("userpkg/tiny.py:TinyPose", user_file.parent.parent)
    assert cls.__name__ == "TinyPose"
    model = build_architecture(cls, 4, {"width": 32, "height": 32}, {"width": 16})
    assert model.get_submodule("head").out_channels == 4
    # Loading again gives the same class (the module is cached under a path-derived name).
    assert load_user_architecture(str(user_file) + ":TinyPose", Path("/nonexistent")) is cls


def test_user_architecture_unknown_hparam(user_file: Path) -> None:
    cls = load_user_architecture("tiny.py:TinyPose", user_file.parent)
    with pytest.raises(ArchitectureError, match=r"'depth'.*accepted: width"):
        build_architecture(cls, 4, {"width": 32, "height": 32}, {"depth": 3})


def test_user_architecture_from_a_module_path(user_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(user_file.parent.parent))
    (user_file.parent / "__init__.py").write_text("")
    monkeypatch.delitem(sys.modules, "userpkg", raising=False)
    monkeypatch.delitem(sys.modules, "userpkg.tiny", raising=False)
    assert load_user_architecture("userpkg.tiny:TinyPose", Path(".")).__name__ == "TinyPose"
    assert load_user_architecture("mobilesdk.archs.movepose:MovePose", Path(".")) is get_architecture(
        "movepose"
    )


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("tiny.py:Missing", "no class 'Missing'.*classes there: NotAModule, TinyPose"),
        ("missing.py:TinyPose", "file not found"),
        ("tiny.py:NotAModule", "not a torch.nn.Module subclass"),
        ("tiny.py", "must look like"),
        ("no_such_package_xyz.module:Cls", "cannot import module"),
    ],
)
def test_user_architecture_errors_are_clear(user_file: Path, spec: str, fragment: str) -> None:
    with pytest.raises(ArchitectureError, match=fragment):
        load_user_architecture(spec, user_file.parent)


def test_user_architecture_that_fails_to_import(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ArchitectureError, match="RuntimeError: boom"):
        load_user_architecture("broken.py:Net", tmp_path)
