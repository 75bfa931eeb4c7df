// Decoders equal to mobilesdk/codecs: SimCC, heatmap argmax (+ DARK / quarter offset), integral-3d
// soft-argmax, and the flip merge of each. Shapes follow the reference's legend: N instances, K keypoints,
// Bx/By SimCC bins, Hh/Wh output grid, D depth bins. Raw outputs are float32; arithmetic that the reference
// needs in float64 (softmax sums, DARK, expectations) runs in double.
#ifndef MSDK_DECODERS_H_
#define MSDK_DECODERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace msdk {

enum class CodecKind { kSimCC, kHeatmap, kIntegral3D };
enum class Refine { kDark, kQuarterOffset, kNone };

// The codec's parameters (manifest `codec.params`), validated by the manifest parser.
struct CodecParams {
  CodecKind kind = CodecKind::kSimCC;
  // simcc
  double split_ratio = 2.0;
  bool normalize = true;
  bool flip_average_softmax = true;  // "softmax" (default) | "logits"
  bool flip_shift = false;
  // heatmap, integral-3d
  int32_t heatmap_width = 0;
  int32_t heatmap_height = 0;
  Refine refine = Refine::kDark;
  int32_t blur_kernel = 11;
  bool shift_flip = true;
  // integral-3d
  int32_t depth_bins = 0;
};

// Decoded keypoints of N instances, model-input px (x right, y down).
struct Decoded {
  std::vector<double> xy;      // (N, K, 2)
  std::vector<double> scores;  // (N, K)
  std::vector<double> z;       // (N, K) integral-3d, else empty
};

// A codec bound to its geometry and the actual output shapes (SimCC bin counts come from the outputs).
class Codec {
 public:
  // The output roles this codec reads, in order: simcc_x, simcc_y | heatmaps | volumetric.
  static const std::vector<std::string>& RoleNames(CodecKind kind);

  // shapes: one per role, WITHOUT the batch dim. Checks them as the reference's accepts_shape.
  static Status Create(const CodecParams& params, int32_t input_width, int32_t input_height, int32_t num_keypoints,
                       const std::vector<std::vector<int64_t>>& shapes, Codec* out);

  const CodecParams& params() const { return params_; }
  // Floats per instance of role r.
  int64_t RoleCount(int r) const;

  // outputs[r] holds N * RoleCount(r) floats. Non-finite values: MSDK_ERR_NUMERIC naming the role.
  Status Decode(const float* const* outputs, int32_t n, Decoded* out);
  // Worker threads for the integral-3d decode (joints in parallel; 1: the calling thread only, the default),
  // used only with at least min_voxels_per_thread voxels per thread (a thread start costs ~20-50 us; the 3D-L
  // models' 64^3 volumes take ~0.3 ms each). Results do not depend on either.
  void set_threads(int32_t threads, int64_t min_voxels_per_thread = int64_t{1} << 17) {
    threads_ = threads < 1 ? 1 : threads;
    min_voxels_per_thread_ = min_voxels_per_thread < 1 ? 1 : min_voxels_per_thread;
  }
  int32_t threads() const { return threads_; }
  // Flip test merge (reference flip_merge): merged[r] gets N * RoleCount(r) floats.
  Status FlipMerge(const float* const* outputs, const float* const* flipped, int32_t n,
                   const std::vector<std::pair<int32_t, int32_t>>& flip_pairs, std::vector<std::vector<float>>* merged);

 private:
  void DecodeSimCC(const float* x, const float* y, int32_t n, Decoded* out);
  void DecodeHeatmap(const float* hm, int32_t n, Decoded* out);
  Status DecodeIntegral(const float* vol, int32_t n, Decoded* out);
  struct IntegralScratch {
    std::vector<double> marginals;  // (Hh, Wh) over depth, then Wh over (depth, Hh), then D over the plane
    std::vector<float> exps;        // exp of one slice chunk
  };
  // One joint's volume; false if it holds a NaN or inf (nothing written then).
  bool DecodeIntegralJoint(const float* v, int64_t j, IntegralScratch* s, Decoded* out) const;

  CodecParams params_;
  int32_t in_w_ = 0, in_h_ = 0, k_ = 0;
  int32_t bins_x_ = 0, bins_y_ = 0;                // simcc
  std::vector<double> kernel_;                     // heatmap + DARK: GaussianKernel1D(blur_kernel)
  std::vector<double> scratch_;                    // DARK full blur, integral marginals
  std::vector<float> fscratch_;                    // exp of one SimCC vector
  std::vector<IntegralScratch> integral_scratch_;  // one per integral-3d worker, kept between calls
  int32_t threads_ = 1;
  int64_t min_voxels_per_thread_ = int64_t{1} << 17;
};

// cv2.getGaussianKernel(ksize, 0, CV_64F): OpenCV's fixed tables for 1, 3, 5, 7, 9; the sigma formula otherwise.
std::vector<double> GaussianKernel1D(int32_t ksize);
// DarkPose gaussian_blur of one (Hh, Wh) map: zero padding, separable correlation, rescaled to the original
// max (skipped when the blurred max is <= 0). out has Hh*Wh values.
void GaussianBlur(const float* map, int32_t h, int32_t w, const std::vector<double>& kernel, double* out);

}  // namespace msdk

#endif  // MSDK_DECODERS_H_
