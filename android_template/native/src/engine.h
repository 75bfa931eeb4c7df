// The inference engine interface: the estimator talks to its engine only through this, keeping the pre/post
// code free of runtime types. The one implementation is ExecuTorch (Estimator::Create opens it), compiled only
// when ExecuTorch is found (MSDK_HAVE_EXECUTORCH; without it OpenExecuTorchEngine is MSDK_ERR_UNSUPPORTED).
#ifndef MSDK_ENGINE_H_
#define MSDK_ENGINE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "status.h"

namespace msdk {

// A tensor as the program declares it; dtype is the runtime's name ("float32", "uint8", "int64", ...).
struct EngineTensor {
  std::vector<int64_t> shape;
  std::string dtype;
};

class Engine {
 public:
  virtual ~Engine() = default;
  // The forward method's tensors, read from the program before anything is loaded.
  virtual Status Describe(std::vector<EngineTensor>* inputs, std::vector<EngineTensor>* outputs) = 0;
  // The embedded manifest, if the program carries one (found = false otherwise).
  virtual Status EmbeddedManifest(std::string* json, bool* found) = 0;
  // Sets the CPU thread count (0: the runtime's default) if `may_resize`, then loads forward. Once.
  virtual Status Prepare(int32_t num_threads, bool may_resize) = 0;
  // Runs forward on one input of `bytes`; outputs[i] (counts[i] floats) stay valid until the next Run.
  virtual Status Run(const void* input, size_t bytes, std::vector<const float*>* outputs,
                     std::vector<size_t>* counts) = 0;
  virtual int32_t NumThreads() const = 0;
};

// ExecuTorch: memory-maps `path` and loads the program with full verification (InternalConsistency), so a
// truncated or foreign file is MSDK_ERR_INVALID_MODEL, an unreadable one MSDK_ERR_IO. Without ExecuTorch:
// MSDK_ERR_UNSUPPORTED.
Status OpenExecuTorchEngine(const std::string& path, std::unique_ptr<Engine>* out);
const char* ExecuTorchVersion();  // "" without ExecuTorch

}  // namespace msdk

#endif  // MSDK_ENGINE_H_
