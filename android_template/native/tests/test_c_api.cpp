// The C API's contract: every bad pointer, size, stride, enum, ROI, output and handle is a status code with
// a message (never a crash), and the estimator on a real .pte (MSDK_TEST_PTE) and a real .tflite
// (MSDK_TEST_TFLITE, LiteRT) checks the model against the manifest, refuses truncated and foreign files, and
// reports NaN / inf outputs of real programs that produce them (MSDK_TEST_NAN_PTE, MSDK_TEST_INF_PTE).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "estimator.h"
#include "mobilesdk_pose.h"
#include "tflite_model.h"

namespace {

using json = nlohmann::json;

json SimccManifest(int w = 24, int h = 32) {
  json names = json::array();
  for (int i = 0; i < 17; ++i) names.push_back("kp" + std::to_string(i));
  return json{{"schema", "mobilesdk-manifest"},
              {"schema_version", 1},
              {"model", {{"id", "test-model"}}},
              {"codec", {{"name", "simcc"}, {"params", {{"split_ratio", 2.0}}}}},
              {"keypoints", {{"names", names}, {"skeleton", json::array()}, {"flip_pairs", {{1, 2}, {3, 4}}}}},
              {"artifacts",
               {{{"recipe", "xnnpack-fp32"},
                 {"runtime", "executorch"},
                 {"input",
                  {{"name", "image"},
                   {"shape", {1, 3, h, w}},
                   {"layout", "NCHW"},
                   {"dtype", "float32"},
                   {"color", "rgb"},
                   {"mean", {123.675, 116.28, 103.53}},
                   {"std", {58.395, 57.12, 57.375}},
                   {"normalization", "app"},
                   {"size", {{"width", w}, {"height", h}}},
                   {"resize", "affine"}}},
                 {"outputs",
                  {{{"name", "simcc_x"}, {"shape", {1, 17, 2 * w}}, {"dtype", "float32"}, {"role", "simcc_x"}},
                   {{"name", "simcc_y"}, {"shape", {1, 17, 2 * h}}, {"dtype", "float32"}, {"role", "simcc_y"}}}}}}}};
}

msdk_status Create(const json& m, msdk_processor** p, msdk_error* err, const char* recipe = nullptr) {
  const std::string s = m.dump();
  return msdk_processor_create(s.data(), s.size(), recipe, p, err);
}

msdk_processor* MakeProcessor(const json& m = SimccManifest()) {
  msdk_processor* p = nullptr;
  msdk_error err{};
  EXPECT_EQ(Create(m, &p, &err), MSDK_OK) << err.message;
  return p;
}

TEST(CApi, VersionAndNames) {
  EXPECT_NE(std::string(msdk_version()).find("mobilesdk-native"), std::string::npos);
  EXPECT_STREQ(msdk_status_name(MSDK_ERR_NUMERIC), "MSDK_ERR_NUMERIC");
  EXPECT_STREQ(msdk_status_name(static_cast<msdk_status>(15)), "MSDK_ERR_UNKNOWN");
}

TEST(CApi, ProcessorCreateRejectsBadManifests) {
  msdk_processor* p = nullptr;
  msdk_error err{};
  EXPECT_EQ(msdk_processor_create(nullptr, 0, nullptr, &p, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msdk_processor_create("{}", 2, nullptr, nullptr, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msdk_processor_create("not json", 8, nullptr, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(msdk_processor_create("[1]", 3, nullptr, &p, nullptr), MSDK_ERR_INVALID_MANIFEST);  // error may be NULL
  const std::string deep(100000, '[');
  EXPECT_EQ(msdk_processor_create(deep.data(), deep.size(), nullptr, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  EXPECT_NE(std::string(err.message).find("nested"), std::string::npos);

  json m = SimccManifest();
  m["schema"] = "other";
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  m = SimccManifest();
  m.erase("codec");
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  EXPECT_NE(std::string(err.message).find("'codec'"), std::string::npos) << err.message;
  for (const json& bad : {json{{"a", 1.0}}, json{{"a", "x"}, {"b", 0.0}}, json{{"a", 1.0}, {"b", 2.0}, {"c", 3.0}},
                          json{{"a", 0.0}, {"b", 1.0}}}) {
    m = SimccManifest();
    m["codec"]["visibility"] = bad;
    EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST) << bad.dump();
    EXPECT_NE(std::string(err.message).find("'codec.visibility'"), std::string::npos) << err.message;
  }
  m = SimccManifest();
  m["codec"]["params"]["bogus"] = 1;
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  EXPECT_NE(std::string(err.message).find("unknown param 'bogus'"), std::string::npos) << err.message;
  m = SimccManifest();
  m["codec"]["params"]["split_ratio"] = -1;
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  m = SimccManifest();
  m["artifacts"][0]["input"]["shape"] = {1, 3, 32, 25};
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  EXPECT_NE(std::string(err.message).find("artifacts[0].input.shape"), std::string::npos) << err.message;
  m = SimccManifest();
  m["artifacts"][0]["outputs"][0]["shape"] = {1, 17, 50};  // not floor/ceil(24 * 2)
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  m = SimccManifest();
  m["artifacts"][0]["outputs"][1]["role"] = "heatmaps";
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  m = SimccManifest();
  m["artifacts"][0]["input"]["dtype"] = "uint8";  // with normalization "app": undefined by the reference
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  m = SimccManifest();
  m["artifacts"][0]["input"]["roi_padding"] = 9;
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  m = SimccManifest();
  m["keypoints"]["flip_pairs"] = {{0, 40}};
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  m = SimccManifest();
  m["artifacts"].push_back(m["artifacts"][0]);
  m["artifacts"][1]["recipe"] = "xnnpack-int8";
  EXPECT_EQ(Create(m, &p, &err), MSDK_ERR_INVALID_MANIFEST);
  EXPECT_NE(std::string(err.message).find("pass a recipe"), std::string::npos) << err.message;
  EXPECT_EQ(Create(m, &p, &err, "nope"), MSDK_ERR_INVALID_MANIFEST);
  ASSERT_EQ(Create(m, &p, &err, "xnnpack-int8"), MSDK_OK) << err.message;
  msdk_processor_destroy(p);
}

TEST(CApi, ProcessorInfoAndDeadHandles) {
  msdk_processor* p = MakeProcessor();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(msdk_processor_num_keypoints(p), 17);
  EXPECT_STREQ(msdk_processor_keypoint_name(p, 3), "kp3");
  EXPECT_EQ(msdk_processor_keypoint_name(p, 17), nullptr);
  EXPECT_EQ(msdk_processor_keypoint_name(p, -1), nullptr);
  msdk_tensor_info info{};
  msdk_error err{};
  ASSERT_EQ(msdk_processor_input_info(p, &info, &err), MSDK_OK);
  EXPECT_EQ(info.bytes, 24u * 32 * 3 * 4);
  EXPECT_EQ(info.rank, 4);
  EXPECT_EQ(msdk_processor_num_outputs(p), 2);
  EXPECT_EQ(msdk_processor_output_info(p, 2, &info, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msdk_processor_input_info(p, nullptr, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msdk_processor_set_threads(p, 4, &err), MSDK_OK);
  EXPECT_EQ(msdk_processor_set_threads(p, 0, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("threads 0"), std::string::npos) << err.message;
  EXPECT_EQ(msdk_processor_set_threads(p, 257, &err), MSDK_ERR_INVALID_ARGUMENT);
  msdk_processor_destroy(p);
  EXPECT_EQ(msdk_processor_input_info(p, &info, &err), MSDK_ERR_INVALID_STATE);  // destroyed
  EXPECT_EQ(msdk_processor_set_threads(p, 2, &err), MSDK_ERR_INVALID_STATE);
  EXPECT_EQ(msdk_processor_num_keypoints(p), 0);
  msdk_processor_destroy(p);  // twice: a no-op
  int garbage = 0;
  EXPECT_EQ(msdk_processor_input_info(reinterpret_cast<msdk_processor*>(&garbage), &info, &err),
            MSDK_ERR_INVALID_STATE);
  EXPECT_EQ(msdk_processor_input_info(nullptr, &info, &err), MSDK_ERR_INVALID_STATE);
  msdk_processor_destroy(nullptr);
}

struct FrameFixture {
  std::vector<uint8_t> rgba, y, vu;
  msdk_frame Rgba(int w, int h) {
    rgba.assign(static_cast<size_t>(w) * h * 4, 100);
    msdk_frame f{};
    f.format = MSDK_FORMAT_RGBA8888;
    f.width = w;
    f.height = h;
    f.num_planes = 1;
    f.planes[0] = msdk_plane{rgba.data(), rgba.size(), w * 4, 4};
    return f;
  }
  msdk_frame Nv21(int w, int h) {
    y.assign(static_cast<size_t>(w) * h, 90);
    vu.assign(static_cast<size_t>(w) * (h / 2), 128);
    msdk_frame f{};
    f.format = MSDK_FORMAT_NV21;
    f.width = w;
    f.height = h;
    f.num_planes = 2;
    f.planes[0] = msdk_plane{y.data(), y.size(), w, 1};
    f.planes[1] = msdk_plane{vu.data(), vu.size(), w, 2};
    return f;
  }
};

TEST(CApi, PreprocessRejectsBadFrames) {
  msdk_processor* p = MakeProcessor();
  std::vector<float> input(24 * 32 * 3);
  const size_t bytes = input.size() * 4;
  float affine[6];
  msdk_error err{};
  FrameFixture fx;
  auto pre = [&](const msdk_frame* f, const msdk_rect* roi = nullptr) {
    return msdk_processor_preprocess(p, f, roi, input.data(), bytes, affine, &err);
  };
  msdk_frame f = fx.Rgba(40, 30);
  ASSERT_EQ(pre(&f), MSDK_OK) << err.message;
  EXPECT_EQ(pre(nullptr), MSDK_ERR_INVALID_ARGUMENT);
  auto expect_bad = [&](msdk_frame g, const char* needle, const msdk_rect* roi = nullptr) {
    EXPECT_EQ(pre(&g, roi), MSDK_ERR_INVALID_ARGUMENT) << needle;
    EXPECT_EQ(err.status, MSDK_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(err.message).find(needle), std::string::npos) << err.message;
  };
  msdk_frame g = f;
  g.format = static_cast<msdk_pixel_format>(7);  // C callers may pass any int; 7 is a valid C++ value
  expect_bad(g, "pixel format");
  g = f;
  g.width = 0;
  expect_bad(g, "must be > 0");
  g = f;
  g.height = -5;
  expect_bad(g, "must be > 0");
  g = f;
  g.planes[0].row_stride = 39 * 4;  // smaller than a row
  expect_bad(g, "row stride");
  g = f;
  g.planes[0].size -= 1;  // buffer one byte short
  expect_bad(g, "bytes");
  g = f;
  g.planes[0].pixel_stride = 3;
  expect_bad(g, "pixel stride");
  g = f;
  g.planes[0].data = nullptr;
  expect_bad(g, "null");
  g = f;
  g.num_planes = 2;
  expect_bad(g, "plane(s)");
  g = f;
  g.num_planes = 0;
  expect_bad(g, "num_planes");
  g = f;
  g.rotation_degrees = 45;
  expect_bad(g, "rotation");
  g = f;
  g.width = std::numeric_limits<int32_t>::max();  // huge sizes never overflow the size check
  g.height = std::numeric_limits<int32_t>::max();
  expect_bad(g, "row stride");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  msdk_rect roi{nan, 0, 10, 10};
  expect_bad(f, "finite", &roi);
  roi = msdk_rect{50, 40, 60, 50};
  expect_bad(f, "outside", &roi);
  roi = msdk_rect{10, 10, 5, 20};
  expect_bad(f, "right must exceed left", &roi);
  roi = msdk_rect{0, 0, std::numeric_limits<float>::infinity(), 10};
  expect_bad(f, "finite", &roi);
  roi = msdk_rect{-5, -5, 10, 10};  // partly outside: fine
  EXPECT_EQ(pre(&f, &roi), MSDK_OK) << err.message;

  msdk_frame n = fx.Nv21(40, 30);
  ASSERT_EQ(pre(&n), MSDK_OK) << err.message;
  g = n;
  g.width = 39;
  expect_bad(g, "even");
  g = n;
  g.planes[1].pixel_stride = 1;
  expect_bad(g, "pixel stride must be 2");
  g = n;
  g.planes[1].size = 10;
  expect_bad(g, "plane 1");

  EXPECT_EQ(msdk_processor_preprocess(p, &f, nullptr, input.data(), bytes - 4, affine, &err),
            MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msdk_processor_preprocess(p, &f, nullptr, nullptr, bytes, affine, &err), MSDK_ERR_INVALID_ARGUMENT);
  std::vector<uint8_t> raw(bytes + 1);
  EXPECT_EQ(msdk_processor_preprocess(p, &f, nullptr, raw.data() + 1, bytes, affine, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("aligned"), std::string::npos);
  EXPECT_EQ(msdk_processor_preprocess(p, &f, nullptr, input.data(), bytes, nullptr, &err), MSDK_OK);  // affine optional
  msdk_processor_destroy(p);
}

TEST(CApi, DecodeRejectsBadOutputs) {
  msdk_processor* p = MakeProcessor();
  std::vector<float> x(17 * 48, 0.0f), y(17 * 64, 0.0f);
  x[5] = 3.0f;
  const float* outs[2] = {x.data(), y.data()};
  size_t counts[2] = {x.size(), y.size()};
  const float affine[6] = {0.5f, 0, 1, 0, 0.5f, 2};
  std::vector<msdk_keypoint> kp(17);
  msdk_pose pose{kp.data(), 17, 0, 0};
  msdk_error err{};
  ASSERT_EQ(msdk_processor_decode(p, outs, counts, 2, affine, &pose, &err), MSDK_OK) << err.message;
  EXPECT_EQ(pose.count, 17);
  EXPECT_FLOAT_EQ(pose.keypoints[0].x, (2.5f - 1) / 0.5f);  // bin 5 / k 2 = 2.5 px, through A^-1
  EXPECT_TRUE(std::isnan(pose.keypoints[0].z));
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 1, affine, &pose, &err), MSDK_ERR_INVALID_ARGUMENT);
  counts[1] = 10;
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 2, affine, &pose, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("simcc_y"), std::string::npos) << err.message;
  counts[1] = y.size();
  const float* null_outs[2] = {x.data(), nullptr};
  EXPECT_EQ(msdk_processor_decode(p, null_outs, counts, 2, affine, &pose, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msdk_processor_decode(p, nullptr, counts, 2, affine, &pose, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 2, nullptr, &pose, &err), MSDK_ERR_INVALID_ARGUMENT);
  const float singular[6] = {0, 0, 1, 0, 0, 2};
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 2, singular, &pose, &err), MSDK_ERR_INVALID_ARGUMENT);
  const float nan_affine[6] = {std::numeric_limits<float>::quiet_NaN(), 0, 1, 0, 1, 2};
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 2, nan_affine, &pose, &err), MSDK_ERR_INVALID_ARGUMENT);
  msdk_pose small{kp.data(), 16, 0, 0};
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 2, affine, &small, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 2, affine, nullptr, &err), MSDK_ERR_INVALID_ARGUMENT);
  y[100] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 2, affine, &pose, &err), MSDK_ERR_NUMERIC);
  EXPECT_NE(std::string(err.message).find("simcc_y"), std::string::npos) << err.message;
  y[100] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 2, affine, &pose, &err), MSDK_ERR_NUMERIC);
  y[100] = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(msdk_processor_decode(p, outs, counts, 2, affine, &pose, &err), MSDK_ERR_NUMERIC);
  msdk_processor_destroy(p);
}

// ---- the estimator on a real program (MSDK_TEST_PTE) ---------------------------------------------------

std::string Pte() {
  const char* p = std::getenv("MSDK_TEST_PTE");
  return p ? p : "";
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

msdk_status CreateEstimator(const std::string& path, msdk_estimator** e, msdk_error* err,
                            const std::string* manifest = nullptr, int threads = 0) {
  msdk_estimator_options o{};
  o.model_path = path.c_str();
  o.manifest_json = manifest ? manifest->data() : nullptr;
  o.manifest_size = manifest ? manifest->size() : 0;
  o.num_threads = threads;
  return msdk_estimator_create(&o, e, err);
}

// A manifest with the model's input but SimCC outputs described at the wrong bin count: refused as a mismatch
// naming the output (models of other codecs: nothing to check).
void ExpectWrongOutputsRefused(const std::string& model, const json& embedded, int w) {
  if (embedded["codec"]["name"] != "simcc") return;
  json m = embedded;
  m["codec"]["params"]["split_ratio"] = 1.0;
  m["artifacts"][0]["outputs"][0]["shape"][2] = w;
  m["artifacts"][0]["outputs"][1]["shape"][2] = w;
  const std::string text = m.dump();
  msdk_estimator* e = nullptr;
  msdk_error err{};
  EXPECT_EQ(CreateEstimator(model, &e, &err, &text), MSDK_ERR_MISMATCH) << err.message;
  EXPECT_NE(std::string(err.message).find("simcc_x"), std::string::npos) << err.message;
  EXPECT_EQ(e, nullptr);
}

#define REQUIRE_PTE() \
  if (Pte().empty() || !msdk_has_executorch()) GTEST_SKIP() << "MSDK_TEST_PTE not set or no ExecuTorch"

TEST(EstimatorPte, RefusesBadFiles) {
  REQUIRE_PTE();
  msdk_estimator* e = nullptr;
  msdk_error err{};
  EXPECT_EQ(CreateEstimator("/nonexistent/model.pte", &e, &err), MSDK_ERR_IO);
  EXPECT_EQ(e, nullptr);
  EXPECT_EQ(CreateEstimator(::testing::TempDir(), &e, &err), MSDK_ERR_IO) << err.message;  // a directory
  EXPECT_EQ(msdk_estimator_create(nullptr, &e, &err), MSDK_ERR_INVALID_ARGUMENT);
  msdk_estimator_options o{};
  EXPECT_EQ(msdk_estimator_create(&o, &e, &err), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(CreateEstimator(Pte(), &e, &err, nullptr, -1), MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(CreateEstimator(WriteTemp("text.pte", std::string(4096, 'x') + "not a program"), &e, &err),
            MSDK_ERR_INVALID_MODEL);
  EXPECT_EQ(CreateEstimator(WriteTemp("empty.pte", ""), &e, &err), MSDK_ERR_INVALID_MODEL);
  const std::string bytes = Slurp(Pte());
  ASSERT_GT(bytes.size(), 1000u);
  for (double frac : {0.001, 0.01, 0.1, 0.5, 0.9, 0.999}) {
    const std::string cut = bytes.substr(0, static_cast<size_t>(bytes.size() * frac));
    const msdk_status st = CreateEstimator(WriteTemp("cut.pte", cut), &e, &err);
    EXPECT_EQ(st, MSDK_ERR_INVALID_MODEL) << "truncated at " << frac << ": " << err.message;
    EXPECT_EQ(e, nullptr);
  }
  std::string flipped = bytes;  // a corrupted flatbuffer header
  for (size_t i = 8; i < 64; ++i) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  EXPECT_NE(CreateEstimator(WriteTemp("corrupt.pte", flipped), &e, &err), MSDK_OK);
  EXPECT_EQ(e, nullptr);
}

TEST(EstimatorPte, ChecksTheManifestAgainstTheProgram) {
  REQUIRE_PTE();
  msdk_estimator* e = nullptr;
  msdk_error err{};
  ASSERT_EQ(CreateEstimator(Pte(), &e, &err, nullptr, 1), MSDK_OK) << err.message;
  const json embedded = json::parse(msdk_estimator_manifest(e));
  EXPECT_EQ(msdk_estimator_num_threads(e), 1);
  msdk_estimator_destroy(e);

  json m = embedded;  // another input size than the program's
  auto& in = m["artifacts"][0]["input"];
  const int w = in["size"]["width"];
  in["size"] = {{"width", w / 2}, {"height", w / 2}};
  in["shape"] = {1, 3, w / 2, w / 2};
  if (m["codec"]["name"] == "simcc") {
    m["artifacts"][0]["outputs"][0]["shape"][2] = w;
    m["artifacts"][0]["outputs"][1]["shape"][2] = w;
  }
  std::string text = m.dump();
  EXPECT_EQ(CreateEstimator(Pte(), &e, &err, &text), MSDK_ERR_MISMATCH) << err.message;
  EXPECT_NE(std::string(err.message).find("'image'"), std::string::npos) << err.message;
  EXPECT_EQ(e, nullptr);

  ExpectWrongOutputsRefused(Pte(), embedded, w);
  m = embedded;
  m["artifacts"][0]["runtime"] = "litert";
  text = m.dump();
  EXPECT_EQ(CreateEstimator(Pte(), &e, &err, &text), MSDK_ERR_INVALID_MANIFEST) << err.message;
  text = "{\"schema\": 1";
  EXPECT_EQ(CreateEstimator(Pte(), &e, &err, &text), MSDK_ERR_INVALID_MANIFEST) << err.message;
}

TEST(EstimatorPte, EstimateRunAndDeadHandles) {
  REQUIRE_PTE();
  msdk_estimator* e = nullptr;
  msdk_error err{};
  ASSERT_EQ(CreateEstimator(Pte(), &e, &err), MSDK_OK) << err.message;
  const msdk_processor* p = msdk_estimator_processor(e);
  ASSERT_NE(p, nullptr);
  const int32_t k = msdk_processor_num_keypoints(p);
  std::vector<msdk_keypoint> kp(k);
  msdk_pose pose{kp.data(), k, 0, 0};
  msdk_timings t{};
  FrameFixture fx;
  msdk_frame f = fx.Nv21(320, 240);
  ASSERT_EQ(msdk_estimator_estimate(e, &f, nullptr, &pose, &t, &err), MSDK_OK) << err.message;
  EXPECT_GT(t.inference_us, 0);
  for (int32_t j = 0; j < k; ++j) {  // visibility: in [0, 1], a monotone map of the score
    EXPECT_TRUE(kp[j].visibility >= 0.0f && kp[j].visibility <= 1.0f) << "keypoint " << j << ": " << kp[j].visibility;
    for (int32_t i = 0; i < k; ++i) {
      if (kp[i].score < kp[j].score) EXPECT_LE(kp[i].visibility, kp[j].visibility) << i << " vs " << j;
    }
  }
  EXPECT_EQ(msdk_estimator_estimate(e, &f, nullptr, &pose, nullptr, &err), MSDK_OK);  // timings optional
  msdk_frame g = f;
  g.planes[0].row_stride = 100;
  EXPECT_EQ(msdk_estimator_estimate(e, &g, nullptr, &pose, &t, &err), MSDK_ERR_INVALID_ARGUMENT);
  const msdk_rect outside{1000, 1000, 1200, 1200};
  EXPECT_EQ(msdk_estimator_estimate(e, &f, &outside, &pose, &t, &err), MSDK_ERR_INVALID_ARGUMENT);
  msdk_pose small{kp.data(), k - 1, 0, 0};
  EXPECT_EQ(msdk_estimator_estimate(e, &f, nullptr, &small, &t, &err), MSDK_ERR_INVALID_ARGUMENT);

  msdk_tensor_info in{};
  ASSERT_EQ(msdk_processor_input_info(p, &in, &err), MSDK_OK);
  std::vector<uint8_t> input(in.bytes, 0);
  const int32_t n = msdk_processor_num_outputs(p);
  std::vector<std::vector<float>> outs(n);
  std::vector<float*> ptrs;
  std::vector<size_t> counts;
  for (int32_t i = 0; i < n; ++i) {
    msdk_tensor_info o{};
    ASSERT_EQ(msdk_processor_output_info(p, i, &o, &err), MSDK_OK);
    outs[i].resize(o.bytes / 4);
    ptrs.push_back(outs[i].data());
    counts.push_back(outs[i].size());
  }
  int64_t us = 0;
  ASSERT_EQ(msdk_estimator_run(e, input.data(), input.size(), ptrs.data(), counts.data(), n, &us, &err), MSDK_OK)
      << err.message;
  EXPECT_EQ(msdk_estimator_run(e, input.data(), input.size() - 1, ptrs.data(), counts.data(), n, &us, &err),
            MSDK_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msdk_estimator_run(e, nullptr, input.size(), ptrs.data(), counts.data(), n, &us, &err),
            MSDK_ERR_INVALID_ARGUMENT);
  counts[0] -= 1;
  EXPECT_EQ(msdk_estimator_run(e, input.data(), input.size(), ptrs.data(), counts.data(), n, &us, &err),
            MSDK_ERR_INVALID_ARGUMENT);
  counts[0] += 1;
  EXPECT_EQ(msdk_estimator_run(e, input.data(), input.size(), ptrs.data(), counts.data(), n + 1, &us, &err),
            MSDK_ERR_INVALID_ARGUMENT);

  msdk_estimator_destroy(e);
  EXPECT_EQ(msdk_estimator_estimate(e, &f, nullptr, &pose, &t, &err), MSDK_ERR_INVALID_STATE);
  EXPECT_EQ(msdk_estimator_run(e, input.data(), input.size(), ptrs.data(), counts.data(), n, &us, &err),
            MSDK_ERR_INVALID_STATE);
  EXPECT_EQ(msdk_estimator_processor(e), nullptr);
  EXPECT_EQ(msdk_estimator_manifest(e), nullptr);
  EXPECT_EQ(msdk_estimator_num_threads(e), 0);
  msdk_tensor_info info{};
  EXPECT_EQ(msdk_processor_input_info(p, &info, &err), MSDK_ERR_INVALID_STATE);  // borrowed, gone with it
  msdk_estimator_destroy(e);
  EXPECT_EQ(msdk_estimator_estimate(nullptr, &f, nullptr, &pose, &t, &err), MSDK_ERR_INVALID_STATE);
}

// ---- the estimator on real programs whose outputs are not finite -----------------------------------------
// MSDK_TEST_NAN_PTE / MSDK_TEST_INF_PTE: the MSDK_TEST_PTE model re-exported with one head bias set to NaN
// (resp. +inf), with the same embedded manifest (tests/native/conftest.py). The raw outputs carry the NaN/inf
// as they are (the runner's raw mode); estimate and estimate_input refuse to decode them with
// MSDK_ERR_NUMERIC naming that output, and the estimator stays usable. MSDK_TEST_PTE is the finite control.

std::string Env(const char* name) {
  const char* p = std::getenv(name);
  return p ? p : "";
}

// Forward on `input` through msdk_estimator_run: every output's values.
std::vector<std::vector<float>> RunRaw(msdk_estimator* e, const std::vector<float>& input) {
  const msdk_processor* p = msdk_estimator_processor(e);
  const int32_t n = msdk_processor_num_outputs(p);
  std::vector<std::vector<float>> outs(n);
  std::vector<float*> ptrs;
  std::vector<size_t> counts;
  msdk_error err{};
  for (int32_t i = 0; i < n; ++i) {
    msdk_tensor_info o{};
    EXPECT_EQ(msdk_processor_output_info(p, i, &o, &err), MSDK_OK) << err.message;
    outs[i].resize(o.bytes / 4);
    ptrs.push_back(outs[i].data());
    counts.push_back(outs[i].size());
  }
  int64_t us = 0;
  EXPECT_EQ(msdk_estimator_run(e, input.data(), input.size() * 4, ptrs.data(), counts.data(), n, &us, &err), MSDK_OK)
      << err.message;
  return outs;
}

TEST(EstimatorNonFinite, NanAndInfOutputsAreNumericErrorsNamingTheOutput) {
  const std::string nan_pte = Env("MSDK_TEST_NAN_PTE"), inf_pte = Env("MSDK_TEST_INF_PTE");
  if (Pte().empty() || nan_pte.empty() || inf_pte.empty() || !msdk_has_executorch()) {
    GTEST_SKIP() << "MSDK_TEST_PTE, MSDK_TEST_NAN_PTE or MSDK_TEST_INF_PTE not set, or no ExecuTorch";
  }
  enum Kind { kFinite, kNan, kInf };
  const std::vector<std::pair<std::string, Kind>> programs = {{Pte(), kFinite}, {nan_pte, kNan}, {inf_pte, kInf}};
  FrameFixture fx;
  const msdk_frame f = fx.Rgba(160, 120);
  for (const auto& [path, kind] : programs) {
    SCOPED_TRACE(path);
    msdk_estimator* e = nullptr;
    msdk_error err{};
    ASSERT_EQ(CreateEstimator(path, &e, &err), MSDK_OK) << err.message;  // the embedded manifest matches
    const msdk_processor* p = msdk_estimator_processor(e);
    const json manifest = json::parse(msdk_estimator_manifest(e));
    ASSERT_EQ(manifest["artifacts"].size(), 1u);
    const json& outputs = manifest["artifacts"][0]["outputs"];
    msdk_tensor_info in{};
    ASSERT_EQ(msdk_processor_input_info(p, &in, &err), MSDK_OK);
    std::vector<float> input(in.bytes / 4);
    float affine[6];
    ASSERT_EQ(msdk_processor_preprocess(p, &f, nullptr, input.data(), in.bytes, affine, &err), MSDK_OK) << err.message;

    // Which output the program makes non-finite, and how: all of its non-finite values are NaN (resp. +inf).
    const std::vector<std::vector<float>> raw = RunRaw(e, input);
    std::vector<int> bad;
    for (size_t i = 0; i < raw.size(); ++i) {
      size_t nans = 0, pos_inf = 0, other = 0;
      for (float v : raw[i]) {
        if (std::isnan(v))
          ++nans;
        else if (std::isinf(v) && v > 0)
          ++pos_inf;
        else if (!std::isfinite(v))
          ++other;
      }
      if (nans + pos_inf + other == 0) continue;
      bad.push_back(static_cast<int>(i));
      EXPECT_EQ(other, 0u) << "output " << i;
      if (kind == kNan) {
        EXPECT_TRUE(nans > 0 && pos_inf == 0) << "output " << i << ": " << nans << " NaN, " << pos_inf << " inf";
      }
      if (kind == kInf) {
        EXPECT_TRUE(pos_inf > 0 && nans == 0) << "output " << i << ": " << nans << " NaN, " << pos_inf << " inf";
      }
    }

    const int32_t k = msdk_processor_num_keypoints(p);
    std::vector<msdk_keypoint> kp(k);
    msdk_pose pose{kp.data(), k, 0, 0};
    msdk_timings t{};
    if (kind == kFinite) {
      EXPECT_TRUE(bad.empty()) << "the control program has non-finite outputs";
      ASSERT_EQ(msdk_estimator_estimate(e, &f, nullptr, &pose, &t, &err), MSDK_OK) << err.message;
      for (int32_t j = 0; j < k; ++j) {
        EXPECT_TRUE(std::isfinite(kp[j].x) && std::isfinite(kp[j].y) && std::isfinite(kp[j].score)) << "keypoint " << j;
      }
      EXPECT_GT(t.inference_us, 0);
      EXPECT_GE(t.total_us, t.inference_us);
      EXPECT_EQ(msdk_estimator_estimate_input(e, input.data(), in.bytes, affine, &pose, &t, &err), MSDK_OK)
          << err.message;
    } else {
      ASSERT_EQ(bad.size(), 1u) << "expected exactly one non-finite output";
      const std::string name = outputs[bad[0]]["name"];
      for (int round = 0; round < 2; ++round) {  // the error leaves the estimator usable: same answer again
        err = msdk_error{};
        EXPECT_EQ(msdk_estimator_estimate(e, &f, nullptr, &pose, &t, &err), MSDK_ERR_NUMERIC) << err.message;
        EXPECT_EQ(err.status, MSDK_ERR_NUMERIC);
        EXPECT_NE(std::string(err.message).find("'" + name + "'"), std::string::npos) << err.message;
        EXPECT_NE(std::string(err.message).find("NaN or inf"), std::string::npos) << err.message;
      }
      err = msdk_error{};
      EXPECT_EQ(msdk_estimator_estimate_input(e, input.data(), in.bytes, affine, &pose, &t, &err), MSDK_ERR_NUMERIC);
      EXPECT_NE(std::string(err.message).find("'" + name + "'"), std::string::npos) << err.message;
    }
    msdk_estimator_destroy(e);
  }
  EXPECT_EQ(msdk::LiveEstimators(), 0);
}

// ---- the estimator on a real .tflite (MSDK_TEST_TFLITE): LiteRT through its C API ---------------------------

std::string Tflite() { return Env("MSDK_TEST_TFLITE"); }

#define REQUIRE_TFLITE() \
  if (Tflite().empty() || !msdk_has_litert()) GTEST_SKIP() << "MSDK_TEST_TFLITE not set or no LiteRT"

// The verifier alone (no LiteRT): the model passes, no prefix of it does, and nothing reads out of bounds (this
// runs under ASan too). LiteRT 2.3.0 itself crashes on a model cut in half.
TEST(TfliteVerifier, AcceptsTheModelAndRefusesEveryPrefix) {
  if (Tflite().empty()) GTEST_SKIP() << "MSDK_TEST_TFLITE not set";
  const std::string bytes = Slurp(Tflite());
  ASSERT_GT(bytes.size(), 1000u);
  std::vector<uint64_t> mem((bytes.size() + 7) / 8);  // 8-aligned, as the engine's copy
  std::memcpy(mem.data(), bytes.data(), bytes.size());
  const auto* data = reinterpret_cast<const uint8_t*>(mem.data());
  msdk::Status st = msdk::VerifyTfliteModel(data, bytes.size());
  ASSERT_TRUE(st.ok()) << st.message();
  std::vector<size_t> cuts;
  for (size_t n = 0; n < 256; ++n) cuts.push_back(n);
  for (size_t k = 1; k < 1000; ++k) cuts.push_back(bytes.size() * k / 1000);
  for (size_t n = 1; n <= 256; ++n) cuts.push_back(bytes.size() - n);
  for (size_t n : cuts) {
    st = msdk::VerifyTfliteModel(data, n);
    EXPECT_EQ(st.code(), MSDK_ERR_INVALID_MODEL) << "a prefix of " << n << " bytes passed";
    EXPECT_NE(st.message().find(n < 8 ? "not a TFLite model" : "corrupt or truncated"), std::string::npos)
        << st.message();
  }
}

TEST(EstimatorTflite, RefusesBadFiles) {
  REQUIRE_TFLITE();
  msdk_estimator* e = nullptr;
  msdk_error err{};
  EXPECT_EQ(CreateEstimator("/nonexistent/model.tflite", &e, &err), MSDK_ERR_IO);
  EXPECT_EQ(CreateEstimator(::testing::TempDir(), &e, &err), MSDK_ERR_IO) << err.message;
  EXPECT_EQ(CreateEstimator(WriteTemp("notes.tflite", "just some text, not a model at all\n"), &e, &err),
            MSDK_ERR_INVALID_MODEL);
  EXPECT_NE(std::string(err.message).find("neither a TFLite model"), std::string::npos) << err.message;
  EXPECT_EQ(CreateEstimator(WriteTemp("empty.tflite", ""), &e, &err), MSDK_ERR_INVALID_MODEL);
  std::string fake = std::string("\x1c\0\0\0TFL3", 8) + std::string(4096, '\x7f');  // the identifier, then junk
  EXPECT_EQ(CreateEstimator(WriteTemp("fake.tflite", fake), &e, &err), MSDK_ERR_INVALID_MODEL);
  EXPECT_NE(std::string(err.message).find("corrupt or truncated TFLite model"), std::string::npos) << err.message;
  const std::string bytes = Slurp(Tflite());
  for (double frac : {0.001, 0.01, 0.1, 0.5, 0.9, 0.999}) {
    const std::string cut = bytes.substr(0, static_cast<size_t>(bytes.size() * frac));
    EXPECT_EQ(CreateEstimator(WriteTemp("cut.tflite", cut), &e, &err), MSDK_ERR_INVALID_MODEL) << frac;
    EXPECT_NE(std::string(err.message).find("truncated"), std::string::npos) << err.message;
    EXPECT_EQ(e, nullptr);
  }
  EXPECT_EQ(msdk::LiveEstimators(), 0);
}

TEST(EstimatorTflite, ChecksTheManifestAgainstTheModel) {
  REQUIRE_TFLITE();
  msdk_estimator* e = nullptr;
  msdk_error err{};
  ASSERT_EQ(CreateEstimator(Tflite(), &e, &err, nullptr, 1), MSDK_OK) << err.message;
  const json embedded = json::parse(msdk_estimator_manifest(e));
  ASSERT_EQ(embedded["artifacts"].size(), 1u);
  EXPECT_EQ(embedded["artifacts"][0]["runtime"], "litert");
  msdk_estimator_destroy(e);

  json m = embedded;  // another input size than the model's (NHWC)
  auto& in = m["artifacts"][0]["input"];
  const int w = in["size"]["width"];
  in["size"] = {{"width", w / 2}, {"height", w / 2}};
  in["shape"] = {1, w / 2, w / 2, 3};
  if (m["codec"]["name"] == "simcc") {
    m["artifacts"][0]["outputs"][0]["shape"][2] = w;
    m["artifacts"][0]["outputs"][1]["shape"][2] = w;
  }
  std::string text = m.dump();
  EXPECT_EQ(CreateEstimator(Tflite(), &e, &err, &text), MSDK_ERR_MISMATCH) << err.message;
  EXPECT_NE(std::string(err.message).find("'image'"), std::string::npos) << err.message;
  EXPECT_NE(std::string(err.message).find("[1, " + std::to_string(w) + ", " + std::to_string(w) + ", 3]"),
            std::string::npos)
      << err.message;
  EXPECT_EQ(e, nullptr);

  m = embedded;  // an NCHW manifest for the NHWC model
  m["artifacts"][0]["input"]["layout"] = "NCHW";
  m["artifacts"][0]["input"]["shape"] = {1, 3, w, w};
  text = m.dump();
  EXPECT_EQ(CreateEstimator(Tflite(), &e, &err, &text), MSDK_ERR_MISMATCH) << err.message;

  ExpectWrongOutputsRefused(Tflite(), embedded, w);
  m = embedded;
  m["artifacts"][0]["runtime"] = "executorch";
  text = m.dump();
  EXPECT_EQ(CreateEstimator(Tflite(), &e, &err, &text), MSDK_ERR_INVALID_MANIFEST) << err.message;
  EXPECT_NE(std::string(err.message).find("not litert"), std::string::npos) << err.message;
  EXPECT_EQ(msdk::LiveEstimators(), 0);
}

TEST(EstimatorTflite, EstimateRunRuntimeAndDeadHandles) {
  REQUIRE_TFLITE();
  msdk_estimator* e = nullptr;
  msdk_error err{};
  ASSERT_EQ(CreateEstimator(Tflite(), &e, &err, nullptr, 1), MSDK_OK) << err.message;
  EXPECT_STREQ(msdk_estimator_runtime(e), "litert");
  const std::string version = msdk_estimator_runtime_version(e);
  EXPECT_FALSE(version.empty());
  EXPECT_NE(std::string(msdk_version()).find("litert " + version), std::string::npos) << msdk_version();
  EXPECT_EQ(msdk_estimator_num_threads(e), 1);
  const msdk_processor* p = msdk_estimator_processor(e);
  const int32_t k = msdk_processor_num_keypoints(p);
  std::vector<msdk_keypoint> kp(k);
  msdk_pose pose{kp.data(), k, 0, 0};
  msdk_timings t{};
  FrameFixture fx;
  const msdk_frame f = fx.Nv21(320, 240);
  ASSERT_EQ(msdk_estimator_estimate(e, &f, nullptr, &pose, &t, &err), MSDK_OK) << err.message;
  EXPECT_GT(t.inference_us, 0);
  EXPECT_EQ(pose.count, k);
  for (int32_t j = 0; j < k; ++j) EXPECT_TRUE(std::isfinite(kp[j].x) && std::isfinite(kp[j].score)) << j;

  msdk_tensor_info in{};
  ASSERT_EQ(msdk_processor_input_info(p, &in, &err), MSDK_OK);
  EXPECT_EQ(in.shape[3], 3);  // NHWC
  std::vector<float> input(in.bytes / 4);
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i % 251) / 125.0f - 1.0f;
  const auto first = RunRaw(e, input), second = RunRaw(e, input);
  ASSERT_EQ(first.size(), static_cast<size_t>(msdk_processor_num_outputs(p)));
  EXPECT_EQ(first, second);  // the same input, the same bits
  bool varies = false;
  for (const auto& o : first) varies = varies || (o.size() > 1 && o.front() != o.back());
  EXPECT_TRUE(varies) << "constant outputs: the input did not reach the model";
  int64_t us = 0;
  std::vector<float*> ptrs;
  std::vector<size_t> counts;
  std::vector<std::vector<float>> outs = first;
  for (auto& o : outs) {
    ptrs.push_back(o.data());
    counts.push_back(o.size());
  }
  EXPECT_EQ(msdk_estimator_run(e, input.data(), in.bytes - 4, ptrs.data(), counts.data(),
                               static_cast<int32_t>(outs.size()), &us, &err),
            MSDK_ERR_INVALID_ARGUMENT);

  // LiteRT estimators have their own pools: a second one gets its own thread count while the first lives.
  msdk_estimator* two = nullptr;
  ASSERT_EQ(CreateEstimator(Tflite(), &two, &err, nullptr, 2), MSDK_OK) << err.message;
  EXPECT_EQ(msdk_estimator_num_threads(two), 2);
  EXPECT_EQ(msdk_estimator_num_threads(e), 1);
  EXPECT_EQ(RunRaw(two, input), first);  // XNNPACK's fp32 results do not depend on the thread count here
  EXPECT_EQ(msdk::LiveEstimators(), 2);
  msdk_estimator_destroy(two);

  msdk_estimator_destroy(e);
  EXPECT_EQ(msdk_estimator_estimate(e, &f, nullptr, &pose, &t, &err), MSDK_ERR_INVALID_STATE);
  EXPECT_EQ(msdk_estimator_runtime(e), nullptr);
  EXPECT_EQ(msdk_estimator_runtime_version(e), nullptr);
  EXPECT_EQ(msdk::LiveEstimators(), 0);
}

TEST(EstimatorTflite, ChoosesTheEngineByContentNotName) {
  REQUIRE_TFLITE();
  msdk_estimator* e = nullptr;
  msdk_error err{};
  ASSERT_EQ(CreateEstimator(WriteTemp("model.pte", Slurp(Tflite())), &e, &err), MSDK_OK) << err.message;
  EXPECT_STREQ(msdk_estimator_runtime(e), "litert");
  msdk_estimator_destroy(e);
  if (!Pte().empty() && msdk_has_executorch()) {
    ASSERT_EQ(CreateEstimator(WriteTemp("program.tflite", Slurp(Pte())), &e, &err), MSDK_OK) << err.message;
    EXPECT_STREQ(msdk_estimator_runtime(e), "executorch");
    EXPECT_STREQ(msdk_estimator_runtime_version(e), msdk::ExecuTorchVersion());
    msdk_estimator_destroy(e);
  }
}

}  // namespace
