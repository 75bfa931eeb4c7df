// The ONNX Runtime engine, on ORT's C API (libonnxruntime.so; our declarations of its ABI are in
// onnxruntime_c_api.h): the file read into memory and handed to CreateSessionFromArray on the CPU execution
// provider, with the options the host bench gives ONNX Runtime (mobilesdk/bench/candidates.py): the thread count
// asked for (1 by default), sequential execution, every graph optimisation, no spinning of idle pool threads.
// The manifest comes from the model's metadata_props (key "mobilesdk_manifest"). Inputs are wrapped, outputs
// written by ORT straight into buffers made once (preallocated output values, reused by every Run).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine.h"
#include "file_read.h"
#include "onnxruntime_c_api.h"

namespace msdk {
namespace {

namespace ort = ::msdk::ort;
using ort::Get;

constexpr const char* kManifestMetadata = "mobilesdk_manifest";  // mobilesdk.export.EMBED_KEY

// The library's OrtApi at kOrtApiVersion, checked once per process.
struct Loaded {
  const OrtApi* api = nullptr;
  std::string version;
  std::string error;  // non-empty: the library cannot serve this engine
};

const Loaded& Library() {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    const OrtApiBase* base = OrtGetApiBase();
    if (base == nullptr || base->GetApi == nullptr || base->GetVersionString == nullptr) {
      loaded.error = "libonnxruntime returned no OrtApiBase";
      return;
    }
    const char* v = base->GetVersionString();
    loaded.version = v != nullptr ? v : "";
    unsigned major = 0, minor = 0;
    const bool parsed = std::sscanf(loaded.version.c_str(), "%u.%u", &major, &minor) == 2;
    loaded.api = base->GetApi(ort::kOrtApiVersion);
    if (loaded.api == nullptr || !parsed || major != 1 || minor < ort::kOrtApiVersion) {
      loaded.api = nullptr;
      loaded.error = "libonnxruntime " + (loaded.version.empty() ? std::string("(no version)") : loaded.version) +
                     " does not serve ORT_API_VERSION " + std::to_string(ort::kOrtApiVersion) +
                     " (this engine needs ONNX Runtime 1." + std::to_string(ort::kOrtApiVersion) + " or newer, 1.x)";
    }
  });
  return loaded;
}

// ORT's message on one line, and the status released.
std::string Message(const OrtApi* api, OrtStatus* s) {
  std::string m = Get<ort::kGetErrorMessage>(api)(s);
  Get<ort::kReleaseStatus>(api)(s);
  for (char& c : m) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!m.empty() && m.back() == ' ') m.pop_back();
  if (m.size() > 400) m = m.substr(0, 400) + "...";
  return m;
}

std::string DTypeName(ONNXTensorElementDataType t) {
  switch (t) {
    case kOnnxFloat: return "float32";
    case kOnnxUInt8: return "uint8";
    case kOnnxInt8: return "int8";
    case kOnnxInt32: return "int32";
    case kOnnxInt64: return "int64";
    case kOnnxFloat16: return "float16";
    case kOnnxDouble: return "float64";
    case kOnnxBool: return "bool";
    default: return "onnx element type " + std::to_string(static_cast<int>(t));
  }
}

size_t ElementSize(ONNXTensorElementDataType t) {
  switch (t) {
    case kOnnxFloat: return 4;
    case kOnnxUInt8: return 1;
    default: return 0;  // the engine feeds float32 or uint8 and reads float32
  }
}

Status ReadFile(const std::string& path, std::vector<uint8_t>* out) {
  // protobuf's limit: ONNX files past 2 GiB keep their weights in external data files, which this engine
  // (loading from memory) does not follow.
  return ReadWholeFile(path, (uint64_t{1} << 31) - 1, "at most 2 GiB", [out](size_t n) {
    out->resize(n);
    return out->data();
  });
}

// A graph input or output as the session reports it.
struct Port {
  std::string name;
  ONNXTensorElementDataType type = kOnnxUndefined;
  std::vector<int64_t> shape;
  bool tensor = false;
};

class OnnxRuntimeEngine final : public Engine {
 public:
  explicit OnnxRuntimeEngine(const OrtApi* api) : api_(api) {}

  ~OnnxRuntimeEngine() override {
    for (OrtValue* v : out_values_) Get<ort::kReleaseValue>(api_)(v);
    if (memory_ != nullptr) Get<ort::kReleaseMemoryInfo>(api_)(memory_);
    if (session_ != nullptr) Get<ort::kReleaseSession>(api_)(session_);
    if (env_ != nullptr) Get<ort::kReleaseEnv>(api_)(env_);
  }

  Status Open(const std::string& path, int32_t num_threads) {
    std::vector<uint8_t> bytes;
    MSDK_RETURN_IF_ERROR(ReadFile(path, &bytes));
    threads_ = num_threads > 0 ? num_threads : 1;
    // Errors come back as OrtStatus messages; ORT's own log (stderr) stays quiet below FATAL.
    MSDK_RETURN_IF_ERROR(
        Call("CreateEnv", MSDK_ERR_INTERNAL, Get<ort::kCreateEnv>(api_)(kOrtLoggingFatal, "mobilesdk", &env_)));
    OrtSessionOptions* options = nullptr;
    MSDK_RETURN_IF_ERROR(
        Call("CreateSessionOptions", MSDK_ERR_INTERNAL, Get<ort::kCreateSessionOptions>(api_)(&options)));
    Status st = Configure(options);
    if (st.ok()) {
      // ORT copies what it keeps of the bytes: they need not outlive the call.
      st = Call("CreateSessionFromArray", MSDK_ERR_INVALID_MODEL,
                Get<ort::kCreateSessionFromArray>(api_)(env_, bytes.data(), bytes.size(), options, &session_));
    }
    Get<ort::kReleaseSessionOptions>(api_)(options);
    MSDK_RETURN_IF_ERROR(st);
    return ReadPorts();
  }

  Status Describe(std::vector<EngineTensor>* inputs, std::vector<EngineTensor>* outputs) override {
    auto describe = [](const Port& p) {
      EngineTensor e;
      e.shape = p.shape;
      e.dtype = p.tensor ? DTypeName(p.type) : "not a tensor";
      return e;
    };
    inputs->clear();
    outputs->clear();
    for (const Port& p : inputs_) inputs->push_back(describe(p));
    for (const Port& p : outputs_) outputs->push_back(describe(p));
    return Status::Ok();
  }

  Status EmbeddedManifest(std::string* json, bool* found) override {
    *found = false;
    OrtModelMetadata* meta = nullptr;
    MSDK_RETURN_IF_ERROR(Call("SessionGetModelMetadata", MSDK_ERR_INVALID_MODEL,
                              Get<ort::kSessionGetModelMetadata>(api_)(session_, &meta)));
    char* value = nullptr;
    Status st =
        Call("ModelMetadataLookupCustomMetadataMap", MSDK_ERR_INVALID_MODEL,
             Get<ort::kModelMetadataLookupCustomMetadataMap>(api_)(meta, allocator_, kManifestMetadata, &value));
    Get<ort::kReleaseModelMetadata>(api_)(meta);
    MSDK_RETURN_IF_ERROR(st);
    if (value != nullptr) {
      json->assign(value);
      *found = true;
      Free(value);
    }
    return Status::Ok();
  }

  Status Prepare(int32_t /*num_threads: set at Open*/, bool /*may_resize: each session has its own pool*/) override {
    if (inputs_.size() != 1) {
      return Status(MSDK_ERR_MISMATCH, "the model takes " + std::to_string(inputs_.size()) + " inputs, not one");
    }
    MSDK_RETURN_IF_ERROR(Call("CreateCpuMemoryInfo", MSDK_ERR_INTERNAL,
                              Get<ort::kCreateCpuMemoryInfo>(api_)(kOrtDeviceAllocator, kOrtMemTypeDefault, &memory_)));
    in_bytes_ = Bytes(inputs_[0]);
    if (in_bytes_ == 0) {
      return Status(MSDK_ERR_INVALID_MODEL, "the model's input '" + inputs_[0].name +
                                                "' has a dynamic or empty shape, or is not float32/uint8");
    }
    out_mem_.resize(outputs_.size());
    out_values_.assign(outputs_.size(), nullptr);
    for (size_t i = 0; i < outputs_.size(); ++i) {
      const Port& o = outputs_[i];
      const size_t bytes = o.type == kOnnxFloat ? Bytes(o) : 0;
      if (bytes == 0) {
        return Status(MSDK_ERR_INVALID_MODEL,
                      "the model's output '" + o.name + "' is not a float32 tensor of static shape");
      }
      out_mem_[i].assign(bytes / sizeof(float), 0.0f);
      MSDK_RETURN_IF_ERROR(Wrap(out_mem_[i].data(), bytes, o, &out_values_[i]));
    }
    for (const Port& p : inputs_) in_names_.push_back(p.name.c_str());
    for (const Port& p : outputs_) out_names_.push_back(p.name.c_str());
    // One run on zeros: ORT allocates its execution plan's buffers and packs weights on the first run, so that
    // cost is part of loading, and a model it cannot run fails here as a load error.
    std::vector<uint8_t> zeros(in_bytes_, 0);
    const Status st = RunOnce(zeros.data());
    if (!st.ok()) return Status(MSDK_ERR_INVALID_MODEL, "the model does not run on ONNX Runtime: " + st.message());
    return Status::Ok();
  }

  Status Run(const void* input, size_t bytes, std::vector<const float*>* outputs,
             std::vector<size_t>* counts) override {
    if (out_values_.empty()) return Status(MSDK_ERR_INVALID_STATE, "the ONNX Runtime engine is not prepared");
    if (bytes != in_bytes_) {
      return InvalidArgument("input has " + std::to_string(bytes) + " bytes, the model takes " +
                             std::to_string(in_bytes_));
    }
    const Status st = RunOnce(input);
    if (!st.ok()) return Status(MSDK_ERR_INFERENCE, st.message());
    outputs->clear();
    counts->clear();
    for (const auto& m : out_mem_) {
      outputs->push_back(m.data());
      counts->push_back(m.size());
    }
    return Status::Ok();
  }

  int32_t NumThreads() const override { return threads_; }

 private:
  Status Call(const char* what, msdk_status code, OrtStatus* s) const {
    if (s == nullptr) return Status::Ok();
    return Status(code, std::string("ONNX Runtime ") + what + ": " + Message(api_, s));
  }

  void Free(void* p) const {
    OrtStatus* s = Get<ort::kAllocatorFree>(api_)(allocator_, p);
    if (s != nullptr) Get<ort::kReleaseStatus>(api_)(s);
  }

  static size_t Bytes(const Port& p) {
    if (!p.tensor) return 0;
    size_t bytes = ElementSize(p.type);
    for (int64_t d : p.shape) {
      if (d <= 0 || d > (int64_t{1} << 31)) return 0;
      bytes *= static_cast<size_t>(d);
      if (bytes > (size_t{1} << 33)) return 0;
    }
    return bytes;
  }

  Status Configure(OrtSessionOptions* o) const {
    MSDK_RETURN_IF_ERROR(
        Call("SetIntraOpNumThreads", MSDK_ERR_INTERNAL, Get<ort::kSetIntraOpNumThreads>(api_)(o, threads_)));
    MSDK_RETURN_IF_ERROR(Call("SetInterOpNumThreads", MSDK_ERR_INTERNAL, Get<ort::kSetInterOpNumThreads>(api_)(o, 1)));
    MSDK_RETURN_IF_ERROR(Call("SetSessionExecutionMode", MSDK_ERR_INTERNAL,
                              Get<ort::kSetSessionExecutionMode>(api_)(o, kOrtSequential)));
    MSDK_RETURN_IF_ERROR(Call("SetSessionGraphOptimizationLevel", MSDK_ERR_INTERNAL,
                              Get<ort::kSetSessionGraphOptimizationLevel>(api_)(o, kOrtEnableAll)));
    // Idle pool threads spin by default, taking cores from whatever runs next (the bench interleaves).
    return Call("AddSessionConfigEntry", MSDK_ERR_INTERNAL,
                Get<ort::kAddSessionConfigEntry>(api_)(o, "session.intra_op.allow_spinning", "0"));
  }

  Status ReadPort(bool input, size_t index, Port* p) {
    char* name = nullptr;
    OrtStatus* s = input ? Get<ort::kSessionGetInputName>(api_)(session_, index, allocator_, &name)
                         : Get<ort::kSessionGetOutputName>(api_)(session_, index, allocator_, &name);
    MSDK_RETURN_IF_ERROR(Call(input ? "SessionGetInputName" : "SessionGetOutputName", MSDK_ERR_INVALID_MODEL, s));
    p->name = name != nullptr ? name : "";
    if (name != nullptr) Free(name);
    OrtTypeInfo* info = nullptr;
    s = input ? Get<ort::kSessionGetInputTypeInfo>(api_)(session_, index, &info)
              : Get<ort::kSessionGetOutputTypeInfo>(api_)(session_, index, &info);
    MSDK_RETURN_IF_ERROR(Call("Session{Input,Output}TypeInfo", MSDK_ERR_INVALID_MODEL, s));
    const OrtTensorTypeAndShapeInfo* tensor = nullptr;  // owned by `info`; null for a non-tensor
    Status st = Call("CastTypeInfoToTensorInfo", MSDK_ERR_INVALID_MODEL,
                     Get<ort::kCastTypeInfoToTensorInfo>(api_)(info, &tensor));
    size_t rank = 0;
    if (st.ok() && tensor != nullptr) {
      st =
          Call("GetTensorElementType", MSDK_ERR_INVALID_MODEL, Get<ort::kGetTensorElementType>(api_)(tensor, &p->type));
      if (st.ok())
        st = Call("GetDimensionsCount", MSDK_ERR_INVALID_MODEL, Get<ort::kGetDimensionsCount>(api_)(tensor, &rank));
      if (st.ok() && rank > 16) st = Status(MSDK_ERR_INVALID_MODEL, "a tensor of rank " + std::to_string(rank));
      if (st.ok()) {
        p->shape.assign(rank, 0);
        st = Call("GetDimensions", MSDK_ERR_INVALID_MODEL,
                  Get<ort::kGetDimensions>(api_)(tensor, p->shape.data(), rank));
      }
      p->tensor = st.ok();
    }
    Get<ort::kReleaseTypeInfo>(api_)(info);
    return st;
  }

  Status ReadPorts() {
    MSDK_RETURN_IF_ERROR(Call("GetAllocatorWithDefaultOptions", MSDK_ERR_INTERNAL,
                              Get<ort::kGetAllocatorWithDefaultOptions>(api_)(&allocator_)));
    size_t n_in = 0, n_out = 0;
    MSDK_RETURN_IF_ERROR(
        Call("SessionGetInputCount", MSDK_ERR_INVALID_MODEL, Get<ort::kSessionGetInputCount>(api_)(session_, &n_in)));
    MSDK_RETURN_IF_ERROR(Call("SessionGetOutputCount", MSDK_ERR_INVALID_MODEL,
                              Get<ort::kSessionGetOutputCount>(api_)(session_, &n_out)));
    if (n_in > 16 || n_out > 16) {
      return Status(MSDK_ERR_INVALID_MODEL, "the model has " + std::to_string(n_in) + " inputs and " +
                                                std::to_string(n_out) + " outputs; a pose model has 1 and 1 to 16");
    }
    inputs_.resize(n_in);
    outputs_.resize(n_out);
    for (size_t i = 0; i < n_in; ++i) MSDK_RETURN_IF_ERROR(ReadPort(true, i, &inputs_[i]));
    for (size_t i = 0; i < n_out; ++i) MSDK_RETURN_IF_ERROR(ReadPort(false, i, &outputs_[i]));
    return Status::Ok();
  }

  Status Wrap(void* data, size_t bytes, const Port& p, OrtValue** out) const {
    return Call("CreateTensorWithDataAsOrtValue", MSDK_ERR_INTERNAL,
                Get<ort::kCreateTensorWithDataAsOrtValue>(api_)(memory_, data, bytes, p.shape.data(), p.shape.size(),
                                                                p.type, out));
  }

  // Runs on `input` (in_bytes_ bytes, only read: ORT does not write inputs) into the preallocated outputs.
  Status RunOnce(const void* input) {
    OrtValue* in = nullptr;
    MSDK_RETURN_IF_ERROR(Wrap(const_cast<void*>(input), in_bytes_, inputs_[0], &in));
    const Status st = Call("Run", MSDK_ERR_INFERENCE,
                           Get<ort::kRun>(api_)(session_, nullptr, in_names_.data(), &in, 1, out_names_.data(),
                                                out_names_.size(), out_values_.data()));
    Get<ort::kReleaseValue>(api_)(in);
    return st;
  }

  const OrtApi* api_;
  OrtEnv* env_ = nullptr;
  OrtSession* session_ = nullptr;
  OrtAllocator* allocator_ = nullptr;  // ORT's default CPU allocator (not owned)
  OrtMemoryInfo* memory_ = nullptr;
  std::vector<Port> inputs_, outputs_;
  std::vector<const char*> in_names_, out_names_;
  size_t in_bytes_ = 0;
  std::vector<std::vector<float>> out_mem_;
  std::vector<OrtValue*> out_values_;  // over out_mem_: ORT writes the results there
  int32_t threads_ = 1;
};

}  // namespace

Status OpenOnnxRuntimeEngine(const std::string& path, int32_t num_threads, std::unique_ptr<Engine>* out) {
  const Loaded& lib = Library();
  if (lib.api == nullptr) return Status(MSDK_ERR_UNSUPPORTED, path + ": " + lib.error);
  auto engine = std::make_unique<OnnxRuntimeEngine>(lib.api);
  Status st = engine->Open(path, num_threads);
  if (!st.ok()) {
    const bool named = st.message().compare(0, path.size(), path) == 0;  // ReadFile's errors name the path
    return named ? st : Status(st.code(), path + ": " + st.message());
  }
  *out = std::move(engine);
  return Status::Ok();
}

const char* OnnxRuntimeVersion() {
  const Loaded& lib = Library();
  return lib.api != nullptr ? lib.version.c_str() : "";
}

}  // namespace msdk
