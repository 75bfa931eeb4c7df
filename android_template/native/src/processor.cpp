#include "processor.h"

#include <cmath>
#include <limits>

namespace msdk {

Status Processor::Create(const char* json, size_t size, const char* recipe, const std::string& file_name,
                         std::unique_ptr<Processor>* out) {
  auto p = std::make_unique<Processor>();
  MSDK_RETURN_IF_ERROR(ParseManifest(json, size, &p->manifest_));
  MSDK_RETURN_IF_ERROR(SelectArtifact(p->manifest_, recipe, file_name, &p->artifact_index_));
  p->json_.assign(json, size);
  const ArtifactSpec& a = p->artifact();
  const std::string where = "artifact '" + a.recipe + "'";
  p->input_ = TensorDesc{a.input_name, a.input_shape, a.input.dtype};
  const auto& roles = Codec::RoleNames(p->manifest_.codec.kind);
  std::vector<std::vector<int64_t>> shapes(roles.size());
  std::vector<bool> seen(roles.size(), false);
  for (const OutputSpec& o : a.outputs) {
    int role = -1;
    for (size_t r = 0; r < roles.size(); ++r) {
      if (o.role == roles[r]) role = static_cast<int>(r);
    }
    if (role < 0) {
      std::string valid;
      for (size_t r = 0; r < roles.size(); ++r) valid += (r ? ", " : "") + roles[r];
      return InvalidManifest(where + ": output '" + o.name + "' has role '" + o.role + "', which the " +
                             p->manifest_.codec_name + " codec does not read (roles: " + valid + ")");
    }
    if (seen[role]) return InvalidManifest(where + ": two outputs have role '" + o.role + "'");
    seen[role] = true;
    if (o.shape[0] != 1) {
      return InvalidManifest(where + ": output '" + o.name + "' has batch " + std::to_string(o.shape[0]) +
                             "; the native core decodes one instance (batch 1)");
    }
    shapes[role].assign(o.shape.begin() + 1, o.shape.end());
    p->role_of_output_.push_back(role);
    p->outputs_.push_back(TensorDesc{o.name, o.shape, DType::kFloat32});
  }
  for (size_t r = 0; r < roles.size(); ++r) {
    if (!seen[r]) return InvalidManifest(where + ": no output has role '" + roles[r] + "'");
  }
  Status st = Codec::Create(p->manifest_.codec, a.input.width, a.input.height, p->num_keypoints(), shapes, &p->codec_);
  if (!st.ok()) return InvalidManifest(where + ": " + st.message());
  p->by_role_.resize(roles.size());
  *out = std::move(p);
  return Status::Ok();
}

Status Processor::Preprocess(const FrameView& frame, const Rect* roi, void* input, size_t input_size, Affine* affine) {
  return pre_.Run(input_spec(), frame, roi, input, input_size, affine);
}

Status Processor::Decode(const float* const* outputs, const size_t* counts, int32_t num_outputs, const Affine& affine,
                         Pose* pose) {
  if (outputs == nullptr || counts == nullptr) return InvalidArgument("outputs or output_counts is null");
  if (num_outputs != static_cast<int32_t>(outputs_.size())) {
    return InvalidArgument("the model has " + std::to_string(outputs_.size()) + " output(s), got " +
                           std::to_string(num_outputs));
  }
  for (int32_t i = 0; i < num_outputs; ++i) {
    if (outputs[i] == nullptr)
      return InvalidArgument("output " + std::to_string(i) + " ('" + outputs_[i].name + "') is null");
    if (counts[i] != outputs_[i].count()) {
      return InvalidArgument("output " + std::to_string(i) + " ('" + outputs_[i].name + "') has " +
                             std::to_string(counts[i]) + " floats, expected " + std::to_string(outputs_[i].count()));
    }
    by_role_[role_of_output_[i]] = outputs[i];
  }
  for (int i = 0; i < 6; ++i) {
    if (!std::isfinite(affine.m[i])) return InvalidArgument("affine has a NaN or inf entry");
  }
  Affine inv;
  if (!InvertAffine(affine, &inv)) return InvalidArgument("affine is not invertible");
  // Non-finite outputs: MSDK_ERR_NUMERIC naming the role (the manifest output that feeds it).
  MSDK_RETURN_IF_ERROR(codec_.Decode(by_role_.data(), 1, &decoded_));
  const int32_t k = num_keypoints();
  pose->keypoints.resize(k);
  double total = 0.0;
  const bool has_z = !decoded_.z.empty();
  for (int32_t j = 0; j < k; ++j) {
    double fx, fy;
    ApplyAffine(inv, decoded_.xy[2 * j], decoded_.xy[2 * j + 1], &fx, &fy);
    Keypoint& kp = pose->keypoints[j];
    kp.x = static_cast<float>(fx);
    kp.y = static_cast<float>(fy);
    kp.z = has_z ? static_cast<float>(decoded_.z[j]) : std::numeric_limits<float>::quiet_NaN();
    kp.score = static_cast<float>(decoded_.scores[j]);
    kp.visibility = static_cast<float>(Visibility(decoded_.scores[j], manifest_.visibility));
    total += decoded_.scores[j];
  }
  pose->score = static_cast<float>(total / k);
  return Status::Ok();
}

}  // namespace msdk
