// The manifest (schema mobilesdk-manifest v1, see mobilesdk/manifest.py): parsed with nlohmann-json and
// validated field by field, with errors naming the key as the Python reader does.
#ifndef MSDK_MANIFEST_H_
#define MSDK_MANIFEST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "decoders.h"
#include "preprocess.h"
#include "status.h"
#include "visibility.h"

namespace msdk {

struct OutputSpec {
  std::string name;
  std::vector<int64_t> shape;  // with the batch dim
  std::string role;            // the codec output it feeds
};

struct ArtifactSpec {
  std::string recipe, runtime, file;  // file: empty in an embedded manifest
  std::string input_name;
  std::vector<int64_t> input_shape;
  InputSpec input;
  std::vector<OutputSpec> outputs;  // manifest order
};

struct Manifest {
  std::string model_id;
  std::string codec_name;
  CodecParams codec;
  VisibilityParams visibility;  // codec.visibility, else DefaultVisibility(codec)
  std::vector<std::string> keypoint_names;
  std::vector<std::pair<int32_t, int32_t>> flip_pairs;
  std::vector<ArtifactSpec> artifacts;
};

// Bytes beyond this are refused (a manifest is a few KB).
constexpr size_t kMaxManifestBytes = 16u << 20;

Status ParseManifest(const char* text, size_t size, Manifest* out);
// recipe non-null: that artifact; else the only one; else the one whose `file` is file_name (may be empty).
Status SelectArtifact(const Manifest& m, const char* recipe, const std::string& file_name, size_t* index);

// The parts, for the tests and the fuzzer: a manifest `input` entry, and a `codec` object {name, params}.
Status ParseInputEntry(const char* text, size_t size, InputSpec* out, std::vector<int64_t>* shape);
Status ParseCodec(const char* text, size_t size, std::string* name, CodecParams* out);
// The `codec.visibility` of a codec object {name, params, visibility?}: its {a, b}, else the codec's default.
Status ParseCodecVisibility(const char* text, size_t size, VisibilityParams* out);

}  // namespace msdk

#endif  // MSDK_MANIFEST_H_
