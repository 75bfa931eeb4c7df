#include "oks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace msdk {
namespace {

const double kEps = std::numeric_limits<double>::epsilon();  // np.spacing(1)
constexpr double kLinearEps = 1e-12;

Status Variances(const double* sigmas, int32_t k, const char* who, std::vector<double>* var) {
  const std::vector<double>& coco = CocoSigmas();
  if (sigmas == nullptr && k != static_cast<int32_t>(coco.size())) {
    return InvalidArgument(std::string(who) + ": COCO has 17 sigmas but the keypoints have K=" + std::to_string(k) +
                           "; pass sigmas with one value per keypoint");
  }
  var->resize(k);
  for (int32_t i = 0; i < k; ++i) {
    const double s = sigmas ? sigmas[i] : coco[i];
    if (!std::isfinite(s) || s <= 0) return InvalidArgument(std::string(who) + ": sigmas must be finite and > 0");
    (*var)[i] = (2.0 * s) * (2.0 * s);
  }
  return Status::Ok();
}

Status CheckPoints(const Points& p, const char* who, const char* what) {
  if (p.data == nullptr && p.n * p.k > 0) return InvalidArgument(std::string(who) + ": " + what + " is null");
  if (p.dims != 2 && p.dims != 3) return InvalidArgument(std::string(who) + ": " + what + " must have 2 or 3 columns");
  for (int32_t i = 0; i < p.n; ++i) {
    for (int32_t j = 0; j < p.k; ++j) {
      if (!std::isfinite(p.x(i, j)) || !std::isfinite(p.y(i, j))) {
        return InvalidArgument(std::string(who) + ": " + what + " contains NaN or inf");
      }
    }
  }
  return Status::Ok();
}

Status CheckAreas(const double* a, int32_t n, const char* who) {
  for (int32_t i = 0; i < n; ++i) {
    if (!std::isfinite(a[i]) || a[i] < 0) return InvalidArgument(std::string(who) + ": areas must be finite and >= 0");
  }
  return Status::Ok();
}

Status CheckInstances(const Points& p, const double* scores, const double* areas, const char* who) {
  MSDK_RETURN_IF_ERROR(CheckPoints(p, who, "kpts"));
  for (int32_t i = 0; i < p.n; ++i) {
    if (!std::isfinite(scores[i])) return InvalidArgument(std::string(who) + ": scores must be finite");
  }
  return CheckAreas(areas, p.n, who);
}

std::vector<int64_t> StableDescending(const double* s, int32_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return -s[a] < -s[b]; });
  return order;
}

// HRNet oks_iou of instance a against instance b.
double OksIou(const Points& p, int32_t a, const Points& q, int32_t b, double area_a, double area_b,
              const std::vector<double>& var) {
  double sum = 0.0;
  const double mean_area = (area_a + area_b) / 2.0 + kEps;
  for (int32_t j = 0; j < p.k; ++j) {
    const double dx = q.x(b, j) - p.x(a, j), dy = q.y(b, j) - p.y(a, j);
    const double e = (dx * dx + dy * dy) / var[j] / mean_area / 2.0;
    sum += std::exp(-e);
  }
  return sum / p.k;
}

}  // namespace

const std::vector<double>& CocoSigmas() {
  static const std::vector<double> s = [] {
    std::vector<double> v = {0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72,
                             0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89};
    for (double& x : v) x /= 10.0;
    return v;
  }();
  return s;
}

Status Oks(const Points& gt, const int64_t* gt_visible, double gt_area, const Points& pred, const double* sigmas,
           const double* gt_box, std::vector<double>* out) {
  const char* who = "oks";
  MSDK_RETURN_IF_ERROR(CheckPoints(gt, who, "gt_xy"));
  MSDK_RETURN_IF_ERROR(CheckPoints(pred, who, "pred_xy"));
  if (pred.k != gt.k) return InvalidArgument("oks: pred_xy and gt_xy have different K");
  if (!std::isfinite(gt_area) || gt_area < 0) return InvalidArgument("oks: gt_area must be finite and >= 0");
  std::vector<double> var;
  MSDK_RETURN_IF_ERROR(Variances(sigmas, gt.k, who, &var));
  const int32_t k = gt.k;
  bool any = false;
  for (int32_t j = 0; j < k; ++j) any = any || gt_visible[j] > 0;
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  if (!any) {
    if (gt_box == nullptr) return InvalidArgument("oks: the ground truth has no labelled keypoint; pass gt_box");
    for (int i = 0; i < 4; ++i) {
      if (!std::isfinite(gt_box[i])) return InvalidArgument("oks: gt_box must be 4 finite numbers");
    }
    x0 = gt_box[0] - gt_box[2];
    x1 = gt_box[0] + 2 * gt_box[2];
    y0 = gt_box[1] - gt_box[3];
    y1 = gt_box[1] + 2 * gt_box[3];
  }
  out->assign(pred.n, 0.0);
  for (int32_t m = 0; m < pred.n; ++m) {
    double sum = 0.0;
    int32_t count = 0;
    for (int32_t j = 0; j < k; ++j) {
      double dx, dy;
      if (any) {
        if (gt_visible[j] <= 0) continue;
        dx = pred.x(m, j) - gt.x(0, j);
        dy = pred.y(m, j) - gt.y(0, j);
      } else {
        const double px = pred.x(m, j), py = pred.y(m, j);
        dx = std::max(0.0, x0 - px) + std::max(0.0, px - x1);
        dy = std::max(0.0, y0 - py) + std::max(0.0, py - y1);
      }
      const double e = (dx * dx + dy * dy) / var[j] / (gt_area + kEps) / 2.0;
      sum += std::exp(-e);
      ++count;
    }
    (*out)[m] = sum / count;
  }
  return Status::Ok();
}

Status OksIouMatrix(const Points& kpts, const double* areas, const double* sigmas, std::vector<double>* out) {
  const char* who = "oks_iou_matrix";
  MSDK_RETURN_IF_ERROR(CheckPoints(kpts, who, "kpts"));
  MSDK_RETURN_IF_ERROR(CheckAreas(areas, kpts.n, who));
  std::vector<double> var;
  MSDK_RETURN_IF_ERROR(Variances(sigmas, kpts.k, who, &var));
  const int32_t n = kpts.n;
  out->assign(static_cast<size_t>(n) * n, 0.0);
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t j = 0; j < n; ++j)
      (*out)[static_cast<size_t>(i) * n + j] = OksIou(kpts, i, kpts, j, areas[i], areas[j], var);
  }
  return Status::Ok();
}

Status OksNms(const Points& kpts, const double* scores, const double* areas, double thr, const double* sigmas,
              std::vector<int64_t>* keep) {
  const char* who = "oks_nms";
  MSDK_RETURN_IF_ERROR(CheckInstances(kpts, scores, areas, who));
  std::vector<double> var;
  MSDK_RETURN_IF_ERROR(Variances(sigmas, kpts.k, who, &var));
  std::vector<int64_t> order = StableDescending(scores, kpts.n);
  keep->clear();
  while (!order.empty()) {
    const int64_t i = order[0];
    keep->push_back(i);
    std::vector<int64_t> rest;
    for (size_t t = 1; t < order.size(); ++t) {
      const int64_t j = order[t];
      // oks_iou(a=i, b=j): differences b - a, mean area (area_i + area_j) / 2.
      if (OksIou(kpts, static_cast<int32_t>(i), kpts, static_cast<int32_t>(j), areas[i], areas[j], var) <= thr) {
        rest.push_back(j);
      }
    }
    order.swap(rest);
  }
  return Status::Ok();
}

Status MatrixOksNms(const Points& kpts, const double* scores, const double* areas, NmsKernel kernel, double sigma,
                    double score_thr, int32_t max_det, const double* sigmas, std::vector<int64_t>* keep,
                    std::vector<double>* decayed) {
  const char* who = "matrix_oks_nms";
  MSDK_RETURN_IF_ERROR(CheckInstances(kpts, scores, areas, who));
  if (!(sigma > 0) || !std::isfinite(sigma)) return InvalidArgument("matrix_oks_nms: sigma must be a number > 0");
  if (max_det < 1) return InvalidArgument("matrix_oks_nms: max_det must be an integer >= 1");
  std::vector<double> var;
  MSDK_RETURN_IF_ERROR(Variances(sigmas, kpts.k, who, &var));
  const int32_t n = kpts.n;
  keep->clear();
  decayed->assign(n, 0.0);
  if (n == 0) return Status::Ok();
  const std::vector<int64_t> order = StableDescending(scores, n);
  // O strictly above the diagonal in sorted order: o[a][b] = oks_iou(sorted a, sorted b) for a < b.
  std::vector<double> o(static_cast<size_t>(n) * n, 0.0), comp(n, 0.0);
  for (int32_t a = 0; a < n; ++a) {
    for (int32_t b = a + 1; b < n; ++b) {
      const int32_t ia = static_cast<int32_t>(order[a]), ib = static_cast<int32_t>(order[b]);
      o[static_cast<size_t>(a) * n + b] = OksIou(kpts, ia, kpts, ib, areas[ia], areas[ib], var);
    }
  }
  for (int32_t b = 0; b < n; ++b) {
    for (int32_t a = 0; a < n; ++a) comp[b] = std::max(comp[b], o[static_cast<size_t>(a) * n + b]);
  }
  for (int32_t b = 0; b < n; ++b) {
    double decay = std::numeric_limits<double>::infinity();
    for (int32_t a = 0; a < n; ++a) {
      const double v = o[static_cast<size_t>(a) * n + b], c = comp[a];
      const double f = kernel == NmsKernel::kGaussian ? std::exp(-sigma * v * v) / std::exp(-sigma * c * c)
                                                      : (1.0 - v) / std::max(1.0 - c, kLinearEps);
      decay = std::min(decay, f);
    }
    (*decayed)[order[b]] = scores[order[b]] * decay;
  }
  std::vector<int64_t> cand;
  for (int32_t i = 0; i < n; ++i) {
    if ((*decayed)[i] > score_thr) cand.push_back(i);
  }
  std::stable_sort(cand.begin(), cand.end(), [&](int64_t a, int64_t b) { return -(*decayed)[a] < -(*decayed)[b]; });
  if (static_cast<int32_t>(cand.size()) > max_det) cand.resize(max_det);
  *keep = cand;
  return Status::Ok();
}

void Rescore(const double* kpt_scores, const double* box_scores, int32_t n, int32_t k, double thr,
             std::vector<double>* out) {
  out->assign(n, 0.0);
  for (int32_t i = 0; i < n; ++i) {
    double total = 0.0;
    int32_t count = 0;
    for (int32_t j = 0; j < k; ++j) {
      const double s = kpt_scores[static_cast<int64_t>(i) * k + j];
      if (s > thr) {
        total += s;
        ++count;
      }
    }
    (*out)[i] = (count > 0 ? total / count : 0.0) * box_scores[i];
  }
}

}  // namespace msdk
