"""Registry, build_codec, parameter validation and the checks every codec shares."""

import json
import subprocess
import sys

import numpy as np
import pytest

import mobilesdk.codecs as codecs_pkg
from mobilesdk.codecs import CODECS, Codec, Keypoints, build_codec, register_codec
from mobilesdk.errors import CodecError

SIZE = {"width": 192, "height": 256}
HM = {"width": 48, "height": 64}
# One valid configuration per codec: name -> (num_keypoints, params).
CONFIGS = {
    "simcc": (17, {}),
    "heatmap": (17, {"heatmap_size": HM}),
    "integral-3d": (3, {"depth_bins": 8, "heatmap_size": {"width": 12, "height": 16}}),
}


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_registry_has_the_three_codecs():
    assert sorted(CODECS) == ["heatmap", "integral-3d", "simcc"]
    assert set(CONFIGS) == set(CODECS)


def test_every_codec_class_in_the_package_is_registered():
    ours = [c for c in _all_subclasses(Codec) if c.__module__.startswith("mobilesdk.codecs")]
    assert ours, "no codec classes found"
    for cls in ours:
        assert CODECS.get(cls.name) is cls, f"{cls.__name__} is not registered under {cls.name!r}"


def test_register_refuses_silent_overwrite():
    class Impostor(CODECS["simcc"]):
        pass

    with pytest.raises(CodecError, match="'simcc' is already registered by SimCCCodec"):
        register_codec(Impostor)
    assert CODECS["simcc"].__name__ == "SimCCCodec"


def test_unknown_codec_lists_valid_names():
    with pytest.raises(CodecError) as err:
        build_codec("simdr", SIZE, 17)
    assert "unknown codec 'simdr'" in str(err.value)
    assert "heatmap, integral-3d, simcc" in str(err.value)


def test_unknown_param_names_it_and_lists_valid_ones():
    with pytest.raises(CodecError) as err:
        build_codec("simcc", SIZE, 17, {"simcc_split_ratio": 2.0})
    msg = str(err.value)
    assert "unknown param 'simcc_split_ratio'" in msg
    for valid in ("split_ratio", "sigma", "normalize", "flip_average", "flip_shift"):
        assert valid in msg


def test_missing_required_param():
    with pytest.raises(CodecError, match=r"missing required param 'heatmap_size'.*heatmap_size \(required\)"):
        build_codec("heatmap", SIZE, 17)
    with pytest.raises(CodecError, match="missing required param 'depth_bins'"):
        build_codec("integral-3d", SIZE, 17, {"heatmap_size": HM})


@pytest.mark.parametrize(
    ("name", "params", "needle"),
    [
        ("simcc", {"split_ratio": -1}, "split_ratio"),
        ("simcc", {"split_ratio": True}, "split_ratio"),
        ("simcc", {"sigma": {"x": 4.0}}, "sigma"),
        ("simcc", {"sigma": {"x": 4.0, "y": 0}}, "sigma['y']"),
        ("simcc", {"normalize": "yes"}, "normalize"),
        ("simcc", {"flip_average": "mean"}, "flip_average"),
        ("heatmap", {"heatmap_size": HM, "blur_kernel": 10}, "blur_kernel must be odd"),
        ("heatmap", {"heatmap_size": HM, "blur_kernel": 0}, "blur_kernel"),
        ("heatmap", {"heatmap_size": HM, "refine": "taylor"}, "'dark', 'quarter-offset', 'none'"),
        ("heatmap", {"heatmap_size": (48, 64)}, "heatmap_size must be a mapping"),
        ("heatmap", {"heatmap_size": {"width": 48, "height": 0}}, "heatmap_size['height']"),
        ("integral-3d", {"depth_bins": 0, "heatmap_size": HM}, "depth_bins must be >= 1"),
        ("integral-3d", {"depth_bins": 4, "heatmap_size": HM, "sigma": float("nan")}, "sigma"),
    ],
)
def test_invalid_param_values_name_the_param(name, params, needle):
    with pytest.raises(CodecError) as err:
        build_codec(name, SIZE, 17, params)
    assert needle in str(err.value)


def test_bad_geometry_is_refused():
    with pytest.raises(CodecError, match="input_size must be a mapping"):
        build_codec("simcc", (192, 256), 17)
    with pytest.raises(CodecError, match="num_keypoints must be >= 1"):
        build_codec("simcc", SIZE, 0)
    with pytest.raises(CodecError, match="params must be a mapping"):
        build_codec("simcc", SIZE, 17, [("split_ratio", 2.0)])


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_params_are_json_and_rebuild_the_same_codec(name):
    k, params = CONFIGS[name]
    codec = build_codec(name, SIZE, k, params)
    data = json.loads(json.dumps(codec.params()))
    again = build_codec(name, SIZE, k, data)
    assert again.params() == codec.params()
    assert again.output_shapes() == codec.output_shapes()
    assert set(codec.output_shapes()) == set(codec.output_names)


def test_output_shapes():
    assert build_codec("simcc", SIZE, 17).output_shapes() == {"simcc_x": (17, 384), "simcc_y": (17, 512)}
    assert build_codec("simcc", SIZE, 17, {"split_ratio": 1.5}).output_shapes() == {
        "simcc_x": (17, 288),
        "simcc_y": (17, 384),
    }
    assert build_codec("heatmap", SIZE, 17, {"heatmap_size": HM}).output_shapes() == {
        "heatmaps": (17, 64, 48)
    }
    i3d = build_codec(
        "integral-3d", {"width": 256, "height": 256}, 18, {"depth_bins": 64, "heatmap_size": HM}
    )
    assert i3d.output_shapes() == {"volumetric": (18 * 64, 64, 48)}


def _valid_outputs(codec, n=2):
    return {k: np.zeros((n, *s), np.float32) for k, s in codec.output_shapes().items()}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_output_name_shape_and_value_errors(name):
    k, params = CONFIGS[name]
    codec = build_codec(name, SIZE, k, params)
    first = codec.output_names[0]
    good = _valid_outputs(codec)
    codec.decode(good)  # sanity: valid outputs decode

    missing = {n: v for n, v in good.items() if n != first}
    with pytest.raises(CodecError, match=f"missing \\['{first}'\\]"):
        codec.decode(missing)
    with pytest.raises(CodecError, match=r"unexpected \['logits'\]"):
        codec.decode({**good, "logits": good[first]})

    wrong = dict(good)
    wrong[first] = good[first][:, :-1]
    with pytest.raises(CodecError, match=f"'{first}'\\] has shape .* expected \\(N, "):
        codec.decode(wrong)
    with pytest.raises(CodecError, match="has shape"):
        codec.decode({n: v[0] for n, v in good.items()})  # batch dim dropped

    for bad in (np.nan, np.inf, -np.inf):
        poisoned = {n: v.copy() for n, v in good.items()}
        poisoned[codec.output_names[-1]][1, 0, 0] = bad
        with pytest.raises(CodecError, match=f"'{codec.output_names[-1]}'\\] contains NaN or inf"):
            codec.decode(poisoned)

    with pytest.raises(CodecError, match="must be a mapping"):
        codec.decode(good[first])


def test_batch_mismatch_between_outputs():
    codec = build_codec("simcc", SIZE, 17)
    outs = _valid_outputs(codec)
    outs["simcc_y"] = outs["simcc_y"][:1]
    with pytest.raises(CodecError, match="'simcc_y'\\] has batch 1, other outputs have 2"):
        codec.decode(outs)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_encode_and_flip_merge_input_errors(name):
    k, params = CONFIGS[name]
    codec = build_codec(name, SIZE, k, params)
    with pytest.raises(
        CodecError, match=f"keypoints have shape \\(1, {k + 1}, 2\\), expected \\(N, {k}, 2\\)"
    ):
        codec.encode(np.zeros((1, k + 1, 2)))
    with pytest.raises(CodecError, match="visible has shape"):
        codec.encode(np.zeros((1, k, 2)), visible=np.ones(k))
    with pytest.raises(CodecError, match="NaN or inf"):
        codec.encode(np.full((1, k, 2), np.nan))
    outs = _valid_outputs(codec)
    with pytest.raises(CodecError, match="outside"):
        codec.flip_merge(outs, outs, [(0, k)])
    with pytest.raises(CodecError, match="more than one flip pair"):
        codec.flip_merge(outs, outs, [(0, 1), (1, 2)])
    with pytest.raises(CodecError, match="batch 2 but flipped_outputs have 1"):
        codec.flip_merge(outs, _valid_outputs(codec, n=1), [])


def test_keypoints_validates_and_converts():
    kps = Keypoints(xy=np.zeros((2, 3, 2)), scores=np.zeros((2, 3)), z=np.zeros((2, 3)))
    assert kps.xy.dtype == kps.scores.dtype == kps.z.dtype == np.float32
    with pytest.raises(CodecError, match=r"xy must have shape \(N, K, 2\)"):
        Keypoints(xy=np.zeros((2, 3)), scores=np.zeros((2, 3)))
    with pytest.raises(CodecError, match="scores must have shape"):
        Keypoints(xy=np.zeros((2, 3, 2)), scores=np.zeros((3, 2)))
    with pytest.raises(CodecError, match="z must have shape"):
        Keypoints(xy=np.zeros((2, 3, 2)), scores=np.zeros((2, 3)), z=np.zeros(3))


def test_importing_the_codecs_pulls_in_numpy_only():
    code = (
        "import sys, mobilesdk.codecs, mobilesdk.codecs.affine, mobilesdk.codecs.oks, mobilesdk.codecs.nms\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'cv2', 'scipy', 'logging'})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert codecs_pkg.__all__ == [
        "CODECS",
        "Codec",
        "Keypoints",
        "build_codec",
        "codec_for",
        "register_codec",
    ]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_empty_batch(name):
    k, params = CONFIGS[name]
    codec = build_codec(name, SIZE, k, params)
    empty = _valid_outputs(codec, n=0)
    assert codec.decode(empty).xy.shape == (0, k, 2)
    assert {n: v.shape[0] for n, v in codec.encode(np.zeros((0, k, 2))).items()} == dict.fromkeys(empty, 0)
    assert {n: v.shape for n, v in codec.flip_merge(empty, empty, []).items()} == {
        n: v.shape for n, v in empty.items()
    }
