#ifndef MSDK_RUNNER_IMAGE_H_
#define MSDK_RUNNER_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // tightly packed RGB888
};

// PNG/JPEG -> RGB888 (stb_image); false with a one-line reason.
bool LoadRgbImage(const std::string& path, RgbImage* out, std::string* error);

#endif  // MSDK_RUNNER_IMAGE_H_
