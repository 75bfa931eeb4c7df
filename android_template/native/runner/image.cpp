// stb_image, compiled once here (PNG and JPEG only), so its warnings stay out of the runner.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#include <stb_image.h>

#include "image.h"

bool LoadRgbImage(const std::string& path, RgbImage* out, std::string* error) {
  int w = 0, h = 0, c = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &c, 3);
  if (data == nullptr) {
    *error = path + ": not a readable PNG/JPEG image (" + stbi_failure_reason() + ")";
    return false;
  }
  out->width = w;
  out->height = h;
  out->pixels.assign(data, data + static_cast<size_t>(w) * h * 3);
  stbi_image_free(data);
  return true;
}
