// Preprocessing: a camera frame or image -> the model input, equal to mobilesdk/preprocess.py.
//
// Steps (the reference's module docstring defines each): frame -> RGB (JFIF YUV, nearest chroma), clockwise
// rotation to upright, crop matrix A (upright-frame px -> model-input px), bilinear warp with black outside
// (source points in double), colour order, float32 (x - mean) / std or uint8 floor(x + 0.5), NCHW or NHWC.
//
// The frame is never converted or rotated as a whole: each output pixel's four taps are read from the stored
// planes directly (rotation is an index permutation), and for the axis-aligned crop matrices the taps and
// weights of a column (and of a row) are computed once per call.
#ifndef MSDK_PREPROCESS_H_
#define MSDK_PREPROCESS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "status.h"

namespace msdk {

enum class PixelFormat { kRGB888 = 1, kRGBA8888 = 2, kBGRA8888 = 3, kNV21 = 4, kYUV420 = 5 };
enum class Layout { kNCHW, kNHWC };
enum class DType { kFloat32, kUInt8 };
enum class Resize { kAffine, kLetterbox, kStretch };

struct PlaneView {
  const uint8_t* data = nullptr;
  size_t size = 0;
  int64_t row_stride = 0;
  int64_t pixel_stride = 0;
};

struct FrameView {
  PixelFormat format = PixelFormat::kRGB888;
  int32_t width = 0;  // as stored
  int32_t height = 0;
  int32_t num_planes = 0;
  PlaneView planes[3];
  int32_t rotation = 0;  // clockwise degrees that make the frame upright
};

// The manifest's input entry (the fields preprocessing reads).
struct InputSpec {
  int32_t width = 0;  // model input size
  int32_t height = 0;
  bool bgr = false;
  double mean[3] = {0, 0, 0};
  double std[3] = {1, 1, 1};
  Resize resize = Resize::kAffine;
  double roi_padding = 1.25;
  Layout layout = Layout::kNCHW;
  DType dtype = DType::kFloat32;

  size_t bytes() const {
    return static_cast<size_t>(width) * static_cast<size_t>(height) * 3 * (dtype == DType::kFloat32 ? 4 : 1);
  }
};

struct Rect {
  double left, top, right, bottom;
};

// 2x3 row-major: a00 a01 a02 a10 a11 a12.
struct Affine {
  double m[6] = {1, 0, 0, 0, 1, 0};
};

Status CheckFrame(const FrameView& frame);
Status CheckRoi(const Rect& roi, int32_t width, int32_t height);
// Upright size of a checked frame.
void UprightSize(const FrameView& frame, int32_t* width, int32_t* height);
// Step 3. `roi` may be null (the whole frame).
Status CropMatrix(const InputSpec& spec, int32_t width, int32_t height, const Rect* roi, Affine* out);
// Inverse of an invertible 2x3 affine; false if singular.
bool InvertAffine(const Affine& a, Affine* inv);
// (x, y) through an affine.
inline void ApplyAffine(const Affine& a, double x, double y, double* ox, double* oy) {
  *ox = a.m[0] * x + a.m[1] * y + a.m[2];
  *oy = a.m[3] * x + a.m[4] * y + a.m[5];
}

// Steps 1-6 with scratch tables reused across calls (one thread at a time per instance).
class Preprocessor {
 public:
  // `out` must hold exactly spec.bytes() bytes (float32 output: 4-byte aligned).
  Status Run(const InputSpec& spec, const FrameView& frame, const Rect* roi, void* out, size_t out_size,
             Affine* affine);
  // Steps 4-6 for a given matrix (the frame already checked). Axis-aligned matrices take the fast separable
  // path; `force_general` takes the per-pixel path (tests compare the two).
  void Warp(const InputSpec& spec, const FrameView& frame, const Affine& matrix, void* out, bool force_general = false);

 private:
  struct Tap {
    int64_t off[2][3];  // [tap][plane] byte offset contribution of this axis
    float w[2];         // bilinear weights, 0 for a tap outside the frame
  };
  std::vector<Tap> xs_, ys_;
  std::vector<float> wx_;        // column weights, tap 0 then tap 1
  std::vector<uint8_t> gather_;  // one row's 4 taps x 3 samples, contiguous per (tap, sample)
  std::vector<float> row_;       // one output row: planar R, G, B in [0, 255], then packed RGB scratch
};

}  // namespace msdk

#endif  // MSDK_PREPROCESS_H_
