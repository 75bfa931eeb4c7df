// Estimator: processor + engine. Preprocess -> forward -> decode -> map back, with per-stage timings.
#ifndef MSDK_ESTIMATOR_H_
#define MSDK_ESTIMATOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "processor.h"
#include "status.h"

namespace msdk {

struct Timings {
  int64_t preprocess_us = 0, inference_us = 0, decode_us = 0, total_us = 0;
};

struct EstimatorOptions {
  std::string model_path;
  const char* manifest_json = nullptr;  // null: the program's embedded manifest
  size_t manifest_size = 0;
  const char* recipe = nullptr;
  int32_t num_threads = 0;
};

// The stage boundaries an estimator marks (set_instruction_marks): the low 8 bits of a mark's second argument.
// mobilesdk/emulate/ reads them (keep in step with its MARK_EVENTS).
constexpr uint32_t kInstructionMarkMagic = 0x6d73646b;  // "msdk"
enum InstructionMark : int32_t {
  kMarkPreprocessBegin = 1,
  kMarkPreprocessEnd = 2,
  kMarkInferenceBegin = 3,
  kMarkInferenceEnd = 4,
  kMarkDecodeBegin = 5,
  kMarkDecodeEnd = 6,
};

class Estimator {
 public:
  // Opens the engine for options.model_path (non-empty: msdk_estimator_create checks it) by its content (a
  // TFLite model: LiteRT; an ExecuTorch program: ExecuTorch) and checks the program against the manifest,
  // whose artifact must be for that runtime.
  static Status Create(const EstimatorOptions& options, std::unique_ptr<Estimator>* out);
  ~Estimator();

  Processor& processor() { return *processor_; }
  const std::string& manifest_json() const { return processor_->json(); }
  int32_t num_threads() const { return engine_->NumThreads(); }
  const char* runtime() const { return runtime_; }                  // "executorch" | "litert" | "onnxruntime"
  const char* runtime_version() const { return runtime_version_; }  // e.g. "1.5.1", "2.3.0"

  Status Estimate(const FrameView& frame, const Rect* roi, Pose* pose, Timings* timings);
  // Forward on a preprocessed input, decoded with `affine` (the staged form of Estimate).
  Status EstimateInput(const void* input, size_t input_size, const Affine& affine, Pose* pose, Timings* timings);
  Status Run(const void* input, size_t input_size, float* const* outputs, const size_t* counts, int32_t num_outputs,
             int64_t* inference_us);
  // Stage marks for instruction counting under emulation (`mobilesdk bench --emulate`): tag >= 0 makes Estimate
  // and EstimateInput issue getpid(kInstructionMarkMagic, tag << 8 | InstructionMark) at each stage boundary;
  // -1 (the default) issues none.
  void set_instruction_marks(int32_t tag) { mark_tag_ = tag; }

 private:
  Estimator() = default;
  Status CheckInput(const void* input, size_t input_size) const;
  Status Forward(const void* input, size_t bytes);
  void Mark(int32_t event) const;

  std::unique_ptr<Engine> engine_;  // set once counted in LiveEstimators (holds a reference on the thread pool)
  std::unique_ptr<Processor> processor_;
  std::vector<uint8_t> input_;  // float32 inputs need 4-byte alignment: vector storage is malloc-aligned
  std::vector<const float*> outs_;
  std::vector<size_t> counts_;
  const char* runtime_ = "";
  const char* runtime_version_ = "";
  bool shares_pool_ = false;  // on ExecuTorch's process-wide CPU pool
  int32_t mark_tag_ = -1;     // set_instruction_marks
};

// Estimators alive in the process (ExecuTorch's thread pool is resized only while none of them uses it).
int32_t LiveEstimators();

}  // namespace msdk

#endif  // MSDK_ESTIMATOR_H_
