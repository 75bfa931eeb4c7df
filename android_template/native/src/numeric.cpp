#include "numeric.h"

#include <algorithm>

namespace msdk {
namespace {

inline float ExpNonPositive(float x) {
  x = x < -80.0f ? -80.0f : x;  // keeps 2^n and the result normal: denormals cost ~100 cycles each
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (round to nearest in the default FP mode).
  const float t = x * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union {
    int32_t i;
    float f;
  } scale;  // 2^n, n in [-126, 0]
  scale.i = (static_cast<int32_t>(n) + 127) << 23;
  return p * scale.f;
}

}  // namespace

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(MSDK_NO_TARGET_CLONES)
// AVX2 doubles the vector width on the host and on x86_64 Android emulators; the default clone is baseline.
__attribute__((target_clones("avx2", "default")))
#endif
void ExpShifted(const float* in, int32_t n, float shift, float* out) {
  for (int32_t i = 0; i < n; ++i) out[i] = ExpNonPositive(in[i] - shift);
}

}  // namespace msdk
