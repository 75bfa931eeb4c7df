// The LiteRT engine, on LiteRT's C API (libLiteRt.so; the declarations are in litert_c_api.h): the file read
// into memory and verified (tflite_model.h) before LiteRT parses it, the manifest from the model's metadata,
// a compiled model on the CPU accelerator (XNNPACK) with its thread count in the CPU options, host-memory
// tensor buffers made once and reused by every Run.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "engine.h"
#include "file_read.h"
#include "litert_c_api.h"
#include "tflite_model.h"

#ifndef MSDK_LITERT_VERSION
#define MSDK_LITERT_VERSION "unknown"
#endif

namespace msdk {
namespace {

constexpr const char* kManifestMetadata = "mobilesdk_manifest";  // mobilesdk.export.EMBED_KEY
constexpr const char* kSignature = "serving_default";            // litert-torch's one signature

const char* StatusName(LiteRtStatus s) {
  switch (s) {
    case kLiteRtStatusOk: return "kLiteRtStatusOk";
    case kLiteRtStatusErrorInvalidArgument: return "kLiteRtStatusErrorInvalidArgument";
    case kLiteRtStatusErrorMemoryAllocationFailure: return "kLiteRtStatusErrorMemoryAllocationFailure";
    case kLiteRtStatusErrorRuntimeFailure: return "kLiteRtStatusErrorRuntimeFailure";
    case kLiteRtStatusErrorMissingInputTensor: return "kLiteRtStatusErrorMissingInputTensor";
    case kLiteRtStatusErrorUnsupported: return "kLiteRtStatusErrorUnsupported";
    case kLiteRtStatusErrorNotFound: return "kLiteRtStatusErrorNotFound";
    case kLiteRtStatusErrorFileIO: return "kLiteRtStatusErrorFileIO";
    case kLiteRtStatusErrorInvalidFlatbuffer: return "kLiteRtStatusErrorInvalidFlatbuffer";
    case kLiteRtStatusErrorDynamicLoading: return "kLiteRtStatusErrorDynamicLoading";
    case kLiteRtStatusErrorCompilation: return "kLiteRtStatusErrorCompilation";
    case kLiteRtStatusErrorIndexOOB: return "kLiteRtStatusErrorIndexOOB";
    case kLiteRtStatusErrorWrongVersion: return "kLiteRtStatusErrorWrongVersion";
    default: return "LiteRtStatus";
  }
}

std::string Failed(const char* call, LiteRtStatus s) {
  return std::string(call) + " failed: " + StatusName(s) + " (" + std::to_string(static_cast<int>(s)) + ")";
}

std::string DTypeName(LiteRtElementType t) {
  switch (t) {
    case kLiteRtElementTypeFloat32: return "float32";
    case kLiteRtElementTypeUInt8: return "uint8";
    case kLiteRtElementTypeInt8: return "int8";
    case kLiteRtElementTypeInt32: return "int32";
    case kLiteRtElementTypeInt64: return "int64";
    case kLiteRtElementTypeFloat16: return "float16";
    case kLiteRtElementTypeBool: return "bool";
    default: return "litert element type " + std::to_string(static_cast<int>(t));
  }
}

size_t ElementSize(LiteRtElementType t) {
  switch (t) {
    case kLiteRtElementTypeFloat32:
    case kLiteRtElementTypeInt32: return 4;
    case kLiteRtElementTypeUInt8:
    case kLiteRtElementTypeInt8:
    case kLiteRtElementTypeBool: return 1;
    case kLiteRtElementTypeInt64: return 8;
    case kLiteRtElementTypeFloat16: return 2;
    default: return 0;
  }
}

// Bytes of a static-shape tensor (0: a dynamic dimension or an unsupported type).
size_t TensorBytes(const LiteRtRankedTensorType& t) {
  size_t bytes = ElementSize(t.element_type);
  for (unsigned d = 0; d < t.layout.rank; ++d) {
    if (t.layout.dimensions[d] < 0) return 0;
    bytes *= static_cast<size_t>(t.layout.dimensions[d]);  // shapes verified to <= 2^31 elements
  }
  return bytes;
}

// Memory aligned as LiteRT's host tensor buffers require (LITERT_HOST_MEMORY_BUFFER_ALIGNMENT).
struct AlignedBytes {
  void* data = nullptr;
  size_t size = 0;
  AlignedBytes() = default;
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  AlignedBytes(AlignedBytes&& o) noexcept : data(o.data), size(o.size) { o.data = nullptr; }
  ~AlignedBytes() { std::free(data); }
  bool Allocate(size_t n) {
    const size_t a = LITERT_HOST_MEMORY_BUFFER_ALIGNMENT;
    data = std::aligned_alloc(a, std::max<size_t>(a, (n + a - 1) / a * a));
    size = n;
    if (data != nullptr) std::memset(data, 0, n);
    return data != nullptr;
  }
  uint8_t* bytes() const { return static_cast<uint8_t*>(data); }
};

// The file's bytes (the model references them for its lifetime).
Status ReadFile(const std::string& path, AlignedBytes* out) {
  return ReadWholeFile(path, uint64_t{1} << 32, "at most 4 GiB",
                       [out](size_t n) { return out->Allocate(n) ? out->bytes() : nullptr; });
}

// Sort key of a signature output name: its trailing decimal index (output_10 after output_2), then the name.
std::pair<long long, std::string> IndexKey(const std::string& name) {
  size_t i = name.size();
  while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9') --i;
  const std::string digits = name.substr(i);
  if (digits.empty() || digits.size() > 9) return {LLONG_MAX, name};
  return {std::stoll(digits), name};
}

// "0 = the runtime's default": the online CPUs, as ExecuTorch sizes its pool (LiteRT's own default is 1).
int32_t DefaultThreads() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (n > 0) return static_cast<int32_t>(std::min<long>(n, 256));
  const unsigned h = std::thread::hardware_concurrency();
  return h > 0 ? static_cast<int32_t>(h) : 1;
}

class LiteRtEngine final : public Engine {
 public:
  ~LiteRtEngine() override {
    for (LiteRtTensorBuffer b : out_bufs_) LiteRtDestroyTensorBuffer(b);
    if (in_buf_ != nullptr) LiteRtDestroyTensorBuffer(in_buf_);
    if (compiled_ != nullptr) LiteRtDestroyCompiledModel(compiled_);
    if (model_ != nullptr) LiteRtDestroyModel(model_);
    if (env_ != nullptr) LiteRtDestroyEnvironment(env_);
  }

  Status Open(const std::string& path) {
    MSDK_RETURN_IF_ERROR(ReadFile(path, &file_));
    MSDK_RETURN_IF_ERROR(VerifyTfliteModel(file_.bytes(), file_.size));
    LiteRtStatus s = LiteRtCreateEnvironment(0, nullptr, &env_);
    if (s != kLiteRtStatusOk) return Status(MSDK_ERR_INTERNAL, Failed("LiteRtCreateEnvironment", s));
    s = LiteRtCreateModelFromBuffer(env_, file_.data, file_.size, &model_);
    if (s != kLiteRtStatusOk) return Status(MSDK_ERR_INVALID_MODEL, Failed("LiteRtCreateModelFromBuffer", s));
    return FindSignature();
  }

  Status Describe(std::vector<EngineTensor>* inputs, std::vector<EngineTensor>* outputs) override {
    auto describe = [](const LiteRtRankedTensorType& t) {
      EngineTensor e;
      e.shape.assign(t.layout.dimensions, t.layout.dimensions + t.layout.rank);
      e.dtype = DTypeName(t.element_type);
      return e;
    };
    inputs->clear();
    outputs->clear();
    for (const auto& t : in_types_) inputs->push_back(describe(t));
    for (size_t i : out_order_) outputs->push_back(describe(out_types_[i]));
    return Status::Ok();
  }

  Status EmbeddedManifest(std::string* json, bool* found) override {
    *found = false;
    const void* data = nullptr;
    size_t size = 0;
    const LiteRtStatus s = LiteRtGetModelMetadata(model_, kManifestMetadata, &data, &size);
    if (s == kLiteRtStatusErrorNotFound) return Status::Ok();
    if (s != kLiteRtStatusOk || (data == nullptr && size > 0)) {
      return Status(MSDK_ERR_INVALID_MODEL, Failed("LiteRtGetModelMetadata", s));
    }
    json->assign(static_cast<const char*>(data), size);
    *found = true;
    return Status::Ok();
  }

  Status Prepare(int32_t num_threads, bool /*may_resize: every compiled model has its own XNNPACK pool*/) override {
    threads_ = num_threads > 0 ? num_threads : DefaultThreads();
    LiteRtOptions options = nullptr;
    LiteRtStatus s = LiteRtCreateOptions(&options);
    if (s != kLiteRtStatusOk) return Status(MSDK_ERR_INTERNAL, Failed("LiteRtCreateOptions", s));
    Status st = Compile(options);
    LiteRtDestroyOptions(options);  // the compiled model keeps what it needs
    MSDK_RETURN_IF_ERROR(st);
    MSDK_RETURN_IF_ERROR(MakeBuffers());
    // One run on zeros: LiteRT resolves ops and allocates tensors lazily, so a model it cannot run (an unknown
    // custom op) fails here as a load error instead of at the first frame, and XNNPACK packs the weights now.
    s = LiteRtRunCompiledModel(compiled_, signature_index_, 1, &in_buf_, out_bufs_.size(), out_bufs_.data());
    if (s != kLiteRtStatusOk) {
      return Status(MSDK_ERR_INVALID_MODEL,
                    "the model does not run on LiteRT's CPU accelerator: " + Failed("LiteRtRunCompiledModel", s) +
                        " (an operator LiteRT lacks? its log says which)");
    }
    return Status::Ok();
  }

  Status Run(const void* input, size_t bytes, std::vector<const float*>* outputs,
             std::vector<size_t>* counts) override {
    if (compiled_ == nullptr) return Status(MSDK_ERR_INVALID_STATE, "the LiteRT engine is not prepared");
    if (bytes != in_mem_.size) {
      return InvalidArgument("input has " + std::to_string(bytes) + " bytes, the model takes " +
                             std::to_string(in_mem_.size));
    }
    std::memcpy(in_mem_.data, input, bytes);
    const LiteRtStatus s =
        LiteRtRunCompiledModel(compiled_, signature_index_, 1, &in_buf_, out_bufs_.size(), out_bufs_.data());
    if (s != kLiteRtStatusOk) return Status(MSDK_ERR_INFERENCE, Failed("LiteRtRunCompiledModel", s));
    outputs->clear();
    counts->clear();
    for (size_t i : out_order_) {
      // Host buffers hold the results once locked (a no-op sync on the CPU); copied if LiteRT mapped elsewhere.
      void* host = nullptr;
      const LiteRtStatus ls = LiteRtLockTensorBuffer(out_bufs_[i], &host, kLiteRtTensorBufferLockModeRead);
      if (ls != kLiteRtStatusOk || host == nullptr) {
        return Status(MSDK_ERR_INFERENCE, Failed("LiteRtLockTensorBuffer", ls));
      }
      if (host != out_mem_[i].data) std::memcpy(out_mem_[i].data, host, out_mem_[i].size);
      LiteRtUnlockTensorBuffer(out_bufs_[i]);
      outputs->push_back(static_cast<const float*>(out_mem_[i].data));
      counts->push_back(out_mem_[i].size / sizeof(float));
    }
    return Status::Ok();
  }

  int32_t NumThreads() const override { return threads_; }

 private:
  Status FindSignature() {
    LiteRtParamIndex n = 0;
    LiteRtStatus s = LiteRtGetNumModelSignatures(model_, &n);
    if (s != kLiteRtStatusOk) return Status(MSDK_ERR_INVALID_MODEL, Failed("LiteRtGetNumModelSignatures", s));
    if (n == 0) return Status(MSDK_ERR_INVALID_MODEL, "the model has no signature");
    LiteRtSignature chosen = nullptr;
    for (LiteRtParamIndex i = 0; i < n && chosen == nullptr; ++i) {
      LiteRtSignature sig = nullptr;
      const char* key = nullptr;
      if (LiteRtGetModelSignature(model_, i, &sig) == kLiteRtStatusOk &&
          LiteRtGetSignatureKey(sig, &key) == kLiteRtStatusOk && key != nullptr && std::strcmp(key, kSignature) == 0) {
        chosen = sig;
        signature_index_ = i;
      }
    }
    if (chosen == nullptr && n == 1) {
      s = LiteRtGetModelSignature(model_, 0, &chosen);
      if (s != kLiteRtStatusOk) return Status(MSDK_ERR_INVALID_MODEL, Failed("LiteRtGetModelSignature", s));
      signature_index_ = 0;
    }
    if (chosen == nullptr) {
      return Status(MSDK_ERR_INVALID_MODEL,
                    "the model has " + std::to_string(n) + " signatures and none is '" + kSignature + "'");
    }
    LiteRtParamIndex num_in = 0, num_out = 0;
    if (LiteRtGetNumSignatureInputs(chosen, &num_in) != kLiteRtStatusOk ||
        LiteRtGetNumSignatureOutputs(chosen, &num_out) != kLiteRtStatusOk) {
      return Status(MSDK_ERR_INVALID_MODEL, "cannot read the signature's inputs and outputs");
    }
    auto type_of = [](LiteRtTensor t, LiteRtRankedTensorType* out) {
      LiteRtTensorTypeId id = kLiteRtUnrankedTensorType;
      return t != nullptr && LiteRtGetTensorTypeId(t, &id) == kLiteRtStatusOk && id == kLiteRtRankedTensorType &&
             LiteRtGetRankedTensorType(t, out) == kLiteRtStatusOk && out->layout.rank <= LITERT_TENSOR_MAX_RANK;
    };
    in_types_.resize(num_in);
    for (LiteRtParamIndex i = 0; i < num_in; ++i) {
      LiteRtTensor t = nullptr;
      if (LiteRtGetSignatureInputTensorByIndex(chosen, i, &t) != kLiteRtStatusOk || !type_of(t, &in_types_[i])) {
        return Status(MSDK_ERR_INVALID_MODEL, "signature input " + std::to_string(i) + " has no static rank");
      }
    }
    out_types_.resize(num_out);
    std::vector<std::pair<std::pair<long long, std::string>, size_t>> keyed;
    for (LiteRtParamIndex i = 0; i < num_out; ++i) {
      LiteRtTensor t = nullptr;
      const char* name = nullptr;
      if (LiteRtGetSignatureOutputTensorByIndex(chosen, i, &t) != kLiteRtStatusOk || !type_of(t, &out_types_[i]) ||
          LiteRtGetSignatureOutputName(chosen, i, &name) != kLiteRtStatusOk || name == nullptr) {
        return Status(MSDK_ERR_INVALID_MODEL, "signature output " + std::to_string(i) + " has no static rank");
      }
      keyed.push_back({IndexKey(name), i});
    }
    std::sort(keyed.begin(), keyed.end());
    for (const auto& k : keyed) out_order_.push_back(k.second);
    return Status::Ok();
  }

  Status Compile(LiteRtOptions options) {
    LiteRtStatus s = LiteRtSetOptionsHardwareAccelerators(options, kLiteRtHwAcceleratorCpu);
    if (s != kLiteRtStatusOk) return Status(MSDK_ERR_INTERNAL, Failed("LiteRtSetOptionsHardwareAccelerators", s));
    // The CPU accelerator's options, serialised as LrtGetOpaqueCpuOptionsData does (TOML under "xnnpack").
    const std::string toml = "num_threads = " + std::to_string(threads_) + "\n";
    char* payload = strdup(toml.c_str());
    if (payload == nullptr) return Status(MSDK_ERR_INTERNAL, "out of memory");
    LiteRtOpaqueOptions cpu = nullptr;
    s = LiteRtCreateOpaqueOptions(MSDK_LITERT_CPU_OPTIONS_IDENTIFIER, payload, std::free, &cpu);
    if (s != kLiteRtStatusOk) {
      std::free(payload);
      return Status(MSDK_ERR_INTERNAL, Failed("LiteRtCreateOpaqueOptions", s));
    }
    s = LiteRtAddOpaqueOptions(options, cpu);  // `options` owns `cpu` from here on
    if (s != kLiteRtStatusOk) {
      LiteRtDestroyOpaqueOptions(cpu);
      return Status(MSDK_ERR_INTERNAL, Failed("LiteRtAddOpaqueOptions", s));
    }
    s = LiteRtCreateCompiledModel(env_, model_, options, &compiled_);
    if (s != kLiteRtStatusOk) {
      compiled_ = nullptr;
      return Status(MSDK_ERR_INVALID_MODEL, Failed("LiteRtCreateCompiledModel", s));
    }
    return Status::Ok();
  }

  Status MakeBuffers() {
    auto make = [](const LiteRtRankedTensorType& type, const char* what, AlignedBytes* mem, LiteRtTensorBuffer* buf) {
      const size_t bytes = TensorBytes(type);
      if (bytes == 0) {
        return Status(MSDK_ERR_INVALID_MODEL, std::string("the model's ") + what +
                                                  " has a dynamic or empty shape, or type " +
                                                  DTypeName(type.element_type));
      }
      if (!mem->Allocate(bytes)) return Status(MSDK_ERR_INTERNAL, "out of memory");
      const LiteRtStatus s = LiteRtCreateTensorBufferFromHostMemory(&type, mem->data, bytes, nullptr, buf);
      if (s != kLiteRtStatusOk) {
        *buf = nullptr;
        return Status(MSDK_ERR_INTERNAL, Failed("LiteRtCreateTensorBufferFromHostMemory", s));
      }
      return Status::Ok();
    };
    if (in_types_.size() != 1)
      return Status(MSDK_ERR_MISMATCH, "the model takes " + std::to_string(in_types_.size()) + " inputs");
    MSDK_RETURN_IF_ERROR(make(in_types_[0], "input", &in_mem_, &in_buf_));
    out_mem_.resize(out_types_.size());
    out_bufs_.assign(out_types_.size(), nullptr);
    for (size_t i = 0; i < out_types_.size(); ++i) {
      if (out_types_[i].element_type != kLiteRtElementTypeFloat32) {
        return Status(MSDK_ERR_MISMATCH, "signature output " + std::to_string(i) + " is " +
                                             DTypeName(out_types_[i].element_type) + ", not float32");
      }
      MSDK_RETURN_IF_ERROR(make(out_types_[i], "output", &out_mem_[i], &out_bufs_[i]));
    }
    return Status::Ok();
  }

  AlignedBytes file_;  // LiteRtCreateModelFromBuffer's bytes: outlive the model
  LiteRtEnvironment env_ = nullptr;
  LiteRtModel model_ = nullptr;
  LiteRtParamIndex signature_index_ = 0;
  std::vector<LiteRtRankedTensorType> in_types_, out_types_;  // signature order
  std::vector<size_t> out_order_;                             // output i (sorted by name index) -> signature index
  LiteRtCompiledModel compiled_ = nullptr;
  AlignedBytes in_mem_;
  std::vector<AlignedBytes> out_mem_;  // signature order
  LiteRtTensorBuffer in_buf_ = nullptr;
  std::vector<LiteRtTensorBuffer> out_bufs_;
  int32_t threads_ = 0;
};

}  // namespace

Status OpenLiteRtEngine(const std::string& path, std::unique_ptr<Engine>* out) {
  auto engine = std::make_unique<LiteRtEngine>();
  Status st = engine->Open(path);
  if (!st.ok()) {
    const bool named = st.message().compare(0, path.size(), path) == 0;  // ReadFile's errors name the path
    return named ? st : Status(st.code(), path + ": " + st.message());
  }
  *out = std::move(engine);
  return Status::Ok();
}

const char* LiteRtVersion() { return MSDK_LITERT_VERSION; }

}  // namespace msdk
