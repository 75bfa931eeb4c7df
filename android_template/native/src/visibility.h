// Per-keypoint visibility (mobilesdk/codecs/visibility.py): a calibrated probability that the keypoint is
// visible (inside the crop, not occluded), the same monotone map of the raw score as the Python reference:
//   visibility = 1 / (1 + exp(-(a * ln(score) + b)))  for score > 0,  0 for score <= 0,
// in double. a, b come from the manifest's codec.visibility; without it, the codec's calibrated default below
// (the numbers of mobilesdk/codecs/visibility.json; the shared vectors hold cases with and without the key).
#ifndef MSDK_VISIBILITY_H_
#define MSDK_VISIBILITY_H_

#include <cmath>

#include "decoders.h"

namespace msdk {

struct VisibilityParams {
  double a = 0.0;
  double b = 0.0;
};

// The default of a codec: fitted on the trained fixtures (simcc softmax, integral-3d); derived (heatmap and
// raw SimCC peaks, normalize: false).
inline VisibilityParams DefaultVisibility(const CodecParams& codec) {
  switch (codec.kind) {
    case CodecKind::kSimCC:
      if (codec.normalize) return {3.2121090384385904, 11.40828314635522};
      break;
    case CodecKind::kIntegral3D: return {1.4610827677226144, 4.276683664957687};
    case CodecKind::kHeatmap: break;
  }
  return {4.0, 2.772588722239781};  // a = 4, b = 4 ln 2: visibility 0.5 at a peak of 0.5
}

inline double Visibility(double score, const VisibilityParams& p) {
  if (!(score > 0.0)) return 0.0;
  return 1.0 / (1.0 + std::exp(-(p.a * std::log(score) + p.b)));
}

}  // namespace msdk

#endif  // MSDK_VISIBILITY_H_
