// Small vectorisable kernels shared by the decoders: finiteness scan, max, exp(x - shift) in float.
#ifndef MSDK_NUMERIC_H_
#define MSDK_NUMERIC_H_

#include <cstdint>
#include <cstring>

namespace msdk {

// True if all n floats are finite; otherwise the first bad index in *first_bad.
inline bool AllFinite(const float* p, int64_t n, int64_t* first_bad) {
  uint32_t any = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, p + i, 4);
    any |= static_cast<uint32_t>((b & 0x7f800000u) == 0x7f800000u);
  }
  if (!any) return true;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, p + i, 4);
    if ((b & 0x7f800000u) == 0x7f800000u) {
      *first_bad = i;
      return false;
    }
  }
  return false;
}

// Max of n >= 1 floats, and whether all are finite (one pass). Eight independent lanes: a float max
// reduction is not reassociated by the compiler, lanes are vectorised without changing the result.
inline float MaxFinite(const float* p, int64_t n, bool* finite) {
  float m[8];
  uint32_t bad[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int q = 0; q < 8; ++q) m[q] = p[0];
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int q = 0; q < 8; ++q) {
      uint32_t b;
      std::memcpy(&b, p + i + q, 4);
      bad[q] |= static_cast<uint32_t>((b & 0x7f800000u) == 0x7f800000u);
      m[q] = p[i + q] > m[q] ? p[i + q] : m[q];
    }
  }
  for (; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, p + i, 4);
    bad[0] |= static_cast<uint32_t>((b & 0x7f800000u) == 0x7f800000u);
    m[0] = p[i] > m[0] ? p[i] : m[0];
  }
  uint32_t any = 0;
  float out = m[0];
  for (int q = 0; q < 8; ++q) {
    any |= bad[q];
    out = m[q] > out ? m[q] : out;
  }
  *finite = any == 0;
  return out;
}

inline float MaxOf(const float* p, int64_t n) {
  bool finite;
  return MaxFinite(p, n, &finite);
}

// out[i] = exp(in[i] - shift) for in[i] <= shift, relative error ~1e-7 (Cephes expf polynomial, range
// reduction by ln 2), written branch-free so the compiler vectorises it. Arguments below -80 give
// exp(-80) ~ 1.8e-35 instead of a smaller number (never a denormal, which would cost ~100 cycles each):
// negligible against the peak term exp(0) = 1 that every softmax here contains.
void ExpShifted(const float* in, int32_t n, float shift, float* out);

}  // namespace msdk

#endif  // MSDK_NUMERIC_H_
