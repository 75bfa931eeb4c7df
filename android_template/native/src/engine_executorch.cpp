// The ExecuTorch engine, on the C++ Module API: mmap load, verified program, forward loaded once after the
// thread pool is sized, inputs wrapped without a copy (the method copies them into its planned buffer).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include <executorch/extension/module/module.h>
#include <executorch/extension/threadpool/threadpool.h>
#include <executorch/runtime/core/exec_aten/exec_aten.h>
#include <executorch/runtime/platform/runtime.h>

#include "engine.h"

#ifndef MSDK_EXECUTORCH_VERSION
#define MSDK_EXECUTORCH_VERSION "unknown"
#endif

namespace msdk {
namespace {

namespace et = ::executorch::runtime;
using ::executorch::aten::ScalarType;
using ::executorch::aten::TensorImpl;
using ::executorch::extension::Module;

constexpr const char* kManifestMethod = "mobilesdk_manifest";

std::string ErrorText(et::Error e) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s (0x%x)", et::to_string(e), static_cast<unsigned>(e));
  return buf;
}

std::string DTypeName(ScalarType t) {
  switch (t) {
    case ScalarType::Float: return "float32";
    case ScalarType::Byte: return "uint8";
    case ScalarType::Char: return "int8";
    case ScalarType::Int: return "int32";
    case ScalarType::Long: return "int64";
    case ScalarType::Half: return "float16";
    case ScalarType::Bool: return "bool";
    default: return "scalar_type " + std::to_string(static_cast<int>(t));
  }
}

// The CPU pool's size when the process started using it: what "0 = default" restores.
size_t DefaultThreads() {
  static const size_t n = ::executorch::extension::threadpool::get_threadpool()->get_thread_count();
  return n;
}

class ExecuTorchEngine final : public Engine {
 public:
  explicit ExecuTorchEngine(const std::string& path) : module_(path, Module::LoadMode::Mmap) {}

  Status Load() {
    const et::Error e = module_.load(et::Program::Verification::InternalConsistency);
    if (e != et::Error::Ok) {
      return Status(MSDK_ERR_INVALID_MODEL, "not a loadable ExecuTorch program: " + ErrorText(e));
    }
    return Status::Ok();
  }

  Status Describe(std::vector<EngineTensor>* inputs, std::vector<EngineTensor>* outputs) override {
    auto meta = module_.method_meta("forward");
    if (!meta.ok())
      return Status(MSDK_ERR_INVALID_MODEL, "the program has no forward method: " + ErrorText(meta.error()));
    auto read = [&](bool input, size_t i, EngineTensor* t) -> Status {
      auto tag = input ? meta->input_tag(i) : meta->output_tag(i);
      const char* what = input ? "input" : "output";
      if (!tag.ok() || *tag != et::Tag::Tensor) {
        return Status(MSDK_ERR_MISMATCH, std::string("forward ") + what + " " + std::to_string(i) + " is not a tensor");
      }
      auto info = input ? meta->input_tensor_meta(i) : meta->output_tensor_meta(i);
      if (!info.ok()) return Status(MSDK_ERR_INVALID_MODEL, std::string("cannot read forward ") + what + " metadata");
      t->shape.assign(info->sizes().begin(), info->sizes().end());
      t->dtype = DTypeName(info->scalar_type());
      return Status::Ok();
    };
    inputs->resize(meta->num_inputs());
    outputs->resize(meta->num_outputs());
    for (size_t i = 0; i < inputs->size(); ++i) MSDK_RETURN_IF_ERROR(read(true, i, &(*inputs)[i]));
    for (size_t i = 0; i < outputs->size(); ++i) MSDK_RETURN_IF_ERROR(read(false, i, &(*outputs)[i]));
    return Status::Ok();
  }

  Status EmbeddedManifest(std::string* json, bool* found) override {
    *found = false;
    auto names = module_.method_names();
    if (!names.ok())
      return Status(MSDK_ERR_INVALID_MODEL, "cannot list the program's methods: " + ErrorText(names.error()));
    if (names->count(kManifestMethod) == 0) return Status::Ok();
    auto out = module_.execute(kManifestMethod);
    if (!out.ok() || out->empty() || !(*out)[0].isString()) {
      return Status(MSDK_ERR_INVALID_MODEL,
                    std::string("the program's ") + kManifestMethod + " method does not return a string");
    }
    const std::string_view v = (*out)[0].toString();
    json->assign(v.data(), v.size());
    module_.unload_method(kManifestMethod);
    *found = true;
    return Status::Ok();
  }

  Status Prepare(int32_t num_threads, bool may_resize) override {
    auto* pool = ::executorch::extension::threadpool::get_threadpool();
    if (pool == nullptr) return Status(MSDK_ERR_INTERNAL, "ExecuTorch thread pool unavailable");
    const size_t fallback = DefaultThreads();
    const size_t want = num_threads > 0 ? static_cast<size_t>(num_threads) : fallback;
    if (may_resize && pool->get_thread_count() != want) {
      // Before any method is loaded: XNNPACK keeps the pool pointer from load on, so a later reset would
      // leave it dangling (a use-after-free under valgrind).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      if (!pool->_unsafe_reset_threadpool(static_cast<uint32_t>(want))) {
        return Status(MSDK_ERR_INTERNAL, "could not resize the ExecuTorch thread pool to " + std::to_string(want));
      }
#pragma GCC diagnostic pop
    }
    const et::Error e = module_.load_forward();
    if (e != et::Error::Ok) return Status(MSDK_ERR_INVALID_MODEL, "forward does not load: " + ErrorText(e));
    auto meta = module_.method_meta("forward");
    if (!meta.ok()) return Status(MSDK_ERR_INVALID_MODEL, "forward metadata unavailable");
    auto info = meta->input_tensor_meta(0);
    if (!info.ok()) return Status(MSDK_ERR_INVALID_MODEL, "forward input metadata unavailable");
    sizes_.assign(info->sizes().begin(), info->sizes().end());
    dim_order_.assign(info->dim_order().begin(), info->dim_order().end());
    dtype_ = info->scalar_type();
    input_bytes_ = info->nbytes();
    return Status::Ok();
  }

  Status Run(const void* input, size_t bytes, std::vector<const float*>* outputs,
             std::vector<size_t>* counts) override {
    if (bytes != input_bytes_) {
      return InvalidArgument("input has " + std::to_string(bytes) + " bytes, forward takes " +
                             std::to_string(input_bytes_));
    }
    // Not written to: the method copies a planned input into its own buffer.
    TensorImpl impl(dtype_, static_cast<ssize_t>(sizes_.size()), sizes_.data(), const_cast<void*>(input),
                    dim_order_.data());
    auto result = module_.forward(et::EValue(::executorch::aten::Tensor(&impl)));
    if (!result.ok()) return Status(MSDK_ERR_INFERENCE, "forward failed: " + ErrorText(result.error()));
    outputs_ = std::move(*result);
    outputs->clear();
    counts->clear();
    for (size_t i = 0; i < outputs_.size(); ++i) {
      if (!outputs_[i].isTensor())
        return Status(MSDK_ERR_INFERENCE, "forward output " + std::to_string(i) + " is not a tensor");
      const auto& t = outputs_[i].toTensor();
      if (t.scalar_type() != ScalarType::Float) {
        return Status(MSDK_ERR_INFERENCE, "forward output " + std::to_string(i) + " is " + DTypeName(t.scalar_type()));
      }
      outputs->push_back(t.const_data_ptr<float>());
      counts->push_back(static_cast<size_t>(t.numel()));
    }
    return Status::Ok();
  }

  int32_t NumThreads() const override {
    return static_cast<int32_t>(::executorch::extension::threadpool::get_threadpool()->get_thread_count());
  }

 private:
  Module module_;
  std::vector<TensorImpl::SizesType> sizes_;
  std::vector<TensorImpl::DimOrderType> dim_order_;
  ScalarType dtype_ = ScalarType::Float;
  size_t input_bytes_ = 0;
  std::vector<et::EValue> outputs_;
};

}  // namespace

Status OpenExecuTorchEngine(const std::string& path, std::unique_ptr<Engine>* out) {
  static std::once_flag init;
  std::call_once(init, [] { et::runtime_init(); });
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status(MSDK_ERR_IO, path + ": cannot open (" + std::strerror(errno) + ")");
  unsigned char head[8] = {0};
  const size_t got = std::fread(head, 1, sizeof head, f);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return Status(MSDK_ERR_IO, path + ": cannot read (" + std::strerror(err) + ")");
  if (got < sizeof head)
    return Status(MSDK_ERR_INVALID_MODEL, path + ": not an ExecuTorch program (" + std::to_string(got) + " bytes)");
  auto engine = std::make_unique<ExecuTorchEngine>(path);
  Status st = engine->Load();
  if (!st.ok()) return Status(st.code(), path + ": " + st.message());
  *out = std::move(engine);
  return Status::Ok();
}

const char* ExecuTorchVersion() { return MSDK_EXECUTORCH_VERSION; }

}  // namespace msdk
