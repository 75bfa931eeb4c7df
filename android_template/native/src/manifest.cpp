#include "manifest.h"

#include <cmath>
#include <exception>
#include <set>

#include <nlohmann/json.hpp>

namespace msdk {
namespace {

using json = nlohmann::json;

constexpr int kMaxDepth = 64;
constexpr int64_t kMaxInputSide = 16384;
constexpr int64_t kMaxOutputFloats = int64_t{1} << 31;

std::string Short(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

// JSON nesting depth outside strings, so a hostile document is refused before it is parsed.
bool DepthOk(const char* p, size_t n) {
  int depth = 0;
  bool in_str = false, esc = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (in_str) {
      if (esc)
        esc = false;
      else if (c == '\\')
        esc = true;
      else if (c == '"')
        in_str = false;
    } else if (c == '"') {
      in_str = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

Status Parse(const char* text, size_t size, json* out) {
  if (text == nullptr) return InvalidArgument("manifest JSON is null");
  if (size > kMaxManifestBytes) {
    return InvalidManifest("manifest is " + std::to_string(size) + " bytes; more than " +
                           std::to_string(kMaxManifestBytes) + " is not a manifest");
  }
  if (!DepthOk(text, size)) return InvalidManifest("manifest is nested too deeply");
  *out = json::parse(text, text + size, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) return InvalidManifest("manifest is not valid JSON");
  return Status::Ok();
}

// Field access with errors naming the dotted key ("artifacts[0].input.shape").
class Reader {
 public:
  static Status Missing(const std::string& key) { return InvalidManifest("manifest key '" + key + "' is missing"); }
  static Status Fail(const std::string& key, const std::string& expected, const json& got) {
    return InvalidManifest("manifest key '" + key + "': expected " + expected + ", got " + Short(got));
  }
  static std::string Key(const std::string& parent, const std::string& name) {
    return parent.empty() ? name : parent + "." + name;
  }

  // `v` set to the member, or null if absent/null (then `optional` decides).
  static Status Get(const json& obj, const std::string& parent, const std::string& name, const json** v,
                    bool optional = false) {
    *v = nullptr;
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return optional ? Status::Ok() : Missing(Key(parent, name));
    *v = &*it;
    return Status::Ok();
  }
  static Status Object(const json& obj, const std::string& parent, const std::string& name, const json** v) {
    MSDK_RETURN_IF_ERROR(Get(obj, parent, name, v));
    if (!(*v)->is_object()) return Fail(Key(parent, name), "a mapping", **v);
    return Status::Ok();
  }
  static Status String(const json& obj, const std::string& parent, const std::string& name, std::string* out,
                       bool optional = false) {
    const json* v;
    MSDK_RETURN_IF_ERROR(Get(obj, parent, name, &v, optional));
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return Fail(Key(parent, name), "a string", *v);
    *out = v->get<std::string>();
    return Status::Ok();
  }
  static Status Choice(const json& obj, const std::string& parent, const std::string& name,
                       const std::vector<std::string>& choices, std::string* out) {
    MSDK_RETURN_IF_ERROR(String(obj, parent, name, out));
    for (const auto& c : choices) {
      if (*out == c) return Status::Ok();
    }
    return Fail(Key(parent, name), "one of " + Join(choices), obj.at(name));
  }
  static Status Shape(const json& obj, const std::string& parent, const std::string& name, std::vector<int64_t>* out) {
    const json* v;
    MSDK_RETURN_IF_ERROR(Get(obj, parent, name, &v));
    bool ok = v->is_array() && !v->empty() && v->size() <= 8;
    if (ok) {
      for (const auto& d : *v)
        ok = ok && d.is_number_integer() && d.get<int64_t>() > 0 && d.get<int64_t>() < (int64_t{1} << 31);
    }
    if (!ok) return Fail(Key(parent, name), "a list of 1 to 8 positive integers", *v);
    out->clear();
    for (const auto& d : *v) out->push_back(d.get<int64_t>());
    return Status::Ok();
  }
  static Status Triple(const json& obj, const std::string& parent, const std::string& name, bool positive,
                       double out[3]) {
    const json* v;
    MSDK_RETURN_IF_ERROR(Get(obj, parent, name, &v));
    bool ok = v->is_array() && v->size() == 3;
    if (ok) {
      for (size_t i = 0; i < 3; ++i) {
        const json& x = (*v)[i];
        ok = ok && x.is_number() && std::isfinite(x.get<double>()) && (!positive || x.get<double>() > 0);
      }
    }
    if (!ok) return Fail(Key(parent, name), std::string("3 finite numbers") + (positive ? " > 0" : ""), *v);
    for (size_t i = 0; i < 3; ++i) out[i] = (*v)[i].get<double>();
    return Status::Ok();
  }
};

// ---- codec params (mobilesdk/codecs: same names, defaults and checks) --------------------------------

struct ParamReader {
  const std::string who;
  const json& params;

  Status Fail(const std::string& name, const std::string& what, const json& got) const {
    return InvalidManifest(who + ": " + name + " must be " + what + ", got " + Short(got));
  }
  const json* Find(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &*it;
  }
  Status PositiveFloat(const std::string& name, double* out) const {
    const json* v = Find(name);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() <= 0) {
      return Fail(name, "a finite number > 0", *v);
    }
    *out = v->get<double>();
    return Status::Ok();
  }
  Status Int(const std::string& name, int32_t minimum, int32_t* out, bool required = false) const {
    const json* v = Find(name);
    if (v == nullptr) {
      return required ? InvalidManifest(who + ": missing required param '" + name + "'") : Status::Ok();
    }
    if (!v->is_number_integer()) return Fail(name, "an integer", *v);
    const int64_t x = v->get<int64_t>();
    if (x < minimum || x > (int64_t{1} << 20)) return Fail(name, ">= " + std::to_string(minimum), *v);
    *out = static_cast<int32_t>(x);
    return Status::Ok();
  }
  Status Bool(const std::string& name, bool* out) const {
    const json* v = Find(name);
    if (v == nullptr) return Status::Ok();
    if (!v->is_boolean()) return Fail(name, "true or false", *v);
    *out = v->get<bool>();
    return Status::Ok();
  }
  Status Choice(const std::string& name, const std::vector<std::string>& choices, std::string* out) const {
    const json* v = Find(name);
    if (v == nullptr) return Status::Ok();
    if (v->is_string()) {
      for (const auto& c : choices) {
        if (v->get<std::string>() == c) {
          *out = c;
          return Status::Ok();
        }
      }
    }
    return Fail(name, "one of " + Join(choices), *v);
  }
  Status Size(const std::string& name, int32_t* w, int32_t* h, bool required) const {
    const json* v = Find(name);
    if (v == nullptr) {
      return required ? InvalidManifest(who + ": missing required param '" + name + "'") : Status::Ok();
    }
    bool ok = v->is_object() && v->size() == 2 && v->contains("width") && v->contains("height");
    int64_t dims[2] = {0, 0};
    const char* keys[2] = {"width", "height"};
    for (int i = 0; ok && i < 2; ++i) {
      const json& d = v->at(keys[i]);
      ok = d.is_number_integer() && (dims[i] = d.get<int64_t>()) >= 1 && dims[i] <= 65536;
    }
    if (!ok) return Fail(name, "a mapping {width: int >= 1, height: int >= 1}", *v);
    *w = static_cast<int32_t>(dims[0]);
    *h = static_cast<int32_t>(dims[1]);
    return Status::Ok();
  }
  Status Only(const std::vector<std::string>& valid) const {
    for (auto it = params.begin(); it != params.end(); ++it) {
      bool known = false;
      for (const auto& k : valid) known = known || it.key() == k;
      if (!known) return InvalidManifest(who + ": unknown param '" + it.key() + "'; valid params: " + Join(valid));
    }
    return Status::Ok();
  }
};

Status CodecFromJson(const json& codec, const std::string& key, std::string* name, CodecParams* out) {
  MSDK_RETURN_IF_ERROR(Reader::String(codec, key, "name", name));
  const json* params;
  MSDK_RETURN_IF_ERROR(Reader::Object(codec, key, "params", &params));
  CodecParams p;
  const ParamReader r{*name, *params};
  if (*name == "simcc") {
    p.kind = CodecKind::kSimCC;
    MSDK_RETURN_IF_ERROR(r.Only({"split_ratio", "sigma", "normalize", "flip_average", "flip_shift"}));
    MSDK_RETURN_IF_ERROR(r.PositiveFloat("split_ratio", &p.split_ratio));
    if (const json* s = r.Find("sigma")) {  // encode-only, but validated as the reference does
      double unused = 0;
      if (s->is_object()) {
        if (s->size() != 2 || !s->contains("x") || !s->contains("y")) {
          return r.Fail("sigma", "a number or a mapping {x: float, y: float}", *s);
        }
        const ParamReader sr{*name + ": sigma", *s};
        MSDK_RETURN_IF_ERROR(sr.PositiveFloat("x", &unused));
        MSDK_RETURN_IF_ERROR(sr.PositiveFloat("y", &unused));
      } else {
        MSDK_RETURN_IF_ERROR(r.PositiveFloat("sigma", &unused));
      }
    }
    MSDK_RETURN_IF_ERROR(r.Bool("normalize", &p.normalize));
    std::string avg = "softmax";
    MSDK_RETURN_IF_ERROR(r.Choice("flip_average", {"softmax", "logits"}, &avg));
    p.flip_average_softmax = avg == "softmax";
    MSDK_RETURN_IF_ERROR(r.Bool("flip_shift", &p.flip_shift));
  } else if (*name == "heatmap") {
    p.kind = CodecKind::kHeatmap;
    MSDK_RETURN_IF_ERROR(r.Only({"heatmap_size", "sigma", "refine", "blur_kernel", "shift_flip"}));
    MSDK_RETURN_IF_ERROR(r.Size("heatmap_size", &p.heatmap_width, &p.heatmap_height, true));
    double sigma = 2.0;
    MSDK_RETURN_IF_ERROR(r.PositiveFloat("sigma", &sigma));
    std::string refine = "dark";
    MSDK_RETURN_IF_ERROR(r.Choice("refine", {"dark", "quarter-offset", "none"}, &refine));
    p.refine = refine == "dark" ? Refine::kDark : refine == "none" ? Refine::kNone : Refine::kQuarterOffset;
    MSDK_RETURN_IF_ERROR(r.Int("blur_kernel", 1, &p.blur_kernel));
    if (p.blur_kernel % 2 == 0 || p.blur_kernel > 255) {
      return r.Fail("blur_kernel", "odd (and at most 255)", params->at("blur_kernel"));
    }
    MSDK_RETURN_IF_ERROR(r.Bool("shift_flip", &p.shift_flip));
  } else if (*name == "integral-3d") {
    p.kind = CodecKind::kIntegral3D;
    MSDK_RETURN_IF_ERROR(r.Only({"depth_bins", "heatmap_size", "sigma"}));
    MSDK_RETURN_IF_ERROR(r.Int("depth_bins", 1, &p.depth_bins, true));
    MSDK_RETURN_IF_ERROR(r.Size("heatmap_size", &p.heatmap_width, &p.heatmap_height, true));
    double sigma = 1.5;
    MSDK_RETURN_IF_ERROR(r.PositiveFloat("sigma", &sigma));
  } else {
    return InvalidManifest("unknown codec '" + *name + "'; valid codecs: heatmap, integral-3d, simcc");
  }
  *out = p;
  return Status::Ok();
}

// codec.visibility {a, b} (finite numbers, nothing else), or the codec's default when absent or null.
Status VisibilityFromJson(const json& codec, const std::string& key, const CodecParams& params, VisibilityParams* out) {
  auto it = codec.find("visibility");
  if (it == codec.end() || it->is_null()) {
    *out = DefaultVisibility(params);
    return Status::Ok();
  }
  const json& v = *it;
  bool ok = v.is_object() && v.size() == 2 && v.contains("a") && v.contains("b");
  ok = ok && v.at("a").is_number() && v.at("b").is_number();
  ok = ok && std::isfinite(v.at("a").get<double>()) && std::isfinite(v.at("b").get<double>());
  ok = ok && v.at("a").get<double>() > 0;  // visibility grows with the score
  if (!ok) return Reader::Fail(Reader::Key(key, "visibility"), "a mapping {a: number > 0, b: number}", v);
  *out = VisibilityParams{v.at("a").get<double>(), v.at("b").get<double>()};
  return Status::Ok();
}

Status InputFromJson(const json& doc, const std::string& key, InputSpec* in, std::string* name,
                     std::vector<int64_t>* shape) {
  if (!doc.is_object()) return Reader::Fail(key, "a mapping", doc);
  const json* size;
  MSDK_RETURN_IF_ERROR(Reader::Object(doc, key, "size", &size));
  int64_t dims[2];
  const char* sides[2] = {"width", "height"};
  for (int i = 0; i < 2; ++i) {
    const json* v;
    MSDK_RETURN_IF_ERROR(Reader::Get(*size, key + ".size", sides[i], &v));
    if (!v->is_number_integer() || v->get<int64_t>() < 1 || v->get<int64_t>() > kMaxInputSide) {
      return Reader::Fail(key + ".size." + sides[i], "an integer in [1, " + std::to_string(kMaxInputSide) + "]", *v);
    }
    dims[i] = v->get<int64_t>();
  }
  std::string layout, dtype, color, norm, resize;
  MSDK_RETURN_IF_ERROR(Reader::Choice(doc, key, "layout", {"NCHW", "NHWC"}, &layout));
  MSDK_RETURN_IF_ERROR(Reader::Shape(doc, key, "shape", shape));
  const int64_t w = dims[0], h = dims[1];
  const std::vector<int64_t> want =
      layout == "NHWC" ? std::vector<int64_t>{1, h, w, 3} : std::vector<int64_t>{1, 3, h, w};
  if (*shape != want) {
    std::string t = "[";
    for (size_t i = 0; i < want.size(); ++i) t += (i ? ", " : "") + std::to_string(want[i]);
    return Reader::Fail(key + ".shape",
                        t + "] (" + layout + ", size " + std::to_string(w) + "x" + std::to_string(h) + ")",
                        doc.at("shape"));
  }
  const json* pad;
  MSDK_RETURN_IF_ERROR(Reader::Get(doc, key, "roi_padding", &pad, /*optional=*/true));
  double padding = 1.25;
  if (pad != nullptr) {
    if (!pad->is_number() || !(pad->get<double>() >= 1.0 && pad->get<double>() <= 4.0)) {
      return Reader::Fail(key + ".roi_padding", "a number in [1, 4]", *pad);
    }
    padding = pad->get<double>();
  }
  MSDK_RETURN_IF_ERROR(Reader::String(doc, key, "name", name));
  MSDK_RETURN_IF_ERROR(Reader::Choice(doc, key, "dtype", {"float32", "uint8"}, &dtype));
  MSDK_RETURN_IF_ERROR(Reader::Choice(doc, key, "color", {"rgb", "bgr"}, &color));
  MSDK_RETURN_IF_ERROR(Reader::Triple(doc, key, "mean", false, in->mean));
  MSDK_RETURN_IF_ERROR(Reader::Triple(doc, key, "std", true, in->std));
  MSDK_RETURN_IF_ERROR(Reader::Choice(doc, key, "normalization", {"app", "in-graph"}, &norm));
  MSDK_RETURN_IF_ERROR(Reader::Choice(doc, key, "resize", {"affine", "letterbox", "stretch"}, &resize));
  // The reference normalises every float32 input and feeds uint8 inputs raw; other pairings have no definition.
  if ((dtype == "float32") != (norm == "app")) {
    return InvalidManifest("manifest key '" + key + ".normalization': '" + norm + "' with dtype " + dtype +
                           " is not supported (float32 inputs are normalised by the app, uint8 inputs in the graph)");
  }
  in->width = static_cast<int32_t>(w);
  in->height = static_cast<int32_t>(h);
  in->layout = layout == "NHWC" ? Layout::kNHWC : Layout::kNCHW;
  in->dtype = dtype == "uint8" ? DType::kUInt8 : DType::kFloat32;
  in->bgr = color == "bgr";
  in->resize = resize == "affine" ? Resize::kAffine : resize == "letterbox" ? Resize::kLetterbox : Resize::kStretch;
  in->roi_padding = padding;
  return Status::Ok();
}

Status ArtifactFromJson(const json& doc, const std::string& key, ArtifactSpec* a) {
  if (!doc.is_object()) return Reader::Fail(key, "a mapping", doc);
  MSDK_RETURN_IF_ERROR(Reader::String(doc, key, "recipe", &a->recipe));
  MSDK_RETURN_IF_ERROR(Reader::String(doc, key, "runtime", &a->runtime));
  MSDK_RETURN_IF_ERROR(Reader::String(doc, key, "file", &a->file, /*optional=*/true));
  const json* input;
  MSDK_RETURN_IF_ERROR(Reader::Object(doc, key, "input", &input));
  MSDK_RETURN_IF_ERROR(InputFromJson(*input, key + ".input", &a->input, &a->input_name, &a->input_shape));
  const json* outputs;
  MSDK_RETURN_IF_ERROR(Reader::Get(doc, key, "outputs", &outputs));
  if (!outputs->is_array() || outputs->empty() || outputs->size() > 16) {
    return Reader::Fail(key + ".outputs", "a list of 1 to 16 outputs", *outputs);
  }
  for (size_t j = 0; j < outputs->size(); ++j) {
    const std::string k = key + ".outputs[" + std::to_string(j) + "]";
    const json& o = (*outputs)[j];
    if (!o.is_object()) return Reader::Fail(k, "a mapping", o);
    OutputSpec out;
    std::string dtype;
    MSDK_RETURN_IF_ERROR(Reader::String(o, k, "name", &out.name));
    MSDK_RETURN_IF_ERROR(Reader::Shape(o, k, "shape", &out.shape));
    MSDK_RETURN_IF_ERROR(Reader::String(o, k, "dtype", &dtype));
    MSDK_RETURN_IF_ERROR(Reader::String(o, k, "role", &out.role));
    if (dtype != "float32")
      return Reader::Fail(k + ".dtype", "float32 (the decoders read float32 outputs)", o.at("dtype"));
    int64_t count = 1;
    for (int64_t d : out.shape) {
      count *= d;
      if (count > kMaxOutputFloats) return Reader::Fail(k + ".shape", "fewer than 2^31 elements", o.at("shape"));
    }
    a->outputs.push_back(std::move(out));
  }
  return Status::Ok();
}

}  // namespace

Status ParseManifest(const char* text, size_t size, Manifest* out) {
  try {
    json doc;
    MSDK_RETURN_IF_ERROR(Parse(text, size, &doc));
    if (!doc.is_object()) return InvalidManifest("not a mobilesdk manifest (expected a JSON object)");
    auto schema = doc.find("schema");
    if (schema == doc.end() || *schema != "mobilesdk-manifest") {
      return InvalidManifest("not a mobilesdk manifest (schema is " +
                             (schema == doc.end() ? std::string("missing") : Short(*schema)) + ")");
    }
    auto version = doc.find("schema_version");
    if (version == doc.end() || !version->is_number_integer() || version->get<int64_t>() != 1) {
      return InvalidManifest("manifest schema_version " +
                             (version == doc.end() ? std::string("missing") : Short(*version)) +
                             " is not supported (this mobilesdk-native reads 1)");
    }
    Manifest m;
    const json *model, *codec, *keypoints, *artifacts;
    MSDK_RETURN_IF_ERROR(Reader::Object(doc, "", "model", &model));
    MSDK_RETURN_IF_ERROR(Reader::String(*model, "model", "id", &m.model_id));
    MSDK_RETURN_IF_ERROR(Reader::Object(doc, "", "codec", &codec));
    MSDK_RETURN_IF_ERROR(CodecFromJson(*codec, "codec", &m.codec_name, &m.codec));
    MSDK_RETURN_IF_ERROR(VisibilityFromJson(*codec, "codec", m.codec, &m.visibility));
    MSDK_RETURN_IF_ERROR(Reader::Object(doc, "", "keypoints", &keypoints));
    const json* names;
    MSDK_RETURN_IF_ERROR(Reader::Get(*keypoints, "keypoints", "names", &names));
    bool ok = names->is_array() && !names->empty() && names->size() <= 4096;
    for (size_t i = 0; ok && i < names->size(); ++i)
      ok = (*names)[i].is_string() && !(*names)[i].get<std::string>().empty();
    if (!ok) return Reader::Fail("keypoints.names", "a non-empty list of names", *names);
    for (const auto& n : *names) m.keypoint_names.push_back(n.get<std::string>());
    const json* pairs;
    MSDK_RETURN_IF_ERROR(Reader::Get(*keypoints, "keypoints", "flip_pairs", &pairs, /*optional=*/true));
    if (pairs != nullptr) {
      const int64_t k = static_cast<int64_t>(m.keypoint_names.size());
      ok = pairs->is_array();
      for (size_t i = 0; ok && i < pairs->size(); ++i) {
        const json& p = (*pairs)[i];
        ok = p.is_array() && p.size() == 2 && p[0].is_number_integer() && p[1].is_number_integer() &&
             p[0].get<int64_t>() >= 0 && p[0].get<int64_t>() < k && p[1].get<int64_t>() >= 0 && p[1].get<int64_t>() < k;
        if (ok) m.flip_pairs.emplace_back(p[0].get<int32_t>(), p[1].get<int32_t>());
      }
      if (!ok) return Reader::Fail("keypoints.flip_pairs", "a list of [i, j] keypoint index pairs", *pairs);
    }
    MSDK_RETURN_IF_ERROR(Reader::Get(doc, "", "artifacts", &artifacts));
    if (!artifacts->is_array() || artifacts->empty()) {
      return Reader::Fail("artifacts", "a non-empty list of artifacts", *artifacts);
    }
    for (size_t i = 0; i < artifacts->size(); ++i) {
      ArtifactSpec a;
      MSDK_RETURN_IF_ERROR(ArtifactFromJson((*artifacts)[i], "artifacts[" + std::to_string(i) + "]", &a));
      m.artifacts.push_back(std::move(a));
    }
    *out = std::move(m);
    return Status::Ok();
  } catch (const std::exception& e) {  // nlohmann throws on a type mismatch we did not foresee
    return InvalidManifest(std::string("manifest could not be read (") + e.what() + ")");
  }
}

Status SelectArtifact(const Manifest& m, const char* recipe, const std::string& file_name, size_t* index) {
  std::vector<std::string> recipes;
  for (const auto& a : m.artifacts) recipes.push_back(a.recipe);
  if (recipe != nullptr) {
    for (size_t i = 0; i < m.artifacts.size(); ++i) {
      if (m.artifacts[i].recipe == recipe) {
        *index = i;
        return Status::Ok();
      }
    }
    return InvalidManifest("manifest has no artifact for recipe '" + std::string(recipe) + "' (has: " + Join(recipes) +
                           ")");
  }
  if (m.artifacts.size() == 1) {
    *index = 0;
    return Status::Ok();
  }
  if (!file_name.empty()) {
    for (size_t i = 0; i < m.artifacts.size(); ++i) {
      if (m.artifacts[i].file == file_name) {
        *index = i;
        return Status::Ok();
      }
    }
    return InvalidManifest("no artifact of the manifest is the file '" + file_name + "'; pass a recipe (one of " +
                           Join(recipes) + ")");
  }
  return InvalidManifest("manifest has " + std::to_string(m.artifacts.size()) + " artifacts; pass a recipe (one of " +
                         Join(recipes) + ")");
}

Status ParseInputEntry(const char* text, size_t size, InputSpec* out, std::vector<int64_t>* shape) {
  try {
    json doc;
    MSDK_RETURN_IF_ERROR(Parse(text, size, &doc));
    std::string name;
    return InputFromJson(doc, "input", out, &name, shape);
  } catch (const std::exception& e) {
    return InvalidManifest(std::string("input entry could not be read (") + e.what() + ")");
  }
}

Status ParseCodec(const char* text, size_t size, std::string* name, CodecParams* out) {
  try {
    json doc;
    MSDK_RETURN_IF_ERROR(Parse(text, size, &doc));
    if (!doc.is_object()) return Reader::Fail("codec", "a mapping", doc);
    return CodecFromJson(doc, "codec", name, out);
  } catch (const std::exception& e) {
    return InvalidManifest(std::string("codec could not be read (") + e.what() + ")");
  }
}

Status ParseCodecVisibility(const char* text, size_t size, VisibilityParams* out) {
  try {
    json doc;
    MSDK_RETURN_IF_ERROR(Parse(text, size, &doc));
    if (!doc.is_object()) return Reader::Fail("codec", "a mapping", doc);
    std::string name;
    CodecParams params;
    MSDK_RETURN_IF_ERROR(CodecFromJson(doc, "codec", &name, &params));
    return VisibilityFromJson(doc, "codec", params, out);
  } catch (const std::exception& e) {
    return InvalidManifest(std::string("codec could not be read (") + e.what() + ")");
  }
}

}  // namespace msdk
