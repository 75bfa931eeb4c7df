// The C API over the C++ core: argument checks, a registry of live handles, status + message out. No C++
// exception leaves this file.
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_set>
#include <utility>

#include "estimator.h"
#include "mobilesdk_pose.h"
#include "processor.h"

#ifndef MSDK_VERSION_STRING
#define MSDK_VERSION_STRING "0.1.0"
#endif

struct msdk_processor {
  std::unique_ptr<msdk::Processor> owned;  // null when borrowed from an estimator
  msdk::Processor* impl = nullptr;
};

struct msdk_estimator {
  std::unique_ptr<msdk::Estimator> impl;
  msdk_processor processor;  // borrowed view, registered while the estimator lives
};

namespace {

using msdk::Status;

std::mutex g_mu;
std::unordered_set<const void*> g_processors, g_estimators;

bool LiveProcessor(const msdk_processor* p) {
  std::lock_guard<std::mutex> lock(g_mu);
  return p != nullptr && g_processors.count(p) != 0;
}

bool LiveEstimator(const msdk_estimator* e) {
  std::lock_guard<std::mutex> lock(g_mu);
  return e != nullptr && g_estimators.count(e) != 0;
}

msdk_status Fill(msdk_error* error, const Status& st) {
  if (error != nullptr) {
    error->status = st.code();
    std::string m = st.message();
    for (char& c : m) {
      if (c == '\n' || c == '\r') c = ' ';  // one line
    }
    std::snprintf(error->message, sizeof error->message, "%s", m.c_str());
  }
  return st.code();
}

Status DeadProcessor() {
  return Status(MSDK_ERR_INVALID_STATE, "processor handle is not live (destroyed, or never created)");
}
Status DeadEstimator() {
  return Status(MSDK_ERR_INVALID_STATE, "estimator handle is not live (destroyed, or never created)");
}

// Runs `body` (returning Status) with every exception turned into a status.
template <typename F>
msdk_status Guard(msdk_error* error, F&& body) {
  try {
    return Fill(error, body());
  } catch (const std::bad_alloc&) {
    return Fill(error, Status(MSDK_ERR_INTERNAL, "out of memory"));
  } catch (const std::exception& e) {
    return Fill(error, Status(MSDK_ERR_INTERNAL, std::string("internal error: ") + e.what()));
  } catch (...) {
    return Fill(error, Status(MSDK_ERR_INTERNAL, "internal error"));
  }
}

Status ToFrame(const msdk_frame* frame, msdk::FrameView* out) {
  if (frame == nullptr) return msdk::InvalidArgument("frame is null");
  // Read as an int: a C caller may store any value, which is not a valid value of the C++ enum type.
  int f = 0;
  static_assert(sizeof(frame->format) == sizeof(int), "msdk_pixel_format is an int-sized enum");
  std::memcpy(&f, &frame->format, sizeof f);
  if (f < MSDK_FORMAT_RGB888 || f > MSDK_FORMAT_YUV_420_888) {
    return msdk::InvalidArgument("unknown pixel format " + std::to_string(f) + " (1..5)");
  }
  if (frame->num_planes < 1 || frame->num_planes > 3) {
    return msdk::InvalidArgument("num_planes " + std::to_string(frame->num_planes) + ": must be 1 to 3");
  }
  out->format = static_cast<msdk::PixelFormat>(f);
  out->width = frame->width;
  out->height = frame->height;
  out->num_planes = frame->num_planes;
  out->rotation = frame->rotation_degrees;
  for (int i = 0; i < 3; ++i) {
    const msdk_plane& p = frame->planes[i];
    out->planes[i] = msdk::PlaneView{i < frame->num_planes ? p.data : nullptr, p.size, p.row_stride, p.pixel_stride};
  }
  return Status::Ok();
}

msdk::Rect ToRect(const msdk_rect& roi) { return msdk::Rect{roi.left, roi.top, roi.right, roi.bottom}; }

msdk::Affine ToAffine(const float affine[6]) {
  msdk::Affine a;
  for (int i = 0; i < 6; ++i) a.m[i] = affine[i];
  return a;
}

msdk_timings ToTimings(const msdk::Timings& t) {
  return msdk_timings{t.preprocess_us, t.inference_us, t.decode_us, t.total_us};
}

// pose has room for p's keypoints (CheckPose).
void FillPose(const msdk::Pose& p, msdk_pose* pose) {
  const int32_t k = static_cast<int32_t>(p.keypoints.size());
  pose->count = k;
  for (int32_t i = 0; i < k; ++i) {
    const msdk::Keypoint& s = p.keypoints[i];
    pose->keypoints[i] = msdk_keypoint{s.x, s.y, s.z, s.score, s.visibility};
  }
  pose->score = p.score;
}

Status CheckPose(const msdk_pose* pose, int32_t k) {
  if (pose == nullptr) return msdk::InvalidArgument("pose is null");
  if (pose->keypoints == nullptr) return msdk::InvalidArgument("pose.keypoints is null");
  if (pose->capacity < k) {
    return msdk::InvalidArgument("pose.capacity " + std::to_string(pose->capacity) + " is less than the model's " +
                                 std::to_string(k) + " keypoints");
  }
  return Status::Ok();
}

void FillInfo(const msdk::TensorDesc& t, msdk_tensor_info* out) {
  std::memset(out, 0, sizeof *out);
  out->rank = static_cast<int32_t>(t.shape.size());
  for (size_t i = 0; i < t.shape.size() && i < 8; ++i) out->shape[i] = t.shape[i];
  out->dtype = t.dtype == msdk::DType::kFloat32 ? MSDK_DTYPE_FLOAT32 : MSDK_DTYPE_UINT8;
  out->bytes = t.bytes();
}

}  // namespace

extern "C" {

const char* msdk_version(void) {
  static const std::string v = [] {
    std::string engines;
    for (const auto& [name, version] : {std::pair<const char*, const char*>{"executorch", msdk::ExecuTorchVersion()},
                                        std::pair<const char*, const char*>{"litert", msdk::LiteRtVersion()}}) {
      if (version[0] != '\0') engines += (engines.empty() ? "" : ", ") + std::string(name) + " " + version;
    }
    return std::string("mobilesdk-native " MSDK_VERSION_STRING) + " (" + (engines.empty() ? "no engine" : engines) +
           ")";
  }();
  return v.c_str();
}

int32_t msdk_has_executorch(void) { return msdk::ExecuTorchVersion()[0] != '\0' ? 1 : 0; }

int32_t msdk_has_litert(void) { return msdk::LiteRtVersion()[0] != '\0' ? 1 : 0; }

const char* msdk_status_name(msdk_status status) {
  int s = 0;  // as an int: C callers may pass any value
  std::memcpy(&s, &status, sizeof s);
  switch (s) {
    case MSDK_OK: return "MSDK_OK";
    case MSDK_ERR_INVALID_ARGUMENT: return "MSDK_ERR_INVALID_ARGUMENT";
    case MSDK_ERR_INVALID_STATE: return "MSDK_ERR_INVALID_STATE";
    case MSDK_ERR_IO: return "MSDK_ERR_IO";
    case MSDK_ERR_INVALID_MODEL: return "MSDK_ERR_INVALID_MODEL";
    case MSDK_ERR_INVALID_MANIFEST: return "MSDK_ERR_INVALID_MANIFEST";
    case MSDK_ERR_MISMATCH: return "MSDK_ERR_MISMATCH";
    case MSDK_ERR_INFERENCE: return "MSDK_ERR_INFERENCE";
    case MSDK_ERR_NUMERIC: return "MSDK_ERR_NUMERIC";
    case MSDK_ERR_UNSUPPORTED: return "MSDK_ERR_UNSUPPORTED";
    case MSDK_ERR_INTERNAL: return "MSDK_ERR_INTERNAL";
  }
  return "MSDK_ERR_UNKNOWN";
}

msdk_status msdk_processor_create(const char* manifest_json, size_t manifest_size, const char* recipe,
                                  msdk_processor** out, msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (out == nullptr) return msdk::InvalidArgument("out is null");
    *out = nullptr;
    if (manifest_json == nullptr) return msdk::InvalidArgument("manifest_json is null");
    auto p = std::make_unique<msdk_processor>();
    MSDK_RETURN_IF_ERROR(msdk::Processor::Create(manifest_json, manifest_size, recipe, "", &p->owned));
    p->impl = p->owned.get();
    std::lock_guard<std::mutex> lock(g_mu);
    g_processors.insert(p.get());
    *out = p.release();
    return Status::Ok();
  });
}

void msdk_processor_destroy(msdk_processor* processor) {
  if (processor == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    // Unknown, already destroyed, or borrowed from an estimator: nothing to do.
    if (g_processors.count(processor) == 0 || processor->owned == nullptr) return;
    g_processors.erase(processor);
  }
  delete processor;
}

int32_t msdk_processor_num_keypoints(const msdk_processor* processor) {
  return LiveProcessor(processor) ? processor->impl->num_keypoints() : 0;
}

const char* msdk_processor_keypoint_name(const msdk_processor* processor, int32_t index) {
  if (!LiveProcessor(processor) || index < 0 || index >= processor->impl->num_keypoints()) return nullptr;
  return processor->impl->manifest().keypoint_names[index].c_str();
}

msdk_status msdk_processor_input_info(const msdk_processor* processor, msdk_tensor_info* out, msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (!LiveProcessor(processor)) return DeadProcessor();
    if (out == nullptr) return msdk::InvalidArgument("out is null");
    FillInfo(processor->impl->input(), out);
    return Status::Ok();
  });
}

int32_t msdk_processor_num_outputs(const msdk_processor* processor) {
  return LiveProcessor(processor) ? static_cast<int32_t>(processor->impl->outputs().size()) : 0;
}

msdk_status msdk_processor_output_info(const msdk_processor* processor, int32_t index, msdk_tensor_info* out,
                                       msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (!LiveProcessor(processor)) return DeadProcessor();
    if (out == nullptr) return msdk::InvalidArgument("out is null");
    const auto& outs = processor->impl->outputs();
    if (index < 0 || index >= static_cast<int32_t>(outs.size())) {
      return msdk::InvalidArgument("output index " + std::to_string(index) + " outside [0, " +
                                   std::to_string(outs.size()) + ")");
    }
    FillInfo(outs[index], out);
    return Status::Ok();
  });
}

msdk_status msdk_processor_set_threads(msdk_processor* processor, int32_t threads, msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (!LiveProcessor(processor)) return DeadProcessor();
    if (threads < 1 || threads > 256) {
      return msdk::InvalidArgument("threads " + std::to_string(threads) + ": must be 1 to 256");
    }
    processor->impl->set_decode_threads(threads);
    return Status::Ok();
  });
}

msdk_status msdk_processor_preprocess(const msdk_processor* processor, const msdk_frame* frame, const msdk_rect* roi,
                                      void* input, size_t input_size, float affine_out[6], msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (!LiveProcessor(processor)) return DeadProcessor();
    msdk::FrameView view;
    MSDK_RETURN_IF_ERROR(ToFrame(frame, &view));
    const msdk::Rect r = roi ? ToRect(*roi) : msdk::Rect{};
    msdk::Affine a;
    MSDK_RETURN_IF_ERROR(processor->impl->Preprocess(view, roi ? &r : nullptr, input, input_size, &a));
    if (affine_out != nullptr) {
      for (int i = 0; i < 6; ++i) affine_out[i] = static_cast<float>(a.m[i]);
    }
    return Status::Ok();
  });
}

msdk_status msdk_processor_decode(const msdk_processor* processor, const float* const* outputs,
                                  const size_t* output_counts, int32_t num_outputs, const float affine[6],
                                  msdk_pose* pose, msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (!LiveProcessor(processor)) return DeadProcessor();
    if (affine == nullptr) return msdk::InvalidArgument("affine is null");
    MSDK_RETURN_IF_ERROR(CheckPose(pose, processor->impl->num_keypoints()));
    msdk::Pose p;
    MSDK_RETURN_IF_ERROR(processor->impl->Decode(outputs, output_counts, num_outputs, ToAffine(affine), &p));
    FillPose(p, pose);
    return Status::Ok();
  });
}

msdk_status msdk_estimator_create(const msdk_estimator_options* options, msdk_estimator** out, msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (out == nullptr) return msdk::InvalidArgument("out is null");
    *out = nullptr;
    if (options == nullptr) return msdk::InvalidArgument("options is null");
    if (options->model_path == nullptr || options->model_path[0] == '\0') {
      return msdk::InvalidArgument("options.model_path is null or empty");
    }
    msdk::EstimatorOptions o;
    o.model_path = options->model_path;
    o.manifest_json = options->manifest_json;
    o.manifest_size = options->manifest_json ? options->manifest_size : 0;
    o.recipe = options->recipe;
    o.num_threads = options->num_threads;  // range-checked by Estimator::Create
    auto e = std::make_unique<msdk_estimator>();
    MSDK_RETURN_IF_ERROR(msdk::Estimator::Create(o, &e->impl));
    e->processor.impl = &e->impl->processor();
    std::lock_guard<std::mutex> lock(g_mu);
    g_estimators.insert(e.get());
    g_processors.insert(&e->processor);
    *out = e.release();
    return Status::Ok();
  });
}

void msdk_estimator_destroy(msdk_estimator* estimator) {
  if (estimator == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_estimators.count(estimator) == 0) return;
    g_estimators.erase(estimator);
    g_processors.erase(&estimator->processor);
  }
  delete estimator;
}

const msdk_processor* msdk_estimator_processor(const msdk_estimator* estimator) {
  return LiveEstimator(estimator) ? &estimator->processor : nullptr;
}

int32_t msdk_estimator_num_threads(const msdk_estimator* estimator) {
  return LiveEstimator(estimator) ? estimator->impl->num_threads() : 0;
}

const char* msdk_estimator_manifest(const msdk_estimator* estimator) {
  return LiveEstimator(estimator) ? estimator->impl->manifest_json().c_str() : nullptr;
}

const char* msdk_estimator_runtime(const msdk_estimator* estimator) {
  return LiveEstimator(estimator) ? estimator->impl->runtime() : nullptr;
}

const char* msdk_estimator_runtime_version(const msdk_estimator* estimator) {
  return LiveEstimator(estimator) ? estimator->impl->runtime_version() : nullptr;
}

void msdk_estimator_set_instruction_marks(msdk_estimator* estimator, int32_t tag) {
  if (LiveEstimator(estimator)) estimator->impl->set_instruction_marks(tag < 0 ? -1 : tag);
}

msdk_status msdk_estimator_estimate(msdk_estimator* estimator, const msdk_frame* frame, const msdk_rect* roi,
                                    msdk_pose* pose, msdk_timings* timings, msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (!LiveEstimator(estimator)) return DeadEstimator();
    MSDK_RETURN_IF_ERROR(CheckPose(pose, estimator->impl->processor().num_keypoints()));
    msdk::FrameView view;
    MSDK_RETURN_IF_ERROR(ToFrame(frame, &view));
    const msdk::Rect r = roi ? ToRect(*roi) : msdk::Rect{};
    msdk::Pose p;
    msdk::Timings t;
    MSDK_RETURN_IF_ERROR(estimator->impl->Estimate(view, roi ? &r : nullptr, &p, &t));
    if (timings != nullptr) *timings = ToTimings(t);
    FillPose(p, pose);
    return Status::Ok();
  });
}

msdk_status msdk_estimator_run(msdk_estimator* estimator, const void* input, size_t input_size, float* const* outputs,
                               const size_t* output_counts, int32_t num_outputs, int64_t* inference_us,
                               msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (!LiveEstimator(estimator)) return DeadEstimator();
    return estimator->impl->Run(input, input_size, outputs, output_counts, num_outputs, inference_us);
  });
}

msdk_status msdk_estimator_estimate_input(msdk_estimator* estimator, const void* input, size_t input_size,
                                          const float affine[6], msdk_pose* pose, msdk_timings* timings,
                                          msdk_error* error) {
  return Guard(error, [&]() -> Status {
    if (!LiveEstimator(estimator)) return DeadEstimator();
    if (affine == nullptr) return msdk::InvalidArgument("affine is null");
    MSDK_RETURN_IF_ERROR(CheckPose(pose, estimator->impl->processor().num_keypoints()));
    msdk::Pose p;
    msdk::Timings t;
    MSDK_RETURN_IF_ERROR(estimator->impl->EstimateInput(input, input_size, ToAffine(affine), &p, &t));
    if (timings != nullptr) *timings = ToTimings(t);  // preprocess_us 0: not done here
    FillPose(p, pose);
    return Status::Ok();
  });
}

}  // extern "C"
