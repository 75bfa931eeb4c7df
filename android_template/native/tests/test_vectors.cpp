// The shared test vectors of mobilesdk.vectors (index.json + raw little-endian arrays): every case the
// Python reference wrote, reproduced by the C++ core. MSDK_VECTORS_DIR names the directory.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decoders.h"
#include "manifest.h"
#include "oks.h"
#include "preprocess.h"

namespace msdk {
namespace {

using json = nlohmann::json;

std::string Dir() {
  const char* d = std::getenv("MSDK_VECTORS_DIR");
  return d ? d : "";
}

std::string ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

struct Array {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
  size_t count() const {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    return n;
  }
  template <typename T>
  std::vector<T> as() const {
    std::vector<T> v(count());
    auto get = [&](size_t i) -> double {
      if (dtype == "float32") {
        float x;
        std::memcpy(&x, bytes.data() + 4 * i, 4);
        return x;
      }
      if (dtype == "float64") {
        double x;
        std::memcpy(&x, bytes.data() + 8 * i, 8);
        return x;
      }
      if (dtype == "int64") {
        int64_t x;
        std::memcpy(&x, bytes.data() + 8 * i, 8);
        return static_cast<double>(x);
      }
      return static_cast<uint8_t>(bytes[i]);
    };
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(get(i));
    return v;
  }
};

Array Load(const json& ref) {
  Array a;
  a.dtype = ref.at("dtype").get<std::string>();
  a.shape = ref.at("shape").get<std::vector<int64_t>>();
  a.bytes = ReadBytes(Dir() + "/" + ref.at("file").get<std::string>());
  return a;
}

std::vector<json> Cases(const std::string& kind) {
  std::vector<json> out;
  if (Dir().empty()) return out;
  const json index = json::parse(ReadBytes(Dir() + "/index.json"));
  for (const auto& c : index.at("cases")) {
    if (c.at("kind") == kind) out.push_back(c);
  }
  return out;
}

#define REQUIRE_VECTORS(cases)                                      \
  if (Dir().empty()) GTEST_SKIP() << "MSDK_VECTORS_DIR is not set"; \
  ASSERT_FALSE((cases).empty()) << "no vector cases of this kind"

void ExpectClose(const std::vector<double>& got, const std::vector<double>& want, double atol, double rtol,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << what << " [" << i << "]";
  }
}

PixelFormat FormatOf(const std::string& f) {
  if (f == "rgb") return PixelFormat::kRGB888;
  if (f == "rgba") return PixelFormat::kRGBA8888;
  if (f == "bgra") return PixelFormat::kBGRA8888;
  if (f == "nv21") return PixelFormat::kNV21;
  return PixelFormat::kYUV420;
}

TEST(Vectors, Preprocess) {
  const auto cases = Cases("preprocess");
  REQUIRE_VECTORS(cases);
  Preprocessor pre;
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const json& fr = c.at("frame");
    std::vector<std::string> planes;
    FrameView f;
    f.format = FormatOf(fr.at("format"));
    f.width = fr.at("width");
    f.height = fr.at("height");
    f.rotation = c.at("rotation");
    f.num_planes = static_cast<int32_t>(fr.at("planes").size());
    for (const auto& p : fr.at("planes")) planes.push_back(Load(p.at("data")).bytes);
    for (int i = 0; i < f.num_planes; ++i) {
      const json& p = fr.at("planes")[i];
      f.planes[i] = PlaneView{reinterpret_cast<const uint8_t*>(planes[i].data()), planes[i].size(),
                              p.at("row_stride").get<int64_t>(), p.at("pixel_stride").get<int64_t>()};
    }
    InputSpec spec;
    std::vector<int64_t> shape;
    const std::string entry = c.at("input").dump();
    ASSERT_TRUE(ParseInputEntry(entry.data(), entry.size(), &spec, &shape).ok());
    Rect roi{};
    const bool has_roi = !c.at("roi").is_null();
    if (has_roi) roi = Rect{c["roi"][0], c["roi"][1], c["roi"][2], c["roi"][3]};
    const Array expected = Load(c.at("expected"));
    std::vector<uint8_t> out(spec.bytes()), general(spec.bytes());
    Affine a;
    const Status st = pre.Run(spec, f, has_roi ? &roi : nullptr, out.data(), out.size(), &a);
    ASSERT_TRUE(st.ok()) << st.message();
    const std::vector<double> want_affine = c.at("affine").get<std::vector<double>>();
    ExpectClose(std::vector<double>(a.m, a.m + 6), want_affine, 1e-12, 1e-12, "affine");
    pre.Warp(spec, f, a, general.data(), /*force_general=*/true);
    if (spec.dtype == DType::kFloat32) {
      ASSERT_EQ(expected.dtype, "float32");
      std::vector<double> got(expected.count()), gen(expected.count());
      for (size_t i = 0; i < got.size(); ++i) {
        float x, y;
        std::memcpy(&x, out.data() + 4 * i, 4);
        std::memcpy(&y, general.data() + 4 * i, 4);
        got[i] = x;
        gen[i] = y;
      }
      ExpectClose(got, expected.as<double>(), 1e-4, 0.0, "float input");
      ExpectClose(gen, got, 1e-5, 0.0, "general warp path");
    } else {
      ASSERT_EQ(expected.dtype, "uint8");
      const auto want = expected.as<double>();
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_LE(std::abs(static_cast<int>(out[i]) - static_cast<int>(want[i])), 1) << "uint8 [" << i << "]";
        ASSERT_LE(std::abs(static_cast<int>(out[i]) - static_cast<int>(general[i])), 1) << "general [" << i << "]";
      }
    }
  }
}

struct CodecCase {
  Codec codec;
  std::vector<Array> outputs;  // by role
  int32_t n = 0;
};

CodecCase MakeCodec(const json& c, const char* outputs_key = "outputs") {
  CodecCase cc;
  std::string name;
  CodecParams params;
  const std::string text = c.at("codec").dump();
  const Status st = ParseCodec(text.data(), text.size(), &name, &params);
  EXPECT_TRUE(st.ok()) << st.message();
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& role : Codec::RoleNames(params.kind)) {
    Array a = Load(c.at(outputs_key).at(role));
    cc.n = static_cast<int32_t>(a.shape[0]);
    shapes.emplace_back(a.shape.begin() + 1, a.shape.end());
    cc.outputs.push_back(std::move(a));
  }
  const Status cs = Codec::Create(params, c.at("input_size").at("width"), c.at("input_size").at("height"),
                                  c.at("num_keypoints"), shapes, &cc.codec);
  EXPECT_TRUE(cs.ok()) << cs.message();
  return cc;
}

TEST(Vectors, Decode) {
  const auto cases = Cases("decode");
  REQUIRE_VECTORS(cases);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    CodecCase cc = MakeCodec(c);
    std::vector<std::vector<float>> data;
    std::vector<const float*> ptrs;
    for (const auto& a : cc.outputs) data.push_back(a.as<float>());
    for (const auto& d : data) ptrs.push_back(d.data());
    Decoded out;
    const Status st = cc.codec.Decode(ptrs.data(), cc.n, &out);
    ASSERT_TRUE(st.ok()) << st.message();
    const json& e = c.at("expected");
    ExpectClose(out.xy, Load(e.at("xy")).as<double>(), 1e-3, 0.0, "xy (px)");
    ExpectClose(out.scores, Load(e.at("scores")).as<double>(), 1e-7, 1e-6, "scores");
    // visibility: the codec's map of the score with codec.visibility, or the codec's default without it
    VisibilityParams vp;
    const std::string codec_text = c.at("codec").dump();
    const Status vs = ParseCodecVisibility(codec_text.data(), codec_text.size(), &vp);
    ASSERT_TRUE(vs.ok()) << vs.message();
    std::vector<double> vis(out.scores.size());
    for (size_t i = 0; i < vis.size(); ++i) vis[i] = Visibility(out.scores[i], vp);
    ExpectClose(vis, Load(e.at("visibility")).as<double>(), 1e-5, 0.0, "visibility");
    if (!e.at("z").is_null()) ExpectClose(out.z, Load(e.at("z")).as<double>(), 1e-3, 0.0, "z");
    const std::vector<double> am = c.at("affine").get<std::vector<double>>();
    Affine a, inv;
    std::copy(am.begin(), am.end(), a.m);
    ASSERT_TRUE(InvertAffine(a, &inv));
    std::vector<double> frame(out.xy.size());
    for (size_t i = 0; i < frame.size(); i += 2) ApplyAffine(inv, out.xy[i], out.xy[i + 1], &frame[i], &frame[i + 1]);
    ExpectClose(frame, Load(e.at("frame_xy")).as<double>(), 1e-3, 0.0, "frame_xy (px)");
  }
}

TEST(Vectors, FlipMerge) {
  const auto cases = Cases("flip_merge");
  REQUIRE_VECTORS(cases);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    CodecCase plain = MakeCodec(c), flipped = MakeCodec(c, "flipped_outputs");
    std::vector<std::vector<float>> a, b;
    std::vector<const float*> pa, pb;
    for (size_t r = 0; r < plain.outputs.size(); ++r) {
      a.push_back(plain.outputs[r].as<float>());
      b.push_back(flipped.outputs[r].as<float>());
    }
    for (size_t r = 0; r < a.size(); ++r) {
      pa.push_back(a[r].data());
      pb.push_back(b[r].data());
    }
    std::vector<std::pair<int32_t, int32_t>> pairs;
    for (const auto& p : c.at("flip_pairs")) pairs.emplace_back(p[0], p[1]);
    std::vector<std::vector<float>> merged;
    const Status st = plain.codec.FlipMerge(pa.data(), pb.data(), plain.n, pairs, &merged);
    ASSERT_TRUE(st.ok()) << st.message();
    const auto& roles = Codec::RoleNames(plain.codec.params().kind);
    for (size_t r = 0; r < roles.size(); ++r) {
      std::vector<double> got(merged[r].begin(), merged[r].end());
      ExpectClose(got, Load(c.at("expected").at(roles[r])).as<double>(), 1e-5, 1e-5, roles[r]);
    }
  }
}

Points PointsOf(const Array& a, std::vector<double>* store) {
  *store = a.as<double>();
  const size_t r = a.shape.size();
  const int32_t n = r == 3 ? static_cast<int32_t>(a.shape[0]) : 1;
  return Points{store->data(), n, static_cast<int32_t>(a.shape[r - 2]), static_cast<int32_t>(a.shape[r - 1])};
}

TEST(Vectors, Oks) {
  const auto cases = Cases("oks");
  REQUIRE_VECTORS(cases);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const json& a = c.at("args");
    std::vector<double> g, p;
    const Points gt = PointsOf(Load(a.at("gt_xy")), &g), pred = PointsOf(Load(a.at("pred_xy")), &p);
    const std::vector<int64_t> vis = Load(a.at("gt_visible")).as<int64_t>();
    const std::vector<double> box = a.at("gt_box").get<std::vector<double>>();
    std::vector<double> out;
    ASSERT_TRUE(Oks(gt, vis.data(), a.at("gt_area"), pred, nullptr, box.data(), &out).ok());
    ExpectClose(out, Load(c.at("expected")).as<double>(), 1e-12, 1e-6, "oks");
  }
}

TEST(Vectors, OksIouMatrix) {
  const auto cases = Cases("oks_iou_matrix");
  REQUIRE_VECTORS(cases);
  for (const auto& c : cases) {
    const json& a = c.at("args");
    std::vector<double> k;
    const Points kp = PointsOf(Load(a.at("kpts")), &k);
    const auto areas = Load(a.at("areas")).as<double>();
    std::vector<double> out;
    ASSERT_TRUE(OksIouMatrix(kp, areas.data(), nullptr, &out).ok());
    ExpectClose(out, Load(c.at("expected")).as<double>(), 1e-12, 1e-6, "oks_iou_matrix");
  }
}

TEST(Vectors, OksNms) {
  const auto cases = Cases("oks_nms");
  REQUIRE_VECTORS(cases);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const json& a = c.at("args");
    std::vector<double> k;
    const Points kp = PointsOf(Load(a.at("kpts")), &k);
    const auto scores = Load(a.at("scores")).as<double>(), areas = Load(a.at("areas")).as<double>();
    std::vector<int64_t> keep;
    ASSERT_TRUE(OksNms(kp, scores.data(), areas.data(), a.at("thr"), nullptr, &keep).ok());
    EXPECT_EQ(keep, Load(c.at("expected")).as<int64_t>());
  }
}

TEST(Vectors, MatrixOksNms) {
  const auto cases = Cases("matrix_oks_nms");
  REQUIRE_VECTORS(cases);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const json& a = c.at("args");
    std::vector<double> k;
    const Points kp = PointsOf(Load(a.at("kpts")), &k);
    const auto scores = Load(a.at("scores")).as<double>(), areas = Load(a.at("areas")).as<double>();
    std::vector<int64_t> keep;
    std::vector<double> decayed;
    const NmsKernel kernel = a.at("kernel") == "gaussian" ? NmsKernel::kGaussian : NmsKernel::kLinear;
    ASSERT_TRUE(MatrixOksNms(kp, scores.data(), areas.data(), kernel, a.at("sigma"), a.at("score_thr"), a.at("max_det"),
                             nullptr, &keep, &decayed)
                    .ok());
    EXPECT_EQ(keep, Load(c.at("expected").at("keep")).as<int64_t>());
    ExpectClose(decayed, Load(c.at("expected").at("decayed")).as<double>(), 1e-12, 1e-6, "decayed");
  }
}

TEST(Vectors, Rescore) {
  const auto cases = Cases("rescore");
  REQUIRE_VECTORS(cases);
  for (const auto& c : cases) {
    const json& a = c.at("args");
    const Array ks = Load(a.at("kpt_scores"));
    const auto kv = ks.as<double>(), bv = Load(a.at("box_scores")).as<double>();
    std::vector<double> out;
    Rescore(kv.data(), bv.data(), static_cast<int32_t>(ks.shape[0]), static_cast<int32_t>(ks.shape[1]),
            a.at("in_vis_thre"), &out);
    ExpectClose(out, Load(c.at("expected")).as<double>(), 1e-12, 1e-6, "rescore");
  }
}

// The integral-3d decode splits joints over threads: every thread count gives the one-thread result bit for
// bit, and a NaN is reported at the same flat index.
TEST(Vectors, IntegralDecodeThreadsGiveTheSameResult) {
  const auto cases = Cases("decode");
  REQUIRE_VECTORS(cases);
  int checked = 0;
  for (const auto& c : cases) {
    CodecCase cc = MakeCodec(c);
    if (cc.codec.params().kind != CodecKind::kIntegral3D) continue;
    SCOPED_TRACE(c.at("name").get<std::string>());
    std::vector<float> vol = cc.outputs[0].as<float>();
    const float* ptr = vol.data();
    Decoded one, many;
    cc.codec.set_threads(1);
    ASSERT_TRUE(cc.codec.Decode(&ptr, cc.n, &one).ok());
    for (int32_t threads : {2, 3, 8}) {
      cc.codec.set_threads(threads, /*min_voxels_per_thread=*/1);
      ASSERT_TRUE(cc.codec.Decode(&ptr, cc.n, &many).ok());
      EXPECT_EQ(one.xy, many.xy) << threads << " threads";
      EXPECT_EQ(one.z, many.z) << threads << " threads";
      EXPECT_EQ(one.scores, many.scores) << threads << " threads";
    }
    vol[vol.size() - 3] = std::nanf("");
    cc.codec.set_threads(1);
    const Status st1 = cc.codec.Decode(&ptr, cc.n, &one);
    cc.codec.set_threads(3, 1);
    const Status st3 = cc.codec.Decode(&ptr, cc.n, &many);
    EXPECT_FALSE(st1.ok());
    EXPECT_EQ(st1.message(), st3.message());
    EXPECT_NE(st1.message().find(std::to_string(vol.size() - 3)), std::string::npos) << st1.message();
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no integral-3d decode vectors";
}

}  // namespace
}  // namespace msdk
