// Object keypoint similarity and OKS-based NMS, equal to mobilesdk/codecs/oks.py and nms.py.
//
// Legend: N/M instances, K keypoints. Keypoint arrays are row-major (…, K, dims) with dims 2 or 3 (a third
// score/visibility column is ignored), image px; areas px²; everything in double.
#ifndef MSDK_OKS_H_
#define MSDK_OKS_H_

#include <cstdint>
#include <vector>

#include "status.h"

namespace msdk {

// COCO per-keypoint sigmas (K = 17), COCO order.
const std::vector<double>& CocoSigmas();

struct Points {
  const double* data;
  int32_t n;     // instances (1 for a single one)
  int32_t k;     // keypoints
  int32_t dims;  // 2 or 3
  double x(int32_t i, int32_t j) const { return data[(static_cast<int64_t>(i) * k + j) * dims]; }
  double y(int32_t i, int32_t j) const { return data[(static_cast<int64_t>(i) * k + j) * dims + 1]; }
};

// cocoapi computeOks of one ground truth against M predictions -> out (M). gt_box (x, y, w, h) is needed
// only when no keypoint is labelled (gt_visible all <= 0). sigmas may be null (COCO, K must be 17).
Status Oks(const Points& gt, const int64_t* gt_visible, double gt_area, const Points& pred, const double* sigmas,
           const double* gt_box, std::vector<double>* out);
// All-pairs HRNet oks_iou -> (N, N) row-major.
Status OksIouMatrix(const Points& kpts, const double* areas, const double* sigmas, std::vector<double>* out);
// Greedy OKS-NMS (stable descending order) -> kept input indices in pick order.
Status OksNms(const Points& kpts, const double* scores, const double* areas, double thr, const double* sigmas,
              std::vector<int64_t>* keep);
enum class NmsKernel { kGaussian, kLinear };
// Matrix OKS-NMS (MobilePoseNet Algorithm 1) -> keep (<= max_det, by decayed score), decayed (N).
Status MatrixOksNms(const Points& kpts, const double* scores, const double* areas, NmsKernel kernel, double sigma,
                    double score_thr, int32_t max_det, const double* sigmas, std::vector<int64_t>* keep,
                    std::vector<double>* decayed);
// HRNet rescoring: mean of keypoint scores > thr (0 if none) times the box score -> out (N).
void Rescore(const double* kpt_scores, const double* box_scores, int32_t n, int32_t k, double thr,
             std::vector<double>* out);

}  // namespace msdk

#endif  // MSDK_OKS_H_
