#include "preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace msdk {
namespace {

const char* FormatName(PixelFormat f) {
  switch (f) {
    case PixelFormat::kRGB888: return "rgb";
    case PixelFormat::kRGBA8888: return "rgba";
    case PixelFormat::kBGRA8888: return "bgra";
    case PixelFormat::kNV21: return "nv21";
    case PixelFormat::kYUV420: return "yuv420";
  }
  return "?";
}

bool IsYuv(PixelFormat f) { return f == PixelFormat::kNV21 || f == PixelFormat::kYUV420; }

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// JFIF (full-range BT.601) YUV -> RGB, as mobilesdk.preprocess.YUV_TO_RGB.
constexpr float kCr = 1.402f, kCgU = -0.344136f, kCgV = -0.714136f, kCb = 1.772f;

inline float Clamp255(float v) { return std::min(std::max(v, 0.0f), 255.0f); }

}  // namespace

Status CheckFrame(const FrameView& frame) {
  const PixelFormat fmt = frame.format;
  const int f = static_cast<int>(fmt);
  if (f < 1 || f > 5) return InvalidArgument("unknown pixel format " + std::to_string(f) + " (1..5)");
  const char* name = FormatName(fmt);
  const int64_t w = frame.width, h = frame.height;
  if (w <= 0 || h <= 0) {
    return InvalidArgument(std::string("frame size ") + std::to_string(w) + "x" + std::to_string(h) +
                           ": width and height must be > 0");
  }
  const int want_planes = fmt == PixelFormat::kNV21 ? 2 : fmt == PixelFormat::kYUV420 ? 3 : 1;
  if (frame.num_planes != want_planes) {
    return InvalidArgument(std::string("a ") + name + " frame has " + std::to_string(want_planes) + " plane(s), got " +
                           std::to_string(frame.num_planes));
  }
  if (IsYuv(fmt) && (w % 2 || h % 2)) {
    return InvalidArgument(std::string(name) + " frame size " + std::to_string(w) + "x" + std::to_string(h) +
                           ": width and height must be even");
  }
  if (frame.rotation != 0 && frame.rotation != 90 && frame.rotation != 180 && frame.rotation != 270) {
    return InvalidArgument("rotation " + std::to_string(frame.rotation) + ": must be one of 0, 90, 180, 270");
  }
  struct Layout1 {
    int64_t rows, cols, pixel_stride /* -1: any */, sample;
  } layout[3];
  if (fmt == PixelFormat::kNV21) {
    layout[0] = {h, w, 1, 1};
    layout[1] = {h / 2, w / 2, 2, 2};
  } else if (fmt == PixelFormat::kYUV420) {
    layout[0] = {h, w, -1, 1};
    layout[1] = {h / 2, w / 2, -1, 1};
    layout[2] = {h / 2, w / 2, -1, 1};
  } else {
    const int64_t bpp = fmt == PixelFormat::kRGB888 ? 3 : 4;
    layout[0] = {h, w, bpp, bpp};
  }
  for (int i = 0; i < want_planes; ++i) {
    const PlaneView& p = frame.planes[i];
    const Layout1& l = layout[i];
    const std::string where = std::string(name) + " plane " + std::to_string(i);
    if (p.data == nullptr) return InvalidArgument(where + ": data is null");
    if (l.pixel_stride >= 0 && p.pixel_stride != l.pixel_stride) {
      return InvalidArgument(where + ": pixel stride must be " + std::to_string(l.pixel_stride) + ", got " +
                             std::to_string(p.pixel_stride));
    }
    if (p.pixel_stride < 1) {
      return InvalidArgument(where + ": pixel stride " + std::to_string(p.pixel_stride) + " must be >= 1");
    }
    const int64_t row_bytes = (l.cols - 1) * p.pixel_stride + l.sample;
    if (p.row_stride < row_bytes) {
      return InvalidArgument(where + ": row stride " + std::to_string(p.row_stride) + " is smaller than a row (" +
                             std::to_string(l.cols) + " pixels x " + std::to_string(p.pixel_stride) + " bytes)");
    }
    const int64_t need = (l.rows - 1) * p.row_stride + row_bytes;
    if (static_cast<uint64_t>(p.size) < static_cast<uint64_t>(need)) {
      return InvalidArgument(where + ": " + std::to_string(p.size) + " bytes, a " + std::to_string(w) + "x" +
                             std::to_string(h) + " frame needs " + std::to_string(need));
    }
  }
  return Status::Ok();
}

void UprightSize(const FrameView& frame, int32_t* width, int32_t* height) {
  const bool swap = frame.rotation == 90 || frame.rotation == 270;
  *width = swap ? frame.height : frame.width;
  *height = swap ? frame.width : frame.height;
}

Status CheckRoi(const Rect& roi, int32_t width, int32_t height) {
  const double v[4] = {roi.left, roi.top, roi.right, roi.bottom};
  const std::string text = "roi [" + Num(v[0]) + ", " + Num(v[1]) + ", " + Num(v[2]) + ", " + Num(v[3]) + "]";
  for (double x : v) {
    if (!std::isfinite(x)) return InvalidArgument(text + ": must be 4 finite numbers (left, top, right, bottom)");
  }
  if (!(roi.right > roi.left) || !(roi.bottom > roi.top)) {
    return InvalidArgument(text + ": right must exceed left and bottom must exceed top");
  }
  if (std::min<double>(roi.right, width) <= std::max(roi.left, 0.0) ||
      std::min<double>(roi.bottom, height) <= std::max(roi.top, 0.0)) {
    return InvalidArgument(text + ": lies outside the " + std::to_string(width) + "x" + std::to_string(height) +
                           " frame");
  }
  return Status::Ok();
}

Status CropMatrix(const InputSpec& spec, int32_t width, int32_t height, const Rect* roi, Affine* out) {
  const double w_in = spec.width, h_in = spec.height;
  Rect box{0.0, 0.0, static_cast<double>(width), static_cast<double>(height)};
  if (roi != nullptr) {
    MSDK_RETURN_IF_ERROR(CheckRoi(*roi, width, height));
    box = *roi;
  }
  double bw = box.right - box.left, bh = box.bottom - box.top;
  if (spec.resize == Resize::kStretch) {
    const double sx = w_in / bw, sy = h_in / bh;
    *out = Affine{{sx, 0.0, (0.5 - box.left) * sx - 0.5, 0.0, sy, (0.5 - box.top) * sy - 0.5}};
    return Status::Ok();
  }
  const double aspect = w_in / h_in;
  if (bw > aspect * bh) {  // grow the short side to the input aspect; never squash the person
    bh = bw / aspect;
  } else {
    bw = bh * aspect;
  }
  if (roi != nullptr && spec.resize == Resize::kAffine) bw *= spec.roi_padding;
  const double s = w_in / bw;
  const double cx = (box.left + box.right) / 2.0, cy = (box.top + box.bottom) / 2.0;
  *out = Affine{{s, 0.0, w_in / 2.0 - s * cx, 0.0, s, h_in / 2.0 - s * cy}};
  return Status::Ok();
}

bool InvertAffine(const Affine& a, Affine* inv) {
  const double* m = a.m;
  const double det = m[0] * m[4] - m[1] * m[3];
  if (!(det != 0.0) || !std::isfinite(det)) return false;
  const double i00 = m[4] / det, i01 = -m[1] / det, i10 = -m[3] / det, i11 = m[0] / det;
  *inv = Affine{{i00, i01, -(i00 * m[2] + i01 * m[5]), i10, i11, -(i10 * m[2] + i11 * m[5])}};
  return true;
}

namespace {

// How one upright axis maps onto the stored planes: upright coordinate i -> stored coordinate
// (reversed ? extent - 1 - i : i) along the stored rows (to_row) or columns.
struct AxisMap {
  bool to_row;
  bool reversed;
  int64_t extent;     // stored extent along that axis
  int32_t upright;    // upright extent of this axis (tap validity)
  int64_t stride[3];  // per internal plane: row stride (to_row) or pixel stride
  bool chroma[3];     // plane sampled at half resolution
};

AxisMap MakeAxis(const FrameView& f, bool upright_x, const int64_t rs[3], const int64_t ps[3], int nplanes) {
  AxisMap a{};
  const int r = f.rotation;
  // rot 0: x->col, y->row; 90: x->row reversed, y->col; 180: x->col rev, y->row rev; 270: x->row, y->col rev.
  if (upright_x) {
    a.to_row = (r == 90 || r == 270);
    a.reversed = (r == 90 || r == 180);
  } else {
    a.to_row = (r == 0 || r == 180);
    a.reversed = (r == 180 || r == 270);
  }
  a.extent = a.to_row ? f.height : f.width;
  a.upright = static_cast<int32_t>(a.extent);
  for (int p = 0; p < 3; ++p) {
    a.stride[p] = p < nplanes ? (a.to_row ? rs[p] : ps[p]) : 0;
    a.chroma[p] = IsYuv(f.format) && p > 0;
  }
  return a;
}

inline void AxisOffsets(const AxisMap& a, int64_t i, int64_t off[3]) {
  const int64_t s = a.reversed ? a.extent - 1 - i : i;
  for (int p = 0; p < 3; ++p) off[p] = (a.chroma[p] ? (s >> 1) : s) * a.stride[p];
}

// Bilinear taps of one coordinate along an axis: floor, fraction, out-of-frame taps weighted 0 (black).
template <typename TapT>
inline void MakeTap(const AxisMap& a, double coord, TapT* t) {
  const double c0 = std::floor(coord);
  const double frac = coord - c0;
  const double w[2] = {1.0 - frac, frac};
  for (int k = 0; k < 2; ++k) {
    const double ci = c0 + k;
    if (ci >= 0.0 && ci < a.upright) {
      AxisOffsets(a, static_cast<int64_t>(ci), t->off[k]);
      t->w[k] = static_cast<float>(w[k]);
    } else {
      for (int p = 0; p < 3; ++p) t->off[k][p] = 0;
      t->w[k] = 0.0f;
    }
  }
}

struct Planes {
  const uint8_t* base[3];  // Y|packed, U, V
};

inline void YuvToRgb(uint8_t y8, uint8_t u8, uint8_t v8, float* r, float* g, float* b) {
  const float y = y8, u = static_cast<float>(u8) - 128.0f, v = static_cast<float>(v8) - 128.0f;
  *r = Clamp255(y + kCr * v);
  *g = Clamp255(y + kCgU * u + kCgV * v);
  *b = Clamp255(y + kCb * u);
}

template <PixelFormat F>
inline void Fetch(const Planes& pl, const int64_t* ox, const int64_t* oy, float* rgb) {
  if constexpr (F == PixelFormat::kNV21 || F == PixelFormat::kYUV420) {
    YuvToRgb(pl.base[0][ox[0] + oy[0]], pl.base[1][ox[1] + oy[1]], pl.base[2][ox[2] + oy[2]], rgb, rgb + 1, rgb + 2);
  } else {
    const uint8_t* p = pl.base[0] + ox[0] + oy[0];
    if constexpr (F == PixelFormat::kBGRA8888) {
      rgb[0] = p[2];
      rgb[1] = p[1];
      rgb[2] = p[0];
    } else {
      rgb[0] = p[0];
      rgb[1] = p[1];
      rgb[2] = p[2];
    }
  }
}

template <PixelFormat F, typename TapT>
inline void Sample(const Planes& pl, const TapT& tx, const TapT& ty, float* out) {
  float p00[3], p01[3], p10[3], p11[3];
  Fetch<F>(pl, tx.off[0], ty.off[0], p00);
  Fetch<F>(pl, tx.off[1], ty.off[0], p01);
  Fetch<F>(pl, tx.off[0], ty.off[1], p10);
  Fetch<F>(pl, tx.off[1], ty.off[1], p11);
  for (int c = 0; c < 3; ++c) {
    const float top = tx.w[0] * p00[c] + tx.w[1] * p01[c];
    const float bottom = tx.w[0] * p10[c] + tx.w[1] * p11[c];
    out[c] = ty.w[0] * top + ty.w[1] * bottom;
  }
}

struct GeneralTap {
  int64_t off[2][3];
  float w[2];
};

template <PixelFormat F>
void SampleRowGeneral(const Planes& pl, const AxisMap& ax, const AxisMap& ay, const Affine& inv, int32_t v,
                      int32_t width, float* row) {
  const double x_row = inv.m[1] * v + inv.m[2], y_row = inv.m[4] * v + inv.m[5];
  for (int32_t u = 0; u < width; ++u) {
    GeneralTap tx, ty;
    MakeTap(ax, x_row + inv.m[0] * u, &tx);
    MakeTap(ay, y_row + inv.m[3] * u, &ty);
    Sample<F>(pl, tx, ty, row + 3 * u);
  }
}

// One output row from planar R, G, B in [0, 255]: colour order, normalisation or rounding, layout.
void WriteRow(const InputSpec& spec, const float* const rgb[3], int32_t v, void* out) {
  const int32_t w = spec.width, h = spec.height;
  const float* src[3] = {rgb[spec.bgr ? 2 : 0], rgb[1], rgb[spec.bgr ? 0 : 2]};
  for (int c = 0; c < 3; ++c) {
    const float* __restrict x = src[c];
    if (spec.dtype == DType::kUInt8) {
      uint8_t* o = static_cast<uint8_t*>(out);
      // floor(x + 0.5) of x in [0, 255]: truncation is floor for non-negative values.
      if (spec.layout == Layout::kNCHW) {
        uint8_t* __restrict dst = o + (static_cast<size_t>(c) * h + v) * w;
        for (int32_t u = 0; u < w; ++u) dst[u] = static_cast<uint8_t>(std::min(static_cast<int>(x[u] + 0.5f), 255));
      } else {
        uint8_t* __restrict dst = o + static_cast<size_t>(v) * w * 3 + c;
        for (int32_t u = 0; u < w; ++u) dst[3 * u] = static_cast<uint8_t>(std::min(static_cast<int>(x[u] + 0.5f), 255));
      }
      continue;
    }
    const float mean = static_cast<float>(spec.mean[c]);
    const float inv_std = static_cast<float>(1.0 / spec.std[c]);
    float* o = static_cast<float*>(out);
    if (spec.layout == Layout::kNCHW) {
      float* __restrict dst = o + (static_cast<size_t>(c) * h + v) * w;
      for (int32_t u = 0; u < w; ++u) dst[u] = (x[u] - mean) * inv_std;
    } else {
      float* __restrict dst = o + static_cast<size_t>(v) * w * 3 + c;
      for (int32_t u = 0; u < w; ++u) dst[3 * u] = (x[u] - mean) * inv_std;
    }
  }
}

// The separable path's arithmetic over one gathered row: g[t][k][u] holds sample k (R, G, B or Y, U, V) of
// tap t (00, 01, 10, 11) for output column u. Contiguous arrays, no branches: the compiler vectorises it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(MSDK_NO_TARGET_CLONES)
__attribute__((target_clones("avx2", "default")))
#endif
void BlendRow(bool yuv, const uint8_t* const* g, const float* __restrict wx0, const float* __restrict wx1, float wy0,
              float wy1, int32_t w, float* __restrict r, float* __restrict gr, float* __restrict b) {
  const uint8_t* __restrict s00 = g[0], * __restrict s01 = g[1], * __restrict s02 = g[2];
  const uint8_t* __restrict s10 = g[3], * __restrict s11 = g[4], * __restrict s12 = g[5];
  const uint8_t* __restrict s20 = g[6], * __restrict s21 = g[7], * __restrict s22 = g[8];
  const uint8_t* __restrict s30 = g[9], * __restrict s31 = g[10], * __restrict s32 = g[11];
  if (yuv) {
    for (int32_t u = 0; u < w; ++u) {
      float r0, g0, b0, r1, g1, b1, r2, g2, b2, r3, g3, b3;
      YuvToRgb(s00[u], s01[u], s02[u], &r0, &g0, &b0);
      YuvToRgb(s10[u], s11[u], s12[u], &r1, &g1, &b1);
      YuvToRgb(s20[u], s21[u], s22[u], &r2, &g2, &b2);
      YuvToRgb(s30[u], s31[u], s32[u], &r3, &g3, &b3);
      r[u] = wy0 * (wx0[u] * r0 + wx1[u] * r1) + wy1 * (wx0[u] * r2 + wx1[u] * r3);
      gr[u] = wy0 * (wx0[u] * g0 + wx1[u] * g1) + wy1 * (wx0[u] * g2 + wx1[u] * g3);
      b[u] = wy0 * (wx0[u] * b0 + wx1[u] * b1) + wy1 * (wx0[u] * b2 + wx1[u] * b3);
    }
    return;
  }
  for (int32_t u = 0; u < w; ++u) {
    r[u] = wy0 * (wx0[u] * s00[u] + wx1[u] * s10[u]) + wy1 * (wx0[u] * s20[u] + wx1[u] * s30[u]);
    gr[u] = wy0 * (wx0[u] * s01[u] + wx1[u] * s11[u]) + wy1 * (wx0[u] * s21[u] + wx1[u] * s31[u]);
    b[u] = wy0 * (wx0[u] * s02[u] + wx1[u] * s12[u]) + wy1 * (wx0[u] * s22[u] + wx1[u] * s32[u]);
  }
}

}  // namespace

void Preprocessor::Warp(const InputSpec& spec, const FrameView& frame, const Affine& matrix, void* out,
                        bool force_general) {
  Affine inv;
  if (!InvertAffine(matrix, &inv)) inv = Affine{{0, 0, -1e300, 0, 0, -1e300}};  // all taps outside: black
  int64_t rs[3] = {0, 0, 0}, ps[3] = {0, 0, 0};
  Planes pl{};
  int nplanes = 1;
  pl.base[0] = frame.planes[0].data;
  rs[0] = frame.planes[0].row_stride;
  ps[0] = frame.planes[0].pixel_stride;
  if (frame.format == PixelFormat::kNV21) {  // V, U interleaved in plane 1: U is the byte after V
    nplanes = 3;
    pl.base[2] = frame.planes[1].data;
    pl.base[1] = frame.planes[1].data + 1;
    rs[1] = rs[2] = frame.planes[1].row_stride;
    ps[1] = ps[2] = frame.planes[1].pixel_stride;
  } else if (frame.format == PixelFormat::kYUV420) {
    nplanes = 3;
    for (int p = 1; p < 3; ++p) {
      pl.base[p] = frame.planes[p].data;
      rs[p] = frame.planes[p].row_stride;
      ps[p] = frame.planes[p].pixel_stride;
    }
  }
  const AxisMap ax = MakeAxis(frame, true, rs, ps, nplanes);
  const AxisMap ay = MakeAxis(frame, false, rs, ps, nplanes);
  const int32_t w = spec.width, h = spec.height;
  row_.resize(static_cast<size_t>(w) * 6);
  float* planar[3] = {row_.data(), row_.data() + w, row_.data() + 2 * w};
  const bool separable = !force_general && inv.m[1] == 0.0 && inv.m[3] == 0.0;
  if (!separable) {
    float* rgb = row_.data() + 3 * static_cast<size_t>(w);
    for (int32_t v = 0; v < h; ++v) {
      switch (frame.format) {
#define MSDK_ROW(F) \
  case F: SampleRowGeneral<F>(pl, ax, ay, inv, v, w, rgb); break;
        MSDK_ROW(PixelFormat::kRGB888)
        MSDK_ROW(PixelFormat::kRGBA8888)
        MSDK_ROW(PixelFormat::kBGRA8888)
        MSDK_ROW(PixelFormat::kNV21)
        MSDK_ROW(PixelFormat::kYUV420)
#undef MSDK_ROW
      }
      for (int32_t u = 0; u < w; ++u) {
        for (int c = 0; c < 3; ++c) planar[c][u] = rgb[3 * u + c];
      }
      WriteRow(spec, planar, v, out);
    }
    return;
  }
  // Separable: column taps once per call; per row, gather the 4 taps' samples into contiguous arrays, then
  // blend them in a vectorised pass.
  xs_.resize(w);
  ys_.resize(h);
  for (int32_t u = 0; u < w; ++u) MakeTap(ax, inv.m[0] * u + inv.m[2], &xs_[u]);
  for (int32_t v = 0; v < h; ++v) MakeTap(ay, inv.m[4] * v + inv.m[5], &ys_[v]);
  wx_.resize(2 * static_cast<size_t>(w));
  for (int32_t u = 0; u < w; ++u) {
    wx_[u] = xs_[u].w[0];
    wx_[w + u] = xs_[u].w[1];
  }
  gather_.resize(12 * static_cast<size_t>(w));
  const uint8_t* g[12];
  for (int t = 0; t < 12; ++t) g[t] = gather_.data() + static_cast<size_t>(t) * w;
  const bool yuv = IsYuv(frame.format);
  // Byte order of R, G, B within a packed pixel.
  const int order[3] = {frame.format == PixelFormat::kBGRA8888 ? 2 : 0, 1,
                        frame.format == PixelFormat::kBGRA8888 ? 0 : 2};
  for (int32_t v = 0; v < h; ++v) {
    const Tap& ty = ys_[v];
    if (ty.w[0] == 0.0f && ty.w[1] == 0.0f) {  // the whole row samples outside the frame: black
      for (int c = 0; c < 3; ++c) std::fill(planar[c], planar[c] + w, 0.0f);
      WriteRow(spec, planar, v, out);
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 2; ++j) {
        uint8_t* dst[3];
        for (int k = 0; k < 3; ++k) dst[k] = gather_.data() + static_cast<size_t>((2 * i + j) * 3 + k) * w;
        if (yuv) {
          const uint8_t* py = pl.base[0] + ty.off[i][0];
          const uint8_t* pu = pl.base[1] + ty.off[i][1];
          const uint8_t* pv = pl.base[2] + ty.off[i][2];
          for (int32_t u = 0; u < w; ++u) {
            const int64_t* o = xs_[u].off[j];
            dst[0][u] = py[o[0]];
            dst[1][u] = pu[o[1]];
            dst[2][u] = pv[o[2]];
          }
        } else {
          const uint8_t* p0 = pl.base[0] + ty.off[i][0];
          for (int32_t u = 0; u < w; ++u) {
            const uint8_t* px = p0 + xs_[u].off[j][0];
            dst[0][u] = px[order[0]];
            dst[1][u] = px[order[1]];
            dst[2][u] = px[order[2]];
          }
        }
      }
    }
    BlendRow(yuv, g, wx_.data(), wx_.data() + w, ty.w[0], ty.w[1], w, planar[0], planar[1], planar[2]);
    WriteRow(spec, planar, v, out);
  }
}

Status Preprocessor::Run(const InputSpec& spec, const FrameView& frame, const Rect* roi, void* out, size_t out_size,
                         Affine* affine) {
  MSDK_RETURN_IF_ERROR(CheckFrame(frame));
  if (out == nullptr) return InvalidArgument("input buffer is null");
  if (out_size != spec.bytes()) {
    return InvalidArgument("input buffer has " + std::to_string(out_size) + " bytes, the model input needs " +
                           std::to_string(spec.bytes()));
  }
  if (spec.dtype == DType::kFloat32 && reinterpret_cast<uintptr_t>(out) % alignof(float) != 0) {
    return InvalidArgument("float32 input buffer is not 4-byte aligned");
  }
  int32_t up_w = 0, up_h = 0;
  UprightSize(frame, &up_w, &up_h);
  Affine a;
  MSDK_RETURN_IF_ERROR(CropMatrix(spec, up_w, up_h, roi, &a));
  Warp(spec, frame, a, out);
  if (affine != nullptr) *affine = a;
  return Status::Ok();
}

}  // namespace msdk
