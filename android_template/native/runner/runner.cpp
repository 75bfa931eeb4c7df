// mobilesdk-runner: the native core end to end on the host (or a phone): load a .pte (ExecuTorch), a .tflite
// (LiteRT) or an .onnx (ONNX Runtime, where the build has it), told apart by content, feed an image or a
// synthetic camera frame, time every stage, print one line per iteration and a final JSON line naming the
// runtime and its version.
//
//   mobilesdk-runner --model X.pte|X.tflite|X.onnx [--manifest manifest.json] [--recipe R]
//                    [--image img.png|jpg | --frame nv21:1920x1080|yuv420:WxH|rgba:WxH|bgra:WxH|rgb:WxH
//                     | --input raw.bin [--dump-outputs DIR]]
//                    [--roi l,t,r,b] [--rotation 0|90|180|270] [--warmup N] [--iterations N] [--threads N]
//   mobilesdk-runner --manifest manifest.json [--recipe R] --outputs DIR [frame options]   (no engine:
//                    preprocess + decode of raw outputs DIR/<output name>.bin, for timing the pre/post core)
//   mobilesdk-runner --model A --model B ... [--image IMG | --frame FMT:WxH] [--warmup N] [--iterations N]
//                    (several models, each with its embedded manifest: all loaded once and warmed up, then
//                    timed round by round in an order rotated each round; lines "model J iteration i/n: ..."
//                    and a final JSON line {"models": [one result per model, in argument order], ...})
//
// Bad arguments or files: one line on stderr, exit status 2 (usage) or 1 (anything else).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "image.h"
#include "mobilesdk_pose.h"

#ifdef MSDK_RUNNER_EXECUTORCH_LOG
#include <executorch/runtime/platform/platform.h>
#endif

namespace {

using json = nlohmann::json;

struct UsageError {
  std::string message;
};
struct RunError {
  std::string message;
};

struct Args {
  std::string model, manifest, recipe, image, frame, input, dump_outputs, outputs;
  std::vector<std::string> more_models;  // --model given again: interleaved rounds (RunInterleaved)
  bool has_roi = false;
  msdk_rect roi{};
  int rotation = 0, warmup = 3, iterations = 10, threads = 0;
  bool instruction_marks = false;  // stage marks for an instruction-counting emulator (tag: the model's index)
};

// ExecuTorch's runtime logs to stderr; the runner keeps stderr to its own one-line errors and appends the
// runtime's last error message to them instead (all of it with --verbose).
std::string g_runtime_error;
bool g_verbose = false;

// LiteRT logs its INFO/WARNING/ERROR lines to stderr with no C API to quiet them, so unless --verbose the
// runner points fd 2 at a temporary file for the run, writes its own errors to the real stderr, and appends
// the log's first "ERROR" line (the cause; later ones report its consequences) to them.
int g_stderr_fd = STDERR_FILENO;
FILE* g_captured = nullptr;

// An unnamed temporary file: in $TMPDIR, /data/local/tmp (adb shell on a phone: no /tmp) or /tmp.
FILE* AnonymousTempFile() {
  const char* tmpdir = std::getenv("TMPDIR");
  for (const char* dir : {tmpdir, "/data/local/tmp", "/tmp"}) {
    if (dir == nullptr || dir[0] == '\0') continue;
    std::string path = std::string(dir) + "/mobilesdk-runner-log-XXXXXX";
    const int fd = ::mkstemp(path.data());
    if (fd < 0) continue;
    ::unlink(path.c_str());
    if (FILE* f = ::fdopen(fd, "w+")) return f;
    ::close(fd);
  }
  return nullptr;
}

void CaptureRuntimeStderr() {
  if (g_verbose) return;
  g_captured = AnonymousTempFile();
  const int saved = g_captured ? ::dup(STDERR_FILENO) : -1;
  if (saved < 0 || ::dup2(::fileno(g_captured), STDERR_FILENO) < 0) {  // leave stderr as it is
    if (saved >= 0) ::close(saved);
    if (g_captured) std::fclose(g_captured);
    g_captured = nullptr;
    return;
  }
  g_stderr_fd = saved;
}

std::string FirstCapturedError() {
  if (g_captured == nullptr) return "";
  std::fflush(stderr);
  std::string text, line;
  std::rewind(g_captured);
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, g_captured)) > 0) text.append(buf, n);
  std::fseek(g_captured, 0, SEEK_END);
  std::istringstream lines(text);
  while (std::getline(lines, line)) {
    if (line.rfind("ERROR", 0) == 0) return line;
  }
  return "";
}

void PrintError(const std::string& message) {
  const std::string line = "mobilesdk-runner: error: " + message + "\n";
  if (::write(g_stderr_fd, line.data(), line.size()) < 0) std::perror("mobilesdk-runner");
}

#ifdef MSDK_RUNNER_EXECUTORCH_LOG
void EmitLog(et_timestamp_t, et_pal_log_level_t level, const char* file, const char*, size_t line, const char* msg,
             size_t len) {
  std::string m(msg, len);
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.pop_back();
  if (g_verbose) std::fprintf(stderr, "[executorch %c %s:%zu] %s\n", static_cast<char>(level), file, line, m.c_str());
  if (level == kError || level == kFatal) g_runtime_error = m;
}

void QuietRuntimeLog() { executorch::runtime::register_pal(executorch::runtime::PalImpl::create(EmitLog, __FILE__)); }
#else
void QuietRuntimeLog() {}
#endif

int ParseInt(const std::string& flag, const std::string& v, int lo, int hi) {
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < lo || x > hi) {
    throw UsageError{flag + " expects an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                     v + "'"};
  }
  return static_cast<int>(x);
}

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::printf(
          "usage: mobilesdk-runner --model X.pte|X.tflite|X.onnx [--manifest manifest.json] [--recipe R]\n"
          "         [--image IMG | --frame FMT:WxH | --input RAW.bin [--dump-outputs DIR]] [--roi l,t,r,b]\n"
          "         [--rotation DEG] [--warmup N] [--iterations N] [--threads N]\n"
          "       mobilesdk-runner --manifest manifest.json --outputs DIR [frame options]  (no engine)\n"
          "       mobilesdk-runner --model A --model B ... [frame options]  (interleaved rounds)\n"
          "FMT: nv21, yuv420, rgba, bgra, rgb (a synthetic frame). Default frame: nv21:1920x1080.\n"
          "--verbose prints the runtime's log (ExecuTorch, LiteRT).\n"
          "--instruction-marks marks each stage of each estimate for an instruction-counting emulator\n"
          "  (msdk_estimator_set_instruction_marks; tag = the model's index).\n");
      std::exit(0);
    }
    if (flag == "--verbose") {
      g_verbose = true;
      continue;
    }
    if (flag == "--instruction-marks") {
      a.instruction_marks = true;
      continue;
    }
    if (i + 1 >= argc) throw UsageError{flag + " needs a value (see --help)"};
    const std::string v = argv[++i];
    if (flag == "--model" && a.model.empty())
      a.model = v;
    else if (flag == "--model")
      a.more_models.push_back(v);
    else if (flag == "--manifest")
      a.manifest = v;
    else if (flag == "--recipe")
      a.recipe = v;
    else if (flag == "--image")
      a.image = v;
    else if (flag == "--frame")
      a.frame = v;
    else if (flag == "--input")
      a.input = v;
    else if (flag == "--dump-outputs")
      a.dump_outputs = v;
    else if (flag == "--outputs")
      a.outputs = v;
    else if (flag == "--rotation")
      a.rotation = ParseInt(flag, v, 0, 270);
    else if (flag == "--warmup")
      a.warmup = ParseInt(flag, v, 0, 100000);
    else if (flag == "--iterations")
      a.iterations = ParseInt(flag, v, 1, 1000000);
    else if (flag == "--threads")
      a.threads = ParseInt(flag, v, 0, 256);
    else if (flag == "--roi") {
      float r[4];
      char tail = 0;
      if (std::sscanf(v.c_str(), "%f,%f,%f,%f%c", &r[0], &r[1], &r[2], &r[3], &tail) != 4) {
        throw UsageError{"--roi expects left,top,right,bottom, got '" + v + "'"};
      }
      a.roi = msdk_rect{r[0], r[1], r[2], r[3]};
      a.has_roi = true;
    } else {
      throw UsageError{"unknown option " + flag + " (see --help)"};
    }
  }
  const int sources = !a.image.empty() + !a.frame.empty() + !a.input.empty();
  if (sources > 1) throw UsageError{"give at most one of --image, --frame, --input"};
  if (a.model.empty() && a.manifest.empty()) throw UsageError{"--model is required (or --manifest with --outputs)"};
  if (a.model.empty() && a.outputs.empty()) throw UsageError{"without --model, --outputs DIR is required"};
  if (!a.model.empty() && !a.outputs.empty()) throw UsageError{"--outputs is for runs without --model"};
  if (!a.dump_outputs.empty() && a.input.empty()) throw UsageError{"--dump-outputs needs --input"};
  if (!a.input.empty() && a.model.empty()) throw UsageError{"--input needs --model"};
  if (!a.more_models.empty() && (!a.input.empty() || !a.manifest.empty() || !a.recipe.empty())) {
    throw UsageError{"several --model: each uses its embedded manifest on a frame (no --input/--manifest/--recipe)"};
  }
  if (a.image.empty() && a.frame.empty() && a.input.empty()) a.frame = "nv21:1920x1080";
  return a;
}

std::string ReadFile(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw RunError{path + ": cannot open " + what};
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw RunError{path + ": cannot read " + what};
  return s;
}

// A frame and the memory it points into.
struct FrameData {
  msdk_frame frame{};
  std::vector<uint8_t> planes[3];
};

void Bind(FrameData* f) {
  for (int i = 0; i < f->frame.num_planes; ++i) {
    f->frame.planes[i].data = f->planes[i].data();
    f->frame.planes[i].size = f->planes[i].size();
  }
}

// Deterministic synthetic frame: gradients and a bright block, so every sample and channel varies.
FrameData SyntheticFrame(const std::string& spec) {
  const size_t colon = spec.find(':');
  int w = 0, h = 0;
  char tail = 0;
  if (colon == std::string::npos || std::sscanf(spec.c_str() + colon + 1, "%dx%d%c", &w, &h, &tail) != 2 || w <= 0 ||
      h <= 0 || w > 16384 || h > 16384) {
    throw UsageError{"--frame expects FORMAT:WIDTHxHEIGHT (e.g. nv21:1920x1080), got '" + spec + "'"};
  }
  const std::string fmt = spec.substr(0, colon);
  FrameData f;
  f.frame.width = w;
  f.frame.height = h;
  auto value = [&](int x, int y, int c) {
    int v = (x * 255 / std::max(w - 1, 1) + c * 60 + ((x + y) % 32) * 3 + y * 100 / std::max(h - 1, 1)) & 255;
    if (x > w / 3 && x < w / 2 && y > h / 4 && y < h / 2) v = 240 - c * 90;
    return static_cast<uint8_t>(v);
  };
  if (fmt == "nv21" || fmt == "yuv420") {
    if (w % 2 || h % 2) throw UsageError{"--frame " + spec + ": YUV frames need even sizes"};
    f.planes[0].resize(static_cast<size_t>(w) * h);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) f.planes[0][static_cast<size_t>(y) * w + x] = value(x, y, 0);
    }
    const int cw = w / 2, ch = h / 2;
    if (fmt == "nv21") {
      f.frame.format = MSDK_FORMAT_NV21;
      f.frame.num_planes = 2;
      f.planes[1].resize(static_cast<size_t>(w) * ch);
      for (int y = 0; y < ch; ++y) {
        for (int x = 0; x < cw; ++x) {
          f.planes[1][static_cast<size_t>(y) * w + 2 * x] = value(2 * x, 2 * y, 1);
          f.planes[1][static_cast<size_t>(y) * w + 2 * x + 1] = value(2 * x, 2 * y, 2);
        }
      }
      f.frame.planes[0] = msdk_plane{nullptr, 0, w, 1};
      f.frame.planes[1] = msdk_plane{nullptr, 0, w, 2};
    } else {
      f.frame.format = MSDK_FORMAT_YUV_420_888;
      f.frame.num_planes = 3;
      for (int p = 1; p < 3; ++p) {
        f.planes[p].resize(static_cast<size_t>(cw) * ch);
        for (int y = 0; y < ch; ++y) {
          for (int x = 0; x < cw; ++x) f.planes[p][static_cast<size_t>(y) * cw + x] = value(2 * x, 2 * y, p);
        }
        f.frame.planes[p] = msdk_plane{nullptr, 0, cw, 1};
      }
      f.frame.planes[0] = msdk_plane{nullptr, 0, w, 1};
    }
  } else if (fmt == "rgba" || fmt == "bgra" || fmt == "rgb") {
    const int bpp = fmt == "rgb" ? 3 : 4;
    f.frame.format = fmt == "rgb" ? MSDK_FORMAT_RGB888 : fmt == "rgba" ? MSDK_FORMAT_RGBA8888 : MSDK_FORMAT_BGRA8888;
    f.frame.num_planes = 1;
    f.planes[0].resize(static_cast<size_t>(w) * h * bpp);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        for (int c = 0; c < bpp; ++c)
          f.planes[0][(static_cast<size_t>(y) * w + x) * bpp + c] = c == 3 ? 255 : value(x, y, c);
      }
    }
    f.frame.planes[0] = msdk_plane{nullptr, 0, w * bpp, bpp};
  } else {
    throw UsageError{"--frame format '" + fmt + "': one of nv21, yuv420, rgba, bgra, rgb"};
  }
  Bind(&f);
  return f;
}

FrameData ImageFrame(const std::string& path) {
  RgbImage img;
  std::string error;
  if (!LoadRgbImage(path, &img, &error)) throw RunError{error};
  FrameData f;
  f.frame.format = MSDK_FORMAT_RGB888;
  f.frame.width = img.width;
  f.frame.height = img.height;
  f.frame.num_planes = 1;
  f.planes[0] = std::move(img.pixels);
  f.frame.planes[0] = msdk_plane{nullptr, 0, img.width * 3, 3};
  Bind(&f);
  return f;
}

struct Stats {
  std::vector<double> ms;
  json ToJson() const {
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    auto pct = [&](double q) {  // linear interpolation between closest ranks (numpy's default)
      const double pos = q * (v.size() - 1);
      const size_t lo = static_cast<size_t>(std::floor(pos));
      const size_t hi = std::min(lo + 1, v.size() - 1);
      return v[lo] + (v[hi] - v[lo]) * (pos - lo);
    };
    double sum = 0;
    for (double x : v) sum += x;
    return json{{"min", v.front()}, {"p50", pct(0.5)}, {"p90", pct(0.9)}, {"mean", sum / v.size()}};
  }
};

double Ms(int64_t us) { return us / 1000.0; }

void Check(msdk_status st, const msdk_error& err) {
  if (st == MSDK_OK) return;
  std::string m = std::string(msdk_status_name(st)) + ": " + err.message;
  if (!g_runtime_error.empty()) m += " [executorch: " + g_runtime_error + "]";
  const std::string litert = FirstCapturedError();
  if (!litert.empty()) m += " [litert: " + litert + "]";
  throw RunError{m};
}

json KeypointsJson(const msdk_processor* p, const msdk_pose& pose) {
  json kps = json::array();
  for (int32_t i = 0; i < pose.count; ++i) {
    const msdk_keypoint& k = pose.keypoints[i];
    json z = std::isnan(k.z) ? json(nullptr) : json(k.z);
    kps.push_back({{"name", msdk_processor_keypoint_name(p, i)},
                   {"x", k.x},
                   {"y", k.y},
                   {"z", z},
                   {"score", k.score},
                   {"visibility", k.visibility}});
  }
  return kps;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<size_t> OutputCounts(const msdk_processor* p) {
  std::vector<size_t> counts;
  for (int32_t i = 0; i < msdk_processor_num_outputs(p); ++i) {
    msdk_tensor_info info{};
    msdk_error err{};
    Check(msdk_processor_output_info(p, i, &info, &err), err);
    counts.push_back(info.bytes / sizeof(float));
  }
  return counts;
}

// The output names of the artifact in use: the only one, else the recipe's, else the model file's.
std::vector<std::string> OutputNames(const std::string& manifest_json, const std::string& recipe,
                                     const std::string& model_path) {
  const json doc = json::parse(manifest_json, nullptr, false);
  std::vector<std::string> names;
  if (doc.is_discarded() || !doc.contains("artifacts")) return names;
  const std::string file = model_path.substr(model_path.find_last_of('/') + 1);
  for (const auto& a : doc["artifacts"]) {
    const bool chosen = recipe.empty() ? a.value("file", "") == file : a.value("recipe", "") == recipe;
    if (doc["artifacts"].size() == 1 || chosen) {
      for (const auto& o : a["outputs"]) names.push_back(o.value("name", ""));
      break;
    }
  }
  return names;
}

int Run(const Args& args) {
  std::string manifest;
  if (!args.manifest.empty()) manifest = ReadFile(args.manifest, "manifest");
  const char* recipe = args.recipe.empty() ? nullptr : args.recipe.c_str();
  msdk_error err{};
  msdk_estimator* est = nullptr;
  msdk_processor* own = nullptr;
  const int64_t t_load = NowUs();
  if (!args.model.empty()) {
    msdk_estimator_options o{};
    o.model_path = args.model.c_str();
    o.manifest_json = args.manifest.empty() ? nullptr : manifest.data();
    o.manifest_size = manifest.size();
    o.recipe = recipe;
    o.num_threads = args.threads;
    Check(msdk_estimator_create(&o, &est, &err), err);
    if (args.instruction_marks) msdk_estimator_set_instruction_marks(est, 0);
  } else {
    Check(msdk_processor_create(manifest.data(), manifest.size(), recipe, &own, &err), err);
    if (args.threads > 0) Check(msdk_processor_set_threads(own, args.threads, &err), err);  // decode threads
  }
  const double load_ms = Ms(NowUs() - t_load);
  const msdk_processor* proc = est ? msdk_estimator_processor(est) : own;
  const std::string used = est ? std::string(msdk_estimator_manifest(est)) : manifest;
  const json doc = json::parse(used, nullptr, false);
  const std::string model_id = doc.is_discarded() ? "" : doc.value("model", json::object()).value("id", "");

  const int32_t k = msdk_processor_num_keypoints(proc);
  std::vector<msdk_keypoint> kp(k);
  msdk_pose pose{kp.data(), k, 0, 0.0f};
  Stats pre, inf, dec, tot;
  std::vector<std::string> names = OutputNames(used, args.recipe, args.model);
  const std::vector<size_t> counts = OutputCounts(proc);

  FrameData frame;
  std::string raw;
  if (!args.image.empty())
    frame = ImageFrame(args.image);
  else if (!args.frame.empty())
    frame = SyntheticFrame(args.frame);
  else
    raw = ReadFile(args.input, "input");
  frame.frame.rotation_degrees = args.rotation;
  const msdk_rect* roi = args.has_roi ? &args.roi : nullptr;

  std::vector<std::vector<float>> outs(counts.size());
  std::vector<float*> out_ptrs;
  for (size_t i = 0; i < counts.size(); ++i) {
    outs[i].resize(counts[i]);
    out_ptrs.push_back(outs[i].data());
    if (!args.outputs.empty()) {  // no engine: the raw outputs come from files
      if (i >= names.size()) throw RunError{"manifest output " + std::to_string(i) + " has no name"};
      const std::string path = args.outputs + "/" + names[i] + ".bin";
      const std::string bytes = ReadFile(path, "output");
      if (bytes.size() != counts[i] * sizeof(float)) {
        throw RunError{path + ": " + std::to_string(bytes.size()) + " bytes, output '" + names[i] + "' has " +
                       std::to_string(counts[i] * sizeof(float))};
      }
      std::memcpy(outs[i].data(), bytes.data(), bytes.size());
    }
  }
  msdk_tensor_info in_info{};
  Check(msdk_processor_input_info(proc, &in_info, &err), err);
  std::vector<uint8_t> input(in_info.bytes);
  const float identity[6] = {1, 0, 0, 0, 1, 0};

  for (int it = 0; it < args.warmup + args.iterations; ++it) {
    msdk_timings t{};
    if (est != nullptr && raw.empty()) {
      Check(msdk_estimator_estimate(est, &frame.frame, roi, &pose, &t, &err), err);
    } else if (est != nullptr) {  // raw input: forward + decode in model-input px
      const int64_t t0 = NowUs();
      Check(msdk_estimator_run(est, raw.data(), raw.size(), out_ptrs.data(), counts.data(),
                               static_cast<int32_t>(counts.size()), &t.inference_us, &err),
            err);
      const int64_t t1 = NowUs();
      std::vector<const float*> c(out_ptrs.begin(), out_ptrs.end());
      Check(msdk_processor_decode(proc, c.data(), counts.data(), static_cast<int32_t>(counts.size()), identity, &pose,
                                  &err),
            err);
      t.decode_us = NowUs() - t1;
      t.total_us = NowUs() - t0;
    } else {  // no engine: preprocess + decode of the given outputs
      float affine[6];
      const int64_t t0 = NowUs();
      Check(msdk_processor_preprocess(proc, &frame.frame, roi, input.data(), input.size(), affine, &err), err);
      const int64_t t1 = NowUs();
      std::vector<const float*> c(out_ptrs.begin(), out_ptrs.end());
      Check(msdk_processor_decode(proc, c.data(), counts.data(), static_cast<int32_t>(counts.size()), affine, &pose,
                                  &err),
            err);
      const int64_t t2 = NowUs();
      t = msdk_timings{t1 - t0, 0, t2 - t1, t2 - t0};
    }
    if (it < args.warmup) continue;
    pre.ms.push_back(Ms(t.preprocess_us));
    inf.ms.push_back(Ms(t.inference_us));
    dec.ms.push_back(Ms(t.decode_us));
    tot.ms.push_back(Ms(t.total_us));
    std::printf("iteration %d/%d: preprocess %.3f ms, inference %.3f ms, decode %.3f ms, total %.3f ms\n",
                it - args.warmup + 1, args.iterations, Ms(t.preprocess_us), Ms(t.inference_us), Ms(t.decode_us),
                Ms(t.total_us));
  }
  if (!args.dump_outputs.empty()) {
    for (size_t i = 0; i < outs.size(); ++i) {
      const std::string path =
          args.dump_outputs + "/" + (i < names.size() ? names[i] : "output" + std::to_string(i)) + ".bin";
      std::ofstream f(path, std::ios::binary);
      f.write(reinterpret_cast<const char*>(outs[i].data()),
              static_cast<std::streamsize>(outs[i].size() * sizeof(float)));
      if (!f) throw RunError{path + ": cannot write"};
    }
  }
  const json runtime =
      est ? json{{"name", msdk_estimator_runtime(est)}, {"version", msdk_estimator_runtime_version(est)}}
          : json(nullptr);
  json result = {
      {"model", model_id},
      {"file", args.model},
      {"runtime", runtime},
      {"threads", est ? msdk_estimator_num_threads(est) : 0},
      {"iterations", args.iterations},
      {"load_ms", load_ms},
      {"stages",
       {{"preprocess", pre.ToJson()}, {"inference", inf.ToJson()}, {"decode", dec.ToJson()}, {"total", tot.ToJson()}}},
      {"keypoints", KeypointsJson(proc, pose)},
      {"pose_score", pose.score}};
  std::printf("%s\n", result.dump().c_str());
  std::fflush(stdout);
  msdk_estimator_destroy(est);
  msdk_processor_destroy(own);
  return 0;
}

// Several models in one process: each loaded once and warmed up, then round r times model (k + r) % n for
// k = 0..n-1, so no model always runs first or after the same neighbour (what the host bench does).
int RunInterleaved(const Args& args) {
  std::vector<std::string> models{args.model};
  models.insert(models.end(), args.more_models.begin(), args.more_models.end());
  struct Candidate {
    msdk_estimator* est = nullptr;
    double load_ms = 0;
    std::string model_id;
    std::vector<msdk_keypoint> kp;
    msdk_pose pose{};
    Stats pre, inf, dec, tot;
  };
  std::vector<Candidate> cands(models.size());
  struct Release {  // every estimator is destroyed, also when a run throws
    std::vector<Candidate>* c;
    ~Release() {
      for (auto& x : *c) msdk_estimator_destroy(x.est);
    }
  } release{&cands};
  msdk_error err{};
  for (size_t j = 0; j < models.size(); ++j) {
    msdk_estimator_options o{};
    o.model_path = models[j].c_str();
    o.num_threads = args.threads;
    const int64_t t0 = NowUs();
    Check(msdk_estimator_create(&o, &cands[j].est, &err), err);
    cands[j].load_ms = Ms(NowUs() - t0);
    if (args.instruction_marks) msdk_estimator_set_instruction_marks(cands[j].est, static_cast<int32_t>(j));
    const json doc = json::parse(msdk_estimator_manifest(cands[j].est), nullptr, false);
    cands[j].model_id = doc.is_discarded() ? "" : doc.value("model", json::object()).value("id", "");
    const int32_t k = msdk_processor_num_keypoints(msdk_estimator_processor(cands[j].est));
    cands[j].kp.resize(k);
    cands[j].pose = msdk_pose{cands[j].kp.data(), k, 0, 0.0f};
  }
  FrameData frame = !args.image.empty() ? ImageFrame(args.image) : SyntheticFrame(args.frame);
  frame.frame.rotation_degrees = args.rotation;
  const msdk_rect* roi = args.has_roi ? &args.roi : nullptr;
  for (auto& c : cands) {
    for (int w = 0; w < args.warmup; ++w) {
      msdk_timings t{};
      Check(msdk_estimator_estimate(c.est, &frame.frame, roi, &c.pose, &t, &err), err);
    }
  }
  const size_t n = cands.size();
  for (int r = 0; r < args.iterations; ++r) {
    for (size_t k = 0; k < n; ++k) {
      const size_t j = (k + static_cast<size_t>(r)) % n;
      Candidate& c = cands[j];
      msdk_timings t{};
      Check(msdk_estimator_estimate(c.est, &frame.frame, roi, &c.pose, &t, &err), err);
      c.pre.ms.push_back(Ms(t.preprocess_us));
      c.inf.ms.push_back(Ms(t.inference_us));
      c.dec.ms.push_back(Ms(t.decode_us));
      c.tot.ms.push_back(Ms(t.total_us));
      std::printf("model %zu iteration %d/%d: preprocess %.3f ms, inference %.3f ms, decode %.3f ms, total %.3f ms\n",
                  j, r + 1, args.iterations, Ms(t.preprocess_us), Ms(t.inference_us), Ms(t.decode_us), Ms(t.total_us));
    }
  }
  json results = json::array();
  for (size_t j = 0; j < n; ++j) {
    const Candidate& c = cands[j];
    results.push_back(
        {{"model", c.model_id},
         {"file", models[j]},
         {"runtime", {{"name", msdk_estimator_runtime(c.est)}, {"version", msdk_estimator_runtime_version(c.est)}}},
         {"threads", msdk_estimator_num_threads(c.est)},
         {"iterations", args.iterations},
         {"load_ms", c.load_ms},
         {"stages",
          {{"preprocess", c.pre.ToJson()},
           {"inference", c.inf.ToJson()},
           {"decode", c.dec.ToJson()},
           {"total", c.tot.ToJson()}}},
         {"keypoints", KeypointsJson(msdk_estimator_processor(c.est), c.pose)},
         {"pose_score", c.pose.score}});
  }
  const json doc = {{"models", results}, {"rounds", args.iterations}, {"warmup", args.warmup}, {"interleaved", true}};
  std::printf("%s\n", doc.dump().c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  QuietRuntimeLog();
  try {
    const Args args = ParseArgs(argc, argv);
    CaptureRuntimeStderr();
    return args.more_models.empty() ? Run(args) : RunInterleaved(args);
  } catch (const UsageError& e) {
    PrintError(e.message);
    return 2;
  } catch (const RunError& e) {
    PrintError(e.message);
    return 1;
  } catch (const std::exception& e) {
    PrintError(e.what());
    return 1;
  }
}
