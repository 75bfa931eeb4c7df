"""Named export recipes: the exact CLI choices, one small table (ExecuTorch's named-recipe habit)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from mobilesdk.errors import MobileSDKError

BACKENDS = ("executorch", "tflite")
QUANTIZE = ("none", "fp16", "int8", "int8-full")
LAYOUTS = ("NCHW", "NHWC")
DTYPES = ("float32", "uint8")


@dataclass(frozen=True)
class Recipe:
    name: str
    runtime: str  # "executorch" | "litert"
    backend: str  # the CLI's --backend value
    quantize: str  # none | fp16 | int8 | int8-full
    extension: str
    default_layout: str  # camera bitmaps are NHWC; ExecuTorch's XNNPACK graphs are NCHW
    gate: str  # which parity gate applies: fp32 | fp16 | int8

    @property
    def precision(self) -> str:
        return "fp32" if self.quantize == "none" else self.quantize


RECIPES: dict[str, Recipe] = {}


def _register(recipe: Recipe) -> None:
    if recipe.name in RECIPES:  # refuse silent overwrite
        raise ValueError(f"recipe {recipe.name!r} registered twice")
    RECIPES[recipe.name] = recipe


_register(Recipe("xnnpack-fp32", "executorch", "executorch", "none", ".pte", "NCHW", "fp32"))
_register(Recipe("xnnpack-int8", "executorch", "executorch", "int8", ".pte", "NCHW", "int8"))
_register(Recipe("xnnpack-int8-full", "executorch", "executorch", "int8-full", ".pte", "NCHW", "int8"))
_register(Recipe("litert-fp32", "litert", "tflite", "none", ".tflite", "NHWC", "fp32"))
_register(Recipe("litert-fp16", "litert", "tflite", "fp16", ".tflite", "NHWC", "fp16"))
_register(Recipe("litert-int8", "litert", "tflite", "int8", ".tflite", "NHWC", "int8"))
_register(Recipe("litert-int8-full", "litert", "tflite", "int8-full", ".tflite", "NHWC", "int8"))


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        close = difflib.get_close_matches(name, RECIPES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise MobileSDKError(f"unknown recipe '{name}'{hint}; known: {', '.join(RECIPES)}")
    return RECIPES[name]


def select_recipes(backend: str, quantize: str) -> list[Recipe]:
    """The recipes for ``--backend`` (executorch | tflite | all) and ``--quantize``; unsupported pairs error."""
    backends = BACKENDS if backend == "all" else (backend,)
    if backend != "all" and backend not in BACKENDS:
        raise MobileSDKError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}, all")
    chosen = [r for r in RECIPES.values() if r.backend in backends and r.quantize == quantize]
    supported = {b: [r.quantize for r in RECIPES.values() if r.backend == b] for b in backends}
    missing = [b for b in backends if quantize not in supported[b]]
    if missing and (backend != "all" or not chosen):
        b = missing[0]
        raise MobileSDKError(
            f"--quantize {quantize} is not supported with --backend {b} (supported: {', '.join(supported[b])})"
        )
    return chosen
