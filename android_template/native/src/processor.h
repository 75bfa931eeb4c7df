// Processor: one artifact's pre- and post-processing, configured from the manifest (no engine).
#ifndef MSDK_PROCESSOR_H_
#define MSDK_PROCESSOR_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "decoders.h"
#include "manifest.h"
#include "preprocess.h"
#include "status.h"

namespace msdk {

struct TensorDesc {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::kFloat32;
  size_t bytes() const {
    size_t n = dtype == DType::kFloat32 ? 4 : 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    return n;
  }
  size_t count() const { return bytes() / (dtype == DType::kFloat32 ? 4 : 1); }
};

struct Keypoint {
  float x, y, z, score;
  float visibility;  // calibrated probability that the keypoint is visible (visibility.h), in [0, 1]
};

struct Pose {
  std::vector<Keypoint> keypoints;
  float score = 0.0f;
};

class Processor {
 public:
  // recipe / file_name: see SelectArtifact.
  static Status Create(const char* json, size_t size, const char* recipe, const std::string& file_name,
                       std::unique_ptr<Processor>* out);

  const ArtifactSpec& artifact() const { return manifest_.artifacts[artifact_index_]; }
  const Manifest& manifest() const { return manifest_; }
  const InputSpec& input_spec() const { return artifact().input; }
  const TensorDesc& input() const { return input_; }
  const std::vector<TensorDesc>& outputs() const { return outputs_; }
  int32_t num_keypoints() const { return static_cast<int32_t>(manifest_.keypoint_names.size()); }
  const std::string& json() const { return json_; }

  Status Preprocess(const FrameView& frame, const Rect* roi, void* input, size_t input_size, Affine* affine);
  // outputs[i]: counts[i] floats of output i (manifest order). Keypoints mapped to the frame through A^-1.
  Status Decode(const float* const* outputs, const size_t* counts, int32_t num_outputs, const Affine& affine,
                Pose* pose);

  // Threads of the decode (integral-3d joints in parallel); results do not depend on it. Default 1.
  void set_decode_threads(int32_t threads) { codec_.set_threads(threads); }

 private:
  Manifest manifest_;
  size_t artifact_index_ = 0;
  std::string json_;
  TensorDesc input_;
  std::vector<TensorDesc> outputs_;
  std::vector<int> role_of_output_;  // manifest output i -> codec role index
  Codec codec_;
  Preprocessor pre_;
  Decoded decoded_;
  std::vector<const float*> by_role_;
};

}  // namespace msdk

#endif  // MSDK_PROCESSOR_H_
