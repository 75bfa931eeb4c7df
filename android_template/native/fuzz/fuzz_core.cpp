// libFuzzer target over the C API's untrusted inputs: manifest JSON, and the frame / ROI / output arguments
// of preprocess and decode; and over .tflite files before LiteRT sees them (the verifier, tflite_model.h). An
// input with "TFL3" at bytes 4..8 is a model file; otherwise the first byte picks the mode. Every input is also
// sniffed as an ONNX model head (onnx_model.h). Everything must come back as a status, never a crash, a
// sanitizer report or a leak.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mobilesdk_pose.h"
#include "onnx_model.h"
#include "tflite_model.h"

namespace {

const char* Manifest(int codec) {
  static const std::string base =
      R"({"schema": "mobilesdk-manifest", "schema_version": 1, "model": {"id": "fuzz"},
  "keypoints": {"names": ["a","b","c","d"], "flip_pairs": [[0, 1]]},
  "artifacts": [{"recipe": "r", "runtime": "executorch",
    "input": {"name": "image", "shape": [1, 3, 16, 12], "layout": "NCHW", "dtype": "float32", "color": "bgr",
              "mean": [1, 2, 3], "std": [50, 60, 70], "normalization": "app", "size": {"width": 12, "height": 16},
              "resize": "affine", "roi_padding": 1.5},
    "outputs": )";
  static const std::string simcc = base +
                                   R"([{"name": "x", "shape": [1, 4, 24], "dtype": "float32", "role": "simcc_x"},
                {"name": "y", "shape": [1, 4, 32], "dtype": "float32", "role": "simcc_y"}]}],
  "codec": {"name": "simcc", "params": {"split_ratio": 2.0, "normalize": true}}})";
  static const std::string heatmap =
      base +
      R"([{"name": "h", "shape": [1, 4, 8, 6], "dtype": "float32", "role": "heatmaps"}]}],
  "codec": {"name": "heatmap", "params": {"heatmap_size": {"width": 6, "height": 8}, "refine": "dark", "blur_kernel": 5}}})";
  static const std::string volume =
      base +
      R"([{"name": "v", "shape": [1, 12, 4, 3], "dtype": "float32", "role": "volumetric"}]}],
  "codec": {"name": "integral-3d", "params": {"depth_bins": 3, "heatmap_size": {"width": 3, "height": 4}}}})";
  return codec == 0 ? simcc.c_str() : codec == 1 ? heatmap.c_str() : volume.c_str();
}

msdk_processor* Processor(int codec) {
  static msdk_processor* p[3] = {nullptr, nullptr, nullptr};
  if (p[codec] == nullptr) {
    const char* m = Manifest(codec);
    msdk_processor_create(m, std::strlen(m), nullptr, &p[codec], nullptr);
  }
  return p[codec];
}

void FuzzManifest(FuzzedDataProvider& in) {
  const bool with_recipe = in.ConsumeBool();
  const std::string recipe = in.ConsumeRandomLengthString(16);
  const std::string json = in.ConsumeRemainingBytesAsString();
  msdk_processor* p = nullptr;
  msdk_error err;
  if (msdk_processor_create(json.data(), json.size(), with_recipe ? recipe.c_str() : nullptr, &p, &err) == MSDK_OK) {
    msdk_tensor_info info;
    msdk_processor_input_info(p, &info, &err);
    for (int32_t i = 0; i < msdk_processor_num_outputs(p); ++i) msdk_processor_output_info(p, i, &info, &err);
    for (int32_t i = 0; i < msdk_processor_num_keypoints(p); ++i) msdk_processor_keypoint_name(p, i);
    msdk_processor_destroy(p);
  }
}

void FuzzPreprocess(FuzzedDataProvider& in) {
  msdk_processor* p = Processor(in.ConsumeIntegralInRange(0, 2));
  msdk_frame f{};
  f.format = static_cast<msdk_pixel_format>(in.ConsumeIntegralInRange(0, 6));
  const bool huge = in.ConsumeBool();
  f.width = huge ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange(-2, 64);
  f.height = huge ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange(-2, 64);
  f.num_planes = in.ConsumeIntegralInRange(0, 4);
  f.rotation_degrees = in.PickValueInArray({0, 90, 180, 270, 45, -90});
  std::vector<uint8_t> planes[3];
  for (int i = 0; i < 3; ++i) {
    planes[i] = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(0, 20000));
    f.planes[i].data = planes[i].empty() ? nullptr : planes[i].data();
    f.planes[i].size = in.ConsumeBool() ? planes[i].size() : in.ConsumeIntegral<size_t>() % (planes[i].size() + 2);
    f.planes[i].row_stride = in.ConsumeIntegralInRange(-4, 300);
    f.planes[i].pixel_stride = in.ConsumeIntegralInRange(-1, 5);
  }
  msdk_rect roi{in.ConsumeFloatingPoint<float>(), in.ConsumeFloatingPoint<float>(), in.ConsumeFloatingPoint<float>(),
                in.ConsumeFloatingPoint<float>()};
  const bool use_roi = in.ConsumeBool();
  msdk_tensor_info info{};
  msdk_processor_input_info(p, &info, nullptr);
  const size_t size = in.ConsumeBool() ? info.bytes : in.ConsumeIntegralInRange<size_t>(0, info.bytes + 8);
  std::vector<float> input(size / 4 + 2);
  float affine[6];
  msdk_error err;
  msdk_processor_preprocess(p, &f, use_roi ? &roi : nullptr, input.data(), size, affine, &err);
}

void FuzzDecode(FuzzedDataProvider& in) {
  msdk_processor* p = Processor(in.ConsumeIntegralInRange(0, 2));
  const int32_t n = msdk_processor_num_outputs(p);
  std::vector<std::vector<float>> outs(static_cast<size_t>(n));
  std::vector<const float*> ptrs;
  std::vector<size_t> counts;
  for (int32_t i = 0; i < n; ++i) {
    msdk_tensor_info info{};
    msdk_processor_output_info(p, i, &info, nullptr);
    const size_t want = info.bytes / 4;
    const size_t count = in.ConsumeBool() ? want : in.ConsumeIntegralInRange<size_t>(0, want + 4);
    outs[i].resize(count);
    for (float& v : outs[i]) v = in.ConsumeFloatingPoint<float>();
    ptrs.push_back(outs[i].data());
    counts.push_back(count);
  }
  float affine[6];
  for (float& a : affine) a = in.ConsumeFloatingPoint<float>();
  std::vector<msdk_keypoint> kp(8);
  msdk_pose pose{kp.data(), in.ConsumeIntegralInRange(0, 8), 0, 0};
  const int32_t num = in.ConsumeBool() ? n : in.ConsumeIntegralInRange(0, 3);
  msdk_error err;
  msdk_processor_decode(p, ptrs.data(), counts.data(), std::min<int32_t>(num, n), affine, &pose, &err);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)msdk::LooksLikeOnnxModel(data, size);
  if (msdk::HasTfliteIdentifier(data, size)) {
    std::vector<uint64_t> model((size + 7) / 8);  // 8-aligned, as the engine reads a file
    std::memcpy(model.data(), data, size);
    msdk::VerifyTfliteModel(reinterpret_cast<const uint8_t*>(model.data()), size);
    return 0;
  }
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: FuzzManifest(in); break;
    case 1: FuzzPreprocess(in); break;
    default: FuzzDecode(in); break;
  }
  return 0;
}
