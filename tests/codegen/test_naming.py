"""The naming module: every identifier of the generated Android code, from any model id."""

from __future__ import annotations

import re

import pytest

from mobilesdk.codegen import naming

JAVA_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@pytest.mark.parametrize(
    ("model_id", "stem", "segment"),
    [
        ("movepose-xs", "MoveposeXs", "movepose_xs"),
        ("mobileposenet-256x192", "Mobileposenet256x192", "mobileposenet_256x192"),
        ("mobilehumanpose.xs.v2", "MobilehumanposeXsV2", "mobilehumanpose_xs_v2"),  # dotted
        ("my_model--x", "MyModelX", "my_model_x"),  # snake, doubled separators
        ("MovePose", "MovePose", "movepose"),  # inner capitals kept in the class, lowered in the package
        ("3d-pose", "Model3dPose", "_3d_pose"),  # leading digit
        ("42", "Model42", "_42"),
        ("posé-nét", "PoseNet", "pose_net"),  # accents folded
        ("ＭｏｖｅＰｏｓｅ", "MovePose", "movepose"),  # full-width letters (NFKD)
    ],
)
def test_names_from_ids(model_id, stem, segment):
    assert naming.class_stem(model_id) == stem
    assert naming.facade_class(model_id) == stem + "PoseEstimator"
    assert naming.package_segment(model_id) == segment


@pytest.mark.parametrize(
    "word", ["object", "in", "is", "fun", "val", "when", "int", "class", "package", "null", "true", "_"]
)
def test_keywords_never_become_package_segments(word):
    seg = naming.package_segment(word)
    assert seg not in naming.KEYWORDS and JAVA_IDENT.match(seg)
    assert seg.rstrip("_") == word.strip("_") or seg.startswith("m")


def test_keyword_ids_give_usable_names():
    assert naming.model_package("object", "executorch") == "io.mobilesdk.models.object_.executorch"
    assert (
        naming.facade_class("object") == "ObjectPoseEstimator"
    )  # a class name: capitalised, never a keyword


@pytest.mark.parametrize("model_id", ["姿势", "🙂", "---", ""])
def test_text_without_ascii_letters_gets_a_stable_hash_name(model_id):
    stem, seg = naming.class_stem(model_id), naming.package_segment(model_id)
    assert JAVA_IDENT.match(stem) and JAVA_IDENT.match(seg) and stem[0].isupper()
    assert naming.class_stem(model_id) == stem  # deterministic
    assert naming.class_stem("姿势") != naming.class_stem("🙂")


def test_package_namespace_and_artifact_id():
    assert naming.model_package("movepose-xs", "litert") == "io.mobilesdk.models.movepose_xs.litert"
    assert naming.artifact_id("movepose-xs", "executorch") == "movepose-xs-executorch"
    assert naming.artifact_id("Move.Pose_XS", "litert") == "move-pose-xs-litert"
    for part in naming.model_package("3d-pose", "executorch").split("."):
        assert JAVA_IDENT.match(part) and part not in naming.KEYWORDS


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("nose", '"nose"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("${injected}", '"\\${injected}"'),  # no string templates
        ("line\nbreak\ttab", '"line\\nbreak\\ttab"'),
        ("\x00\x1f", '"\\u0000\\u001f"'),
        ("épaule gauche", '"épaule gauche"'),  # unicode stays (Kotlin sources are UTF-8)
        ("\ud800", '"\\ud800"'),  # a lone surrogate cannot be written as UTF-8
    ],
)
def test_kotlin_string_literals(text, literal):
    assert naming.kotlin_string(text) == literal


def test_kotlin_numbers_and_values():
    assert naming.kotlin_double(2) == "2.0"
    assert naming.kotlin_double(5.66) == "5.66"
    assert naming.kotlin_double(1e-10) == "1e-10"
    assert float(naming.kotlin_double(0.1 + 0.2)) == 0.1 + 0.2  # round-trips exactly
    assert naming.kotlin_double(float("nan")) == "Double.NaN"
    assert naming.kotlin_double(float("-inf")) == "Double.NEGATIVE_INFINITY"
    assert naming.kotlin_int(17) == "17"
    assert naming.kotlin_int(2**31) == "2147483648L"
    assert naming.kotlin_int(-(2**31)) == "-2147483648L"  # not an Int literal in Kotlin
    assert naming.kotlin_value(
        {"sigma": {"x": 5.66}, "normalize": True, "bins": [1, 2], "mode": None, "e": {}}
    ) == (
        'mapOf("sigma" to mapOf("x" to 5.66), "normalize" to true, "bins" to listOf(1, 2), "mode" to null, '
        '"e" to emptyMap<String, Any?>())'
    )
    with pytest.raises(TypeError):
        naming.kotlin_value(object())


def test_keypoint_constants_are_unique_upper_case_identifiers():
    names = [
        "left_wrist",
        'say "cheese"',
        "${x}",
        "épaule",
        "3d-point",
        "left wrist",
        "Left-Wrist",
        "",
        "tab\there",
    ]
    consts = naming.keypoint_constants(names)
    assert consts[:5] == ["LEFT_WRIST", "SAY_CHEESE", "X", "EPAULE", "K_3D_POINT"]
    assert consts[5:7] == ["LEFT_WRIST_5", "LEFT_WRIST_6"]  # taken: the index makes it unique
    assert consts[7].startswith("M") and consts[8] == "TAB_HERE"
    assert len(set(consts)) == len(consts)
    assert all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", c) for c in consts)
    assert naming.keypoint_constants(["a", "a", "a_1"]) == ["A", "A_1", "A_1_2"]
