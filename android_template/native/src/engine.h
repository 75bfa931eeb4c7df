// The inference engine interface: the estimator talks to its engine only through this, keeping the pre/post
// code free of runtime types. Three implementations, each compiled only when its runtime is found: ExecuTorch
// (MSDK_HAVE_EXECUTORCH, engine_executorch.cpp), LiteRT through its C API (MSDK_HAVE_LITERT,
// engine_litert.cpp) and ONNX Runtime through its C API (MSDK_HAVE_ONNXRUNTIME, engine_onnxruntime.cpp);
// without one, its Open function is MSDK_ERR_UNSUPPORTED. Estimator::Create picks the engine by the file's
// content (SniffModelFile).
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

// LiteRT (the C API of libLiteRt.so): reads `path`, verifies it as a TFLite flatbuffer (tflite_model.h) before
// LiteRT parses it, so a truncated or foreign file is MSDK_ERR_INVALID_MODEL and an unreadable one MSDK_ERR_IO;
// runs the model's `serving_default` signature (or its only one) on the CPU accelerator (XNNPACK), outputs in
// the order of their names' trailing index (output_0, output_1, ..., output_10). Each engine has its own
// XNNPACK thread pool. Without LiteRT: MSDK_ERR_UNSUPPORTED.
Status OpenLiteRtEngine(const std::string& path, std::unique_ptr<Engine>* out);
const char* LiteRtVersion();  // "" without LiteRT

// ONNX Runtime (the C API of libonnxruntime.so, ORT_API_VERSION 17 or newer): reads `path` and creates a session
// on the CPU execution provider with `num_threads` intra-op threads (0: 1), sequential execution and every graph
// optimisation; a file ORT cannot parse is MSDK_ERR_INVALID_MODEL with ORT's message, an unreadable one
// MSDK_ERR_IO. Outputs in the graph's order. Without ONNX Runtime, or with a library older than the API
// version requested: MSDK_ERR_UNSUPPORTED.
Status OpenOnnxRuntimeEngine(const std::string& path, int32_t num_threads, std::unique_ptr<Engine>* out);
const char* OnnxRuntimeVersion();  // the library's GetVersionString(); "" without ONNX Runtime

// What a model file holds, by its first bytes: flatbuffer identifiers at bytes 4..8 ("TFL3": a TFLite model;
// "ET" and two digits: an ExecuTorch program), else an ONNX ModelProto's leading fields (onnx_model.h).
// kUnknown for anything else, including files under 8 bytes.
enum class ModelKind { kUnknown, kTflite, kExecuTorch, kOnnx };
// MSDK_ERR_IO if `path` cannot be opened or read (a directory included).
Status SniffModelFile(const std::string& path, ModelKind* kind);

}  // namespace msdk

#endif  // MSDK_ENGINE_H_
