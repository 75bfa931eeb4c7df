#include "estimator.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "onnx_model.h"

#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace msdk {
namespace {

std::mutex g_pool_mu;      // serialises creation (pool sizing + forward load) against destruction
int32_t g_live = 0;        // estimators alive
int32_t g_pool_users = 0;  // of which on ExecuTorch's process-wide CPU pool (LiteRT engines own theirs)

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Basename(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string ShapeText(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

const char* DTypeText(DType d) { return d == DType::kFloat32 ? "float32" : "uint8"; }

// The manifest must describe the program exactly: one input, the outputs in manifest order.
Status CheckProgram(const Processor& p, const std::vector<EngineTensor>& ins, const std::vector<EngineTensor>& outs) {
  const TensorDesc& in = p.input();
  if (ins.size() != 1) {
    return Mismatch("the program's forward takes " + std::to_string(ins.size()) +
                    " inputs; the manifest describes one ('" + in.name + "')");
  }
  if (ins[0].shape != in.shape || ins[0].dtype != DTypeText(in.dtype)) {
    return Mismatch("manifest input '" + in.name + "' is " + DTypeText(in.dtype) + " " + ShapeText(in.shape) +
                    " but the program's forward takes " + ins[0].dtype + " " + ShapeText(ins[0].shape));
  }
  if (outs.size() != p.outputs().size()) {
    return Mismatch("the program's forward returns " + std::to_string(outs.size()) +
                    " outputs; the manifest describes " + std::to_string(p.outputs().size()));
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    const TensorDesc& o = p.outputs()[i];
    if (outs[i].shape != o.shape || outs[i].dtype != "float32") {
      return Mismatch("manifest output " + std::to_string(i) + " '" + o.name + "' is float32 " + ShapeText(o.shape) +
                      " but the program's forward output " + std::to_string(i) + " is " + outs[i].dtype + " " +
                      ShapeText(outs[i].shape));
    }
  }
  return Status::Ok();
}

Status OpenEngine(const std::string& path, ModelKind kind, int32_t num_threads, std::unique_ptr<Engine>* engine) {
  switch (kind) {
    case ModelKind::kTflite: return OpenLiteRtEngine(path, engine);
    case ModelKind::kExecuTorch: return OpenExecuTorchEngine(path, engine);
    case ModelKind::kOnnx: return OpenOnnxRuntimeEngine(path, num_threads, engine);
    case ModelKind::kUnknown: break;
  }
  return Status(MSDK_ERR_INVALID_MODEL, path +
                                            ": neither a TFLite model ('TFL3' at bytes 4..8), an ExecuTorch "
                                            "program ('ET' and two digits at bytes 4..8) nor an ONNX model");
}

const char* RuntimeName(ModelKind kind) {
  return kind == ModelKind::kTflite ? "litert" : kind == ModelKind::kOnnx ? "onnxruntime" : "executorch";
}

const char* RuntimeVersion(ModelKind kind) {
  return kind == ModelKind::kTflite ? LiteRtVersion()
         : kind == ModelKind::kOnnx ? OnnxRuntimeVersion()
                                    : ExecuTorchVersion();
}

}  // namespace

Status SniffModelFile(const std::string& path, ModelKind* kind) {
  *kind = ModelKind::kUnknown;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status(MSDK_ERR_IO, path + ": cannot open (" + std::strerror(errno) + ")");
  unsigned char head[64] = {0};
  const size_t got = std::fread(head, 1, sizeof head, f);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return Status(MSDK_ERR_IO, path + ": cannot read (" + std::strerror(err) + ")");
  if (got < 8) return Status::Ok();
  auto digit = [](unsigned char c) { return c >= '0' && c <= '9'; };
  if (std::memcmp(head + 4, "TFL3", 4) == 0) {
    *kind = ModelKind::kTflite;
  } else if (head[4] == 'E' && head[5] == 'T' && digit(head[6]) && digit(head[7])) {
    *kind = ModelKind::kExecuTorch;
  } else if (LooksLikeOnnxModel(head, got)) {
    *kind = ModelKind::kOnnx;
  }
  return Status::Ok();
}

int32_t LiveEstimators() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  return g_live;
}

Status Estimator::Create(const EstimatorOptions& options, std::unique_ptr<Estimator>* out) {
  if (options.num_threads < 0 || options.num_threads > 256) {
    return InvalidArgument("num_threads " + std::to_string(options.num_threads) + ": must be 0 (default) to 256");
  }
  const std::string& path = options.model_path;
  ModelKind kind = ModelKind::kUnknown;
  MSDK_RETURN_IF_ERROR(SniffModelFile(path, &kind));
  std::unique_ptr<Engine> engine;
  MSDK_RETURN_IF_ERROR(OpenEngine(path, kind, options.num_threads, &engine));
  const char* runtime = RuntimeName(kind);
  std::string text;
  if (options.manifest_json != nullptr) {
    text.assign(options.manifest_json, options.manifest_size);
  } else {
    bool found = false;
    MSDK_RETURN_IF_ERROR(engine->EmbeddedManifest(&text, &found));
    if (!found) {
      return InvalidManifest(path +
                             ": no embedded mobilesdk_manifest (was it built by mobilesdk?); pass a manifest.json");
    }
  }
  std::unique_ptr<Estimator> e(new Estimator());
  Status st = Processor::Create(text.data(), text.size(), options.recipe, Basename(path), &e->processor_);
  if (!st.ok()) return Status(st.code(), path + ": " + st.message());
  const ArtifactSpec& a = e->processor_->artifact();
  if (a.runtime != runtime) {
    return InvalidManifest(path + ": artifact '" + a.recipe + "' is for runtime '" + a.runtime + "', not " + runtime);
  }
  e->runtime_ = runtime;
  e->runtime_version_ = RuntimeVersion(kind);
  e->shares_pool_ = kind == ModelKind::kExecuTorch;
  std::vector<EngineTensor> ins, outs;
  MSDK_RETURN_IF_ERROR(engine->Describe(&ins, &outs));
  st = CheckProgram(*e->processor_, ins, outs);
  if (!st.ok()) return Status(st.code(), path + ": " + st.message());
  {
    std::lock_guard<std::mutex> lock(g_pool_mu);
    st = engine->Prepare(options.num_threads, /*may_resize=*/g_pool_users == 0);
    if (!st.ok()) return Status(st.code(), path + ": " + st.message());
    ++g_live;
    if (e->shares_pool_) ++g_pool_users;
    e->engine_ = std::move(engine);
  }
  e->input_.resize(e->processor_->input().bytes());
  // The decode runs between inferences, when the engine's threads idle: as many threads (0: up to 4 of the
  // CPUs). One thread keeps the whole estimate on the calling thread (what instruction counting needs).
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  e->processor_->set_decode_threads(options.num_threads > 0 ? options.num_threads
                                                            : static_cast<int32_t>(std::min(4u, cpus)));
  *out = std::move(e);
  return Status::Ok();
}

Estimator::~Estimator() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (engine_ == nullptr) return;  // Create failed before counting this estimator
  engine_.reset();                 // the program (and its delegates' pool pointers) goes before the count drops
  --g_live;
  if (shares_pool_) --g_pool_users;
}

Status Estimator::CheckInput(const void* input, size_t input_size) const {
  if (input == nullptr) return InvalidArgument("input is null");
  if (input_size != input_.size()) {
    return InvalidArgument("input has " + std::to_string(input_size) + " bytes, the model input needs " +
                           std::to_string(input_.size()));
  }
  return Status::Ok();
}

Status Estimator::Forward(const void* input, size_t bytes) {
  MSDK_RETURN_IF_ERROR(engine_->Run(input, bytes, &outs_, &counts_));
  const auto& want = processor_->outputs();
  if (outs_.size() != want.size()) {
    return Status(MSDK_ERR_INFERENCE, "forward returned " + std::to_string(outs_.size()) + " outputs, expected " +
                                          std::to_string(want.size()));
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (counts_[i] != want[i].count()) {
      return Status(MSDK_ERR_INFERENCE, "forward output '" + want[i].name + "' has " + std::to_string(counts_[i]) +
                                            " values, expected " + std::to_string(want[i].count()));
    }
  }
  return Status::Ok();
}

void Estimator::Mark(int32_t event) const {
  if (mark_tag_ < 0) return;
#if defined(__linux__) && defined(SYS_getpid)
  // getpid ignores its arguments: harmless anywhere (Android's seccomp allows it); an emulator's syscall hook sees
  // them (mobilesdk/emulate/insn_plugin.c).
  ::syscall(SYS_getpid, static_cast<long>(kInstructionMarkMagic), (static_cast<long>(mark_tag_) << 8) | event);
#else
  (void)event;
#endif
}

Status Estimator::Estimate(const FrameView& frame, const Rect* roi, Pose* pose, Timings* timings) {
  Mark(kMarkPreprocessBegin);
  const int64_t t0 = NowUs();
  Affine a;
  MSDK_RETURN_IF_ERROR(processor_->Preprocess(frame, roi, input_.data(), input_.size(), &a));
  const int64_t pre_us = NowUs() - t0;
  Mark(kMarkPreprocessEnd);
  MSDK_RETURN_IF_ERROR(EstimateInput(input_.data(), input_.size(), a, pose, timings));
  if (timings != nullptr) {
    timings->preprocess_us = pre_us;
    timings->total_us += pre_us;
  }
  return Status::Ok();
}

Status Estimator::EstimateInput(const void* input, size_t input_size, const Affine& affine, Pose* pose,
                                Timings* timings) {
  MSDK_RETURN_IF_ERROR(CheckInput(input, input_size));
  Mark(kMarkInferenceBegin);
  const int64_t t0 = NowUs();
  MSDK_RETURN_IF_ERROR(Forward(input, input_size));
  const int64_t t1 = NowUs();
  Mark(kMarkInferenceEnd);
  Mark(kMarkDecodeBegin);
  MSDK_RETURN_IF_ERROR(
      processor_->Decode(outs_.data(), counts_.data(), static_cast<int32_t>(outs_.size()), affine, pose));
  const int64_t t2 = NowUs();
  Mark(kMarkDecodeEnd);
  if (timings != nullptr) *timings = Timings{0, t1 - t0, t2 - t1, t2 - t0};
  return Status::Ok();
}

Status Estimator::Run(const void* input, size_t input_size, float* const* outputs, const size_t* counts,
                      int32_t num_outputs, int64_t* inference_us) {
  MSDK_RETURN_IF_ERROR(CheckInput(input, input_size));
  const auto& want = processor_->outputs();
  if (outputs == nullptr || counts == nullptr) return InvalidArgument("outputs or output_counts is null");
  if (num_outputs != static_cast<int32_t>(want.size())) {
    return InvalidArgument("the model has " + std::to_string(want.size()) + " output(s), got " +
                           std::to_string(num_outputs));
  }
  for (int32_t i = 0; i < num_outputs; ++i) {
    if (outputs[i] == nullptr) return InvalidArgument("output " + std::to_string(i) + " is null");
    if (counts[i] != want[i].count()) {
      return InvalidArgument("output " + std::to_string(i) + " ('" + want[i].name + "') has room for " +
                             std::to_string(counts[i]) + " floats, expected " + std::to_string(want[i].count()));
    }
  }
  const int64_t t0 = NowUs();
  MSDK_RETURN_IF_ERROR(Forward(input, input_size));
  const int64_t t1 = NowUs();
  for (int32_t i = 0; i < num_outputs; ++i) std::memcpy(outputs[i], outs_[i], counts[i] * sizeof(float));
  if (inference_us != nullptr) *inference_us = t1 - t0;
  return Status::Ok();
}

}  // namespace msdk
