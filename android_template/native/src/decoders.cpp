#include "decoders.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "numeric.h"

namespace msdk {
namespace {

// DarkPose floors the blurred heatmap before the log.
constexpr double kLogFloor = 1e-10;
// Above this every needed blurred value stays above kLogFloor after the rescale (whose ratio is >= 1 up to
// rounding), so the log of the ratio cancels in every derivative and only 13 blurred values are needed.
constexpr double kFastFloor = 2e-10;
constexpr double kTiny = std::numeric_limits<double>::min();

std::string ShapeText(const std::vector<int64_t>& s) {
  std::string t = "(";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + ")";
}

template <typename T>
int64_t ArgMaxFirst(const T* v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

Status Permutation(const std::vector<std::pair<int32_t, int32_t>>& pairs, int32_t k, std::vector<int32_t>* perm) {
  perm->resize(k);
  for (int32_t i = 0; i < k; ++i) (*perm)[i] = i;
  std::vector<bool> seen(k, false);
  for (const auto& [a, b] : pairs) {
    for (int32_t i : {a, b}) {
      if (i < 0 || i >= k) {
        return InvalidArgument("flip pair (" + std::to_string(a) + ", " + std::to_string(b) + ") has index " +
                               std::to_string(i) + " outside [0, " + std::to_string(k) + ")");
      }
      if (seen[i]) return InvalidArgument("keypoint " + std::to_string(i) + " appears in more than one flip pair");
      seen[i] = true;
    }
    if (a == b) return InvalidArgument("flip pair pairs a keypoint with itself");
    (*perm)[a] = b;
    (*perm)[b] = a;
  }
  return Status::Ok();
}

// Float64 softmax of n float values into out.
void Softmax(const float* v, int64_t n, double* out) {
  double mx = v[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, static_cast<double>(v[i]));
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += (out[i] = std::exp(static_cast<double>(v[i]) - mx));
  for (int64_t i = 0; i < n; ++i) out[i] /= sum;
}

}  // namespace

std::vector<double> GaussianKernel1D(int32_t ksize) {
  switch (ksize) {  // OpenCV 4.x getGaussianKernelBitExact fixed tables (sigma <= 0)
    case 1: return {1.0};
    case 3: return {0.25, 0.5, 0.25};
    case 5: return {0.0625, 0.25, 0.375, 0.25, 0.0625};
    case 7: return {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125};
    case 9:
      return {4 / 256.0, 13 / 256.0, 30 / 256.0, 51 / 256.0, 60 / 256.0, 51 / 256.0, 30 / 256.0, 13 / 256.0, 4 / 256.0};
    default: break;
  }
  const double sigma = ((ksize - 1) * 0.5 - 1) * 0.3 + 0.8;
  std::vector<double> t(ksize);
  double total = 0.0;
  for (int32_t i = 0; i < ksize; ++i) {
    const double x = i - (ksize - 1) * 0.5;
    t[i] = std::exp(-0.5 / (sigma * sigma) * x * x);
    total += t[i];
  }
  const double scale = 1.0 / total;
  for (double& v : t) v *= scale;
  return t;
}

void GaussianBlur(const float* map, int32_t h, int32_t w, const std::vector<double>& kernel, double* out) {
  const int32_t ks = static_cast<int32_t>(kernel.size()), r = (ks - 1) / 2;
  std::vector<double> rows(static_cast<size_t>(h) * w);
  for (int32_t i = 0; i < h; ++i) {
    for (int32_t j = 0; j < w; ++j) {
      double acc = 0.0;
      for (int32_t t = 0; t < ks; ++t) {
        const int32_t jj = j + t - r;
        if (jj >= 0 && jj < w) acc += kernel[t] * map[static_cast<size_t>(i) * w + jj];
      }
      rows[static_cast<size_t>(i) * w + j] = acc;
    }
  }
  double orig_max = map[0], new_max = -std::numeric_limits<double>::infinity();
  for (int64_t i = 1; i < static_cast<int64_t>(h) * w; ++i) orig_max = std::max(orig_max, static_cast<double>(map[i]));
  for (int32_t i = 0; i < h; ++i) {
    for (int32_t j = 0; j < w; ++j) {
      double acc = 0.0;
      for (int32_t t = 0; t < ks; ++t) {
        const int32_t ii = i + t - r;
        if (ii >= 0 && ii < h) acc += kernel[t] * rows[static_cast<size_t>(ii) * w + j];
      }
      out[static_cast<size_t>(i) * w + j] = acc;
      new_max = std::max(new_max, acc);
    }
  }
  if (new_max > 0) {
    const double ratio = orig_max / new_max;
    for (int64_t i = 0; i < static_cast<int64_t>(h) * w; ++i) out[i] *= ratio;
  }
}

const std::vector<std::string>& Codec::RoleNames(CodecKind kind) {
  static const std::vector<std::string> kSimCC = {"simcc_x", "simcc_y"}, kHeatmap = {"heatmaps"},
                                        kIntegral3D = {"volumetric"}, kNone;
  switch (kind) {
    case CodecKind::kSimCC: return kSimCC;
    case CodecKind::kHeatmap: return kHeatmap;
    case CodecKind::kIntegral3D: return kIntegral3D;
  }
  return kNone;
}

Status Codec::Create(const CodecParams& params, int32_t input_width, int32_t input_height, int32_t num_keypoints,
                     const std::vector<std::vector<int64_t>>& shapes, Codec* out) {
  Codec c;
  c.params_ = params;
  c.in_w_ = input_width;
  c.in_h_ = input_height;
  c.k_ = num_keypoints;
  const auto& roles = RoleNames(params.kind);
  if (shapes.size() != roles.size()) {
    return InvalidManifest("codec needs " + std::to_string(roles.size()) + " output(s), got " +
                           std::to_string(shapes.size()));
  }
  const int64_t k = num_keypoints;
  auto bad = [&](size_t r, const std::string& want) {
    return InvalidManifest("output '" + roles[r] + "' has shape " + ShapeText(shapes[r]) + " (without batch), the " +
                           "codec expects " + want);
  };
  switch (params.kind) {
    case CodecKind::kSimCC: {
      const int32_t sizes[2] = {input_width, input_height};
      int32_t* bins[2] = {&c.bins_x_, &c.bins_y_};
      for (size_t r = 0; r < 2; ++r) {
        const double wk = sizes[r] * params.split_ratio;
        const int64_t lo = static_cast<int64_t>(std::floor(wk + 1e-9));
        const int64_t hi = static_cast<int64_t>(std::ceil(wk - 1e-9));
        if (lo < 1) return InvalidManifest("simcc: split_ratio gives no bins along " + roles[r].substr(6));
        const std::string want = "(" + std::to_string(k) + ", " + std::to_string(lo) +
                                 (hi != lo ? " or " + std::to_string(hi) : std::string()) + ")";
        const auto& s = shapes[r];
        if (s.size() != 2 || s[0] != k || (s[1] != lo && s[1] != hi)) return bad(r, want);
        *bins[r] = static_cast<int32_t>(s[1]);
      }
      break;
    }
    case CodecKind::kHeatmap:
    case CodecKind::kIntegral3D: {
      const int64_t ch = params.kind == CodecKind::kHeatmap ? k : k * params.depth_bins;
      const std::vector<int64_t> want = {ch, params.heatmap_height, params.heatmap_width};
      if (shapes[0] != want) return bad(0, ShapeText(want));
      if (params.kind == CodecKind::kHeatmap && params.refine == Refine::kDark) {
        c.kernel_ = GaussianKernel1D(params.blur_kernel);
      }
      break;
    }
  }
  *out = std::move(c);
  return Status::Ok();
}

int64_t Codec::RoleCount(int r) const {
  const int64_t k = k_;
  switch (params_.kind) {
    case CodecKind::kSimCC: return k * (r == 0 ? bins_x_ : bins_y_);
    case CodecKind::kHeatmap: return k * params_.heatmap_height * params_.heatmap_width;
    case CodecKind::kIntegral3D: return k * params_.depth_bins * params_.heatmap_height * params_.heatmap_width;
  }
  return 0;
}

Status Codec::Decode(const float* const* outputs, int32_t n, Decoded* out) {
  const auto& roles = RoleNames(params_.kind);
  for (size_t r = 0; r < roles.size(); ++r) {
    if (outputs[r] == nullptr) return InvalidArgument("output '" + roles[r] + "' is null");
    if (params_.kind == CodecKind::kIntegral3D) continue;  // checked in its max pass
    int64_t bad = -1;
    if (!AllFinite(outputs[r], n * RoleCount(static_cast<int>(r)), &bad)) {
      return Numeric("output '" + roles[r] + "' contains NaN or inf (first at flat index " + std::to_string(bad) + ")");
    }
  }
  out->xy.assign(static_cast<size_t>(n) * k_ * 2, 0.0);
  out->scores.assign(static_cast<size_t>(n) * k_, 0.0);
  out->z.clear();
  switch (params_.kind) {
    case CodecKind::kSimCC: DecodeSimCC(outputs[0], outputs[1], n, out); break;
    case CodecKind::kHeatmap: DecodeHeatmap(outputs[0], n, out); break;
    case CodecKind::kIntegral3D: return DecodeIntegral(outputs[0], n, out);
  }
  return Status::Ok();
}

void Codec::DecodeSimCC(const float* x, const float* y, int32_t n, Decoded* out) {
  const int32_t bins[2] = {bins_x_, bins_y_};
  const float* data[2] = {x, y};
  for (int64_t i = 0; i < static_cast<int64_t>(n) * k_; ++i) {
    double value[2];
    for (int a = 0; a < 2; ++a) {
      const float* l = data[a] + i * bins[a];
      const int64_t idx = ArgMaxFirst(l, bins[a]);
      const double peak = l[idx];
      if (params_.normalize) {  // softmax probability at the peak = 1 / sum exp(l - l_max)
        // exp in float (vectorised, ~1e-7 relative, no libm underflow slow path), summed in double lanes.
        fscratch_.resize(static_cast<size_t>(bins[a]));
        ExpShifted(l, bins[a], l[idx], fscratch_.data());
        double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int32_t b = 0;
        for (; b + 8 <= bins[a]; b += 8) {
          for (int q = 0; q < 8; ++q) part[q] += fscratch_[b + q];
        }
        for (; b < bins[a]; ++b) part[0] += fscratch_[b];
        double sum = 0.0;
        for (double p : part) sum += p;
        value[a] = 1.0 / sum;
      } else {
        value[a] = peak;
      }
      out->xy[2 * i + a] = static_cast<double>(idx) / params_.split_ratio;
    }
    out->scores[i] = std::min(value[0], value[1]);
  }
}

void Codec::DecodeHeatmap(const float* hm, int32_t n, Decoded* out) {
  const int32_t h = params_.heatmap_height, w = params_.heatmap_width;
  const int64_t plane = static_cast<int64_t>(h) * w;
  const double stride[2] = {static_cast<double>(in_w_) / w, static_cast<double>(in_h_) / h};
  const int32_t ks = static_cast<int32_t>(kernel_.size()), r = (ks - 1) / 2;
  for (int64_t i = 0; i < static_cast<int64_t>(n) * k_; ++i) {
    const float* map = hm + i * plane;
    const int64_t idx = ArgMaxFirst(map, plane);
    const double maxval = map[idx];
    double cx = static_cast<double>(idx % w), cy = static_cast<double>(idx / w);
    if (maxval <= 0) cx = cy = 0.0;
    const int32_t px = static_cast<int32_t>(cx), py = static_cast<int32_t>(cy);
    auto at = [&](int32_t yy, int32_t xx) { return static_cast<double>(map[static_cast<int64_t>(yy) * w + xx]); };
    if (params_.refine == Refine::kQuarterOffset) {
      if (px > 1 && px < w - 1 && py > 1 && py < h - 1) {
        const double d[2] = {at(py, px + 1) - at(py, px - 1), at(py + 1, px) - at(py - 1, px)};
        cx += (d[0] > 0 ? 0.25 : d[0] < 0 ? -0.25 : 0.0);
        cy += (d[1] > 0 ? 0.25 : d[1] < 0 ? -0.25 : 0.0);
      }
    } else if (params_.refine == Refine::kDark && px > 1 && px < w - 2 && py > 1 && py < h - 2) {
      // Blurred values at the 13 points the Taylor step reads: (dy, dx) offsets from the peak.
      static const int32_t kPts[13][2] = {{0, 0}, {0, 1},  {0, -1}, {1, 0},  {-1, 0}, {0, 2},  {0, -2},
                                          {2, 0}, {-2, 0}, {1, 1},  {-1, 1}, {1, -1}, {-1, -1}};
      double b[13];
      bool fast = true;
      for (int p = 0; p < 13; ++p) {
        const int32_t yy = py + kPts[p][0], xx = px + kPts[p][1];
        double acc = 0.0;
        for (int32_t t = 0; t < ks; ++t) {
          const int32_t ii = yy + t - r;
          if (ii < 0 || ii >= h) continue;
          double row = 0.0;
          for (int32_t s = 0; s < ks; ++s) {
            const int32_t jj = xx + s - r;
            if (jj >= 0 && jj < w) row += kernel_[s] * at(ii, jj);
          }
          acc += kernel_[t] * row;
        }
        b[p] = acc;
        fast = fast && acc > kFastFloor;
      }
      double L[13];
      if (fast) {
        for (int p = 0; p < 13; ++p) L[p] = std::log(b[p]);
      } else {  // a value near the floor: the rescale ratio matters, blur the whole map as the reference
        scratch_.resize(static_cast<size_t>(plane));
        GaussianBlur(map, h, w, kernel_, scratch_.data());
        for (int p = 0; p < 13; ++p) {
          const double v = scratch_[static_cast<size_t>(py + kPts[p][0]) * w + px + kPts[p][1]];
          L[p] = std::log(std::max(v, kLogFloor));
        }
      }
      const double center = L[0];
      const double dx = 0.5 * (L[1] - L[2]);
      const double dy = 0.5 * (L[3] - L[4]);
      const double dxx = 0.25 * (L[5] - 2 * center + L[6]);
      const double dxy = 0.25 * (L[9] - L[10] - L[11] + L[12]);
      const double dyy = 0.25 * (L[7] - 2 * center + L[8]);
      const double det = dxx * dyy - dxy * dxy;
      if (det != 0) {
        cx += -(dyy * dx - dxy * dy) / det;
        cy += -(dxx * dy - dxy * dx) / det;
      }
    }
    out->xy[2 * i] = cx * stride[0];
    out->xy[2 * i + 1] = cy * stride[1];
    out->scores[i] = maxval;
  }
}

Status Codec::DecodeIntegral(const float* vol, int32_t n, Decoded* out) {
  const int32_t d = params_.depth_bins, h = params_.heatmap_height, w = params_.heatmap_width;
  const int64_t plane = static_cast<int64_t>(h) * w, per_joint = d * plane;
  const int64_t joints = static_cast<int64_t>(n) * k_;
  out->z.assign(static_cast<size_t>(joints), 0.0);
  // Joints are independent: with threads_ > 1 and volumes big enough to pay for a thread start, joint j runs
  // on worker j % T, each worker with its own scratch. Every joint's arithmetic is the same as on one thread,
  // so the results are too.
  int64_t workers = std::min<int64_t>(threads_, joints);
  workers = std::max<int64_t>(1, std::min<int64_t>(workers, joints * per_joint / min_voxels_per_thread_));
  if (static_cast<int64_t>(integral_scratch_.size()) < workers) integral_scratch_.resize(workers);
  std::vector<int64_t> bad(static_cast<size_t>(workers), -1);  // first non-finite joint per worker
  auto run = [&](int64_t worker) {
    IntegralScratch& s = integral_scratch_[worker];
    for (int64_t j = worker; j < joints; j += workers) {
      if (!DecodeIntegralJoint(vol + j * per_joint, j, &s, out)) {
        bad[worker] = j;
        return;
      }
    }
  };
  if (workers == 1) {
    run(0);
  } else {
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(workers - 1));
    for (int64_t t = 1; t < workers; ++t) pool.emplace_back(run, t);
    run(0);
    for (auto& t : pool) t.join();
  }
  int64_t first = -1;
  for (int64_t b : bad) {
    if (b >= 0 && (first < 0 || b < first)) first = b;
  }
  if (first >= 0) {
    int64_t at = 0;
    AllFinite(vol + first * per_joint, per_joint, &at);
    return Numeric("output 'volumetric' contains NaN or inf (first at flat index " +
                   std::to_string(first * per_joint + at) + ")");
  }
  return Status::Ok();
}

bool Codec::DecodeIntegralJoint(const float* v, int64_t j, IntegralScratch* s, Decoded* out) const {
  const int32_t d = params_.depth_bins, h = params_.heatmap_height, w = params_.heatmap_width;
  const int64_t plane = static_cast<int64_t>(h) * w, per_joint = d * plane;
  const double stride[2] = {static_cast<double>(in_w_) / w, static_cast<double>(in_h_) / h};
  bool finite = true;
  const float top = MaxFinite(v, per_joint, &finite);  // one pass: max and the NaN/inf check
  if (!finite) return false;
  s->marginals.assign(static_cast<size_t>(plane) + w + d, 0.0);
  s->exps.resize(static_cast<size_t>(plane));
  double* m2d = s->marginals.data();  // (Hh, Wh) marginal over depth (unnormalised)
  double* mx = m2d + plane;
  double* mz = mx + w;
  // Per depth slice, in chunks of kChunk voxels: exp (float, vectorised) accumulated lane-wise in double
  // into the 2-D marginal and 8 partial sums of the slice. A chunk whose largest logit is more than 50 below
  // the peak is skipped: its terms (< e^-50 each, ~2e-22) are below the double rounding of the sums (>= 1,
  // the peak's own term), so this changes nothing but the time on peaked volumes.
  constexpr int64_t kChunk = 32;
  float* e = s->exps.data();
  for (int32_t dd = 0; dd < d; ++dd) {
    const float* slice_v = v + dd * plane;
    double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t c0 = 0; c0 < plane; c0 += kChunk) {
      const int64_t len = std::min(kChunk, plane - c0);
      if (MaxOf(slice_v + c0, len) < top - 50.0f) continue;
      ExpShifted(slice_v + c0, static_cast<int32_t>(len), top, e);
      double* acc = m2d + c0;
      int64_t i = 0;
      for (; i + 8 <= len; i += 8) {
        for (int q = 0; q < 8; ++q) {
          acc[i + q] += e[i + q];
          part[q] += e[i + q];
        }
      }
      for (; i < len; ++i) {
        acc[i] += e[i];
        part[0] += e[i];
      }
    }
    double slice = 0.0;
    for (double p : part) slice += p;
    mz[dd] = slice;
  }
  double total = 0.0, ey = 0.0, peak = 0.0;
  for (int32_t hh = 0; hh < h; ++hh) {
    double row = 0.0;
    for (int32_t ww = 0; ww < w; ++ww) {
      const double m = m2d[static_cast<size_t>(hh) * w + ww];
      mx[ww] += m;
      row += m;
      peak = std::max(peak, m);
    }
    ey += hh * row;
    total += row;
  }
  double ex = 0.0, ez = 0.0;
  for (int32_t ww = 0; ww < w; ++ww) ex += ww * mx[ww];
  for (int32_t dd = 0; dd < d; ++dd) ez += dd * mz[dd];
  out->xy[2 * j] = ex / total * stride[0];
  out->xy[2 * j + 1] = ey / total * stride[1];
  out->z[j] = ez / total;
  out->scores[j] = peak / total;
  return true;
}

Status Codec::FlipMerge(const float* const* outputs, const float* const* flipped, int32_t n,
                        const std::vector<std::pair<int32_t, int32_t>>& flip_pairs,
                        std::vector<std::vector<float>>* merged) {
  std::vector<int32_t> perm;
  MSDK_RETURN_IF_ERROR(Permutation(flip_pairs, k_, &perm));
  const auto& roles = RoleNames(params_.kind);
  for (size_t r = 0; r < roles.size(); ++r) {
    int64_t bad = -1;
    const int64_t count = n * RoleCount(static_cast<int>(r));
    if (!AllFinite(outputs[r], count, &bad) || !AllFinite(flipped[r], count, &bad)) {
      return Numeric("output '" + roles[r] + "' contains NaN or inf");
    }
  }
  merged->assign(roles.size(), {});
  if (params_.kind == CodecKind::kSimCC) {
    const int32_t bins[2] = {bins_x_, bins_y_};
    std::vector<float> un;
    std::vector<double> pa, pb;
    for (int a = 0; a < 2; ++a) {
      const int32_t b = bins[a];
      auto& m = (*merged)[a];
      m.resize(static_cast<size_t>(n) * k_ * b);
      un.resize(b);
      pa.resize(b);
      pb.resize(b);
      for (int32_t i = 0; i < n; ++i) {
        for (int32_t k = 0; k < k_; ++k) {
          const float* src = flipped[a] + (static_cast<int64_t>(i) * k_ + perm[k]) * b;
          for (int32_t t = 0; t < b; ++t) un[t] = a == 0 ? src[b - 1 - t] : src[t];
          if (a == 0 && params_.flip_shift) {
            for (int32_t t = 0; t + 1 < b; ++t) un[t] = un[t + 1];
          }
          const float* plain = outputs[a] + (static_cast<int64_t>(i) * k_ + k) * b;
          float* dst = m.data() + (static_cast<int64_t>(i) * k_ + k) * b;
          if (!params_.flip_average_softmax) {
            for (int32_t t = 0; t < b; ++t) dst[t] = static_cast<float>((double(plain[t]) + un[t]) * 0.5);
            continue;
          }
          Softmax(plain, b, pa.data());
          Softmax(un.data(), b, pb.data());
          for (int32_t t = 0; t < b; ++t) {
            const double v = (pa[t] + pb[t]) * 0.5;
            dst[t] = static_cast<float>(params_.normalize ? std::log(std::max(v, kTiny)) : v);
          }
        }
      }
    }
    return Status::Ok();
  }
  const int32_t h = params_.heatmap_height, w = params_.heatmap_width;
  if (params_.kind == CodecKind::kHeatmap) {
    auto& m = (*merged)[0];
    const int64_t plane = static_cast<int64_t>(h) * w;
    m.resize(static_cast<size_t>(n) * k_ * plane);
    std::vector<double> un(w);
    for (int32_t i = 0; i < n; ++i) {
      for (int32_t k = 0; k < k_; ++k) {
        const float* src = flipped[0] + (static_cast<int64_t>(i) * k_ + perm[k]) * plane;
        const float* plain = outputs[0] + (static_cast<int64_t>(i) * k_ + k) * plane;
        float* dst = m.data() + (static_cast<int64_t>(i) * k_ + k) * plane;
        for (int32_t y = 0; y < h; ++y) {
          for (int32_t x = 0; x < w; ++x) un[x] = src[y * w + (w - 1 - x)];
          if (params_.shift_flip) {
            for (int32_t x = w - 1; x >= 1; --x) un[x] = un[x - 1];
          }
          for (int32_t x = 0; x < w; ++x) dst[y * w + x] = static_cast<float>((plain[y * w + x] + un[x]) * 0.5);
        }
      }
    }
    return Status::Ok();
  }
  const int32_t d = params_.depth_bins;
  const int64_t per_joint = static_cast<int64_t>(d) * h * w;
  auto& m = (*merged)[0];
  m.resize(static_cast<size_t>(n) * k_ * per_joint);
  std::vector<double> pa(per_joint), pb(per_joint);
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t k = 0; k < k_; ++k) {
      Softmax(outputs[0] + (static_cast<int64_t>(i) * k_ + k) * per_joint, per_joint, pa.data());
      Softmax(flipped[0] + (static_cast<int64_t>(i) * k_ + perm[k]) * per_joint, per_joint, pb.data());
      float* dst = m.data() + (static_cast<int64_t>(i) * k_ + k) * per_joint;
      for (int64_t row = 0; row < static_cast<int64_t>(d) * h; ++row) {
        for (int32_t x = 0; x < w; ++x) {
          const double v = (pa[row * w + x] + pb[row * w + (w - 1 - x)]) * 0.5;
          dst[row * w + x] = static_cast<float>(std::log(std::max(v, kTiny)));
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace msdk
