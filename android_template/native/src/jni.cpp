// JNI bindings for io.mobilesdk.pose.internal.NativeCore (android_template/runtime/.../NativeCore.kt): a thin
// layer over the C API. One RegisterNatives table lists the Kotlin `external fun`s one to one.
//
// Handles are ids (never reused, 0 never valid) into a registry of shared holders, so a stale, garbage or
// concurrently closed handle is an IllegalStateException rather than a dangling pointer; a call in flight
// keeps its holder alive until it returns. Destroying an unknown or already destroyed handle is a no-op
// (close() is idempotent). Status mapping: MSDK_ERR_INVALID_ARGUMENT -> IllegalArgumentException,
// MSDK_ERR_INVALID_STATE -> IllegalStateException, everything else -> io.mobilesdk.pose.PoseException(int, String)
// (RuntimeException if that class is absent). No C++ exception crosses into the VM.
#include <jni.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mobilesdk_pose.h"

namespace {

constexpr const char* kClass = "io/mobilesdk/pose/internal/NativeCore";

jclass g_iae = nullptr, g_ise = nullptr, g_runtime = nullptr, g_pose = nullptr;
jmethodID g_pose_ctor = nullptr;

// ---- errors ------------------------------------------------------------------------------------------------

struct JavaThrown {};  // a Java exception is pending: unwind to the entry point and return

void Throw(JNIEnv* env, jclass cls, const std::string& msg) {
  if (!env->ExceptionCheck()) env->ThrowNew(cls, msg.c_str());
}

[[noreturn]] void Fail(JNIEnv* env, msdk_status status, const std::string& msg) {
  if (!env->ExceptionCheck()) {
    if (status == MSDK_ERR_INVALID_ARGUMENT) {
      Throw(env, g_iae, msg);
    } else if (status == MSDK_ERR_INVALID_STATE) {
      Throw(env, g_ise, msg);
    } else if (g_pose != nullptr) {
      jstring jmsg = env->NewStringUTF(msg.c_str());
      if (jmsg != nullptr) {
        auto ex = static_cast<jthrowable>(env->NewObject(g_pose, g_pose_ctor, static_cast<jint>(status), jmsg));
        if (ex != nullptr) env->Throw(ex);
      }
    } else {
      Throw(env, g_runtime, std::string(msdk_status_name(status)) + ": " + msg);
    }
  }
  throw JavaThrown{};
}

[[noreturn]] void BadArg(JNIEnv* env, const std::string& msg) { Fail(env, MSDK_ERR_INVALID_ARGUMENT, msg); }

void Check(JNIEnv* env, msdk_status st, const msdk_error& err) {
  if (st != MSDK_OK) Fail(env, st, err.message);
}

// Every entry point: exceptions (ours, or bad_alloc) become Java exceptions; `fallback` is returned then.
template <typename R, typename F>
R Entry(JNIEnv* env, R fallback, F&& body) {
  try {
    return body();
  } catch (const JavaThrown&) {
  } catch (const std::bad_alloc&) {
    Throw(env, g_runtime, "mobilesdk-native: out of memory");
  } catch (const std::exception& e) {
    Throw(env, g_runtime, std::string("mobilesdk-native internal error: ") + e.what());
  } catch (...) {
    Throw(env, g_runtime, "mobilesdk-native internal error");
  }
  return fallback;
}

// ---- strings: JNI's modified UTF-8 is not UTF-8, so go through UTF-16 ------------------------------------

std::string ToUtf8(JNIEnv* env, jstring s) {
  const jsize n = env->GetStringLength(s);
  std::vector<jchar> u(static_cast<size_t>(n));
  env->GetStringRegion(s, 0, n, u.data());
  std::string out;
  out.reserve(static_cast<size_t>(n));
  for (jsize i = 0; i < n; ++i) {
    uint32_t c = u[i];
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] < 0xE000) {
      c = 0x10000 + ((c - 0xD800) << 10) + (u[++i] - 0xDC00);
    } else if (c >= 0xD800 && c < 0xE000) {
      c = 0xFFFD;  // a lone surrogate
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

jstring FromUtf8(JNIEnv* env, const char* s) {
  std::vector<jchar> u;
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  while (*p) {
    uint32_t c = *p++;
    int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (more) c &= (0x3F >> more);
    for (; more > 0 && (*p & 0xC0) == 0x80; --more) c = (c << 6) | (*p++ & 0x3F);
    if (c >= 0x10000) {
      c -= 0x10000;
      u.push_back(static_cast<jchar>(0xD800 + (c >> 10)));
      u.push_back(static_cast<jchar>(0xDC00 + (c & 0x3FF)));
    } else {
      u.push_back(static_cast<jchar>(c));
    }
  }
  jstring out = env->NewString(u.data(), static_cast<jsize>(u.size()));
  if (out == nullptr) throw JavaThrown{};
  return out;
}

// ---- handles -------------------------------------------------------------------------------------------

struct Estimator {
  msdk_estimator* handle = nullptr;
  std::mutex mu;
  std::vector<uint8_t> input;  // staged path: preprocessed from a Java array, then run
  std::vector<msdk_keypoint> keypoints;
  jlong processor_id = 0;
  ~Estimator() { msdk_estimator_destroy(handle); }
};

struct Processor {
  msdk_processor* handle = nullptr;  // owned unless `owner` is set
  std::shared_ptr<Estimator> owner;  // a borrowed processor keeps its estimator alive while in use
  std::mutex own_mu;
  std::mutex& mu() { return owner ? owner->mu : own_mu; }
  std::vector<msdk_keypoint> keypoints;
  ~Processor() {
    if (!owner) msdk_processor_destroy(handle);
  }
};

std::mutex g_mu;
std::atomic<jlong> g_next{1};
std::unordered_map<jlong, std::shared_ptr<Estimator>> g_estimators;
std::unordered_map<jlong, std::shared_ptr<Processor>> g_processors;

template <typename T>
std::shared_ptr<T> Lookup(JNIEnv* env, std::unordered_map<jlong, std::shared_ptr<T>>& map, jlong id, const char* what) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = map.find(id);
  if (it == map.end()) {
    Fail(env, MSDK_ERR_INVALID_STATE,
         std::string(what) + " handle " + std::to_string(id) + " is not live (closed, or never created)");
  }
  return it->second;
}

// ---- arguments -----------------------------------------------------------------------------------------

struct Direct {
  uint8_t* data = nullptr;
  size_t size = 0;
};

Direct DirectBuffer(JNIEnv* env, jobject buf, const char* what) {
  if (buf == nullptr) BadArg(env, std::string(what) + " is null");
  void* addr = env->GetDirectBufferAddress(buf);
  const jlong cap = env->GetDirectBufferCapacity(buf);
  if (addr == nullptr || cap < 0) BadArg(env, std::string(what) + " is not a direct ByteBuffer (allocateDirect)");
  return Direct{static_cast<uint8_t*>(addr), static_cast<size_t>(cap)};
}

bool ReadRoi(JNIEnv* env, jfloatArray roi, msdk_rect* out) {
  if (roi == nullptr) return false;
  if (env->GetArrayLength(roi) != 4) BadArg(env, "roi must be null or [left, top, right, bottom] (4 floats)");
  float v[4];
  env->GetFloatArrayRegion(roi, 0, 4, v);
  *out = msdk_rect{v[0], v[1], v[2], v[3]};
  return true;
}

int32_t PlaneCount(JNIEnv* env, jint format) {
  switch (format) {
    case MSDK_FORMAT_RGB888:
    case MSDK_FORMAT_RGBA8888:
    case MSDK_FORMAT_BGRA8888: return 1;
    case MSDK_FORMAT_NV21: return 2;
    case MSDK_FORMAT_YUV_420_888: return 3;
    default: BadArg(env, "unknown pixel format " + std::to_string(format));
  }
}

// A frame's format, size and rotation (planes unset).
msdk_frame FrameHeader(JNIEnv* env, jint format, jint width, jint height, jint rotation) {
  msdk_frame f{};
  f.num_planes = PlaneCount(env, format);  // validates format before it becomes an enum
  f.format = static_cast<msdk_pixel_format>(format);
  f.width = width;
  f.height = height;
  f.rotation_degrees = rotation;
  return f;
}

msdk_frame DirectFrame(JNIEnv* env, jint format, jint width, jint height, jint rotation, const jobject planes[3],
                       const jint rs[3], const jint ps[3]) {
  msdk_frame f = FrameHeader(env, format, width, height, rotation);
  for (int i = 0; i < f.num_planes; ++i) {
    const std::string what = "plane" + std::to_string(i);
    const Direct d = DirectBuffer(env, planes[i], what.c_str());
    f.planes[i] = msdk_plane{d.data, d.size, rs[i], ps[i]};
  }
  return f;
}

void CheckOut(JNIEnv* env, jfloatArray out, int32_t k) {
  if (out == nullptr) BadArg(env, "out is null");
  const jsize need = 5 * k + 10;
  if (env->GetArrayLength(out) < need) {
    BadArg(env, "out has " + std::to_string(env->GetArrayLength(out)) + " floats, resultSize(" + std::to_string(k) +
                    ") is " + std::to_string(need));
  }
}

// out: per keypoint x, y, z, score; pose score; affine (6); preprocess, inference, decode microseconds; per
// keypoint visibility (at 4k + 10, after the fields of the first layout, which keep their places).
void WriteResult(JNIEnv* env, jfloatArray out, const msdk_pose& pose, const float affine[6], const int64_t us[3]) {
  const int32_t k = pose.count;
  std::vector<float> r(static_cast<size_t>(5 * k + 10));
  for (int32_t i = 0; i < k; ++i) {
    const msdk_keypoint& kp = pose.keypoints[i];
    r[4 * i] = kp.x;
    r[4 * i + 1] = kp.y;
    r[4 * i + 2] = kp.z;
    r[4 * i + 3] = kp.score;
    r[4 * k + 10 + i] = kp.visibility;
  }
  r[4 * k] = pose.score;
  for (int i = 0; i < 6; ++i) r[4 * k + 1 + i] = affine[i];
  for (int i = 0; i < 3; ++i) r[4 * k + 7 + i] = static_cast<float>(us[i]);
  env->SetFloatArrayRegion(out, 0, static_cast<jsize>(r.size()), r.data());
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

msdk_tensor_info InputInfo(JNIEnv* env, const msdk_processor* p) {
  msdk_tensor_info info{};
  msdk_error err{};
  Check(env, msdk_processor_input_info(p, &info, &err), err);
  return info;
}

// A Java primitive array held with GetPrimitiveArrayCritical for one preprocess call (no copy, no JNI calls
// while held; released before inference).
class Critical {
 public:
  Critical(JNIEnv* env, jarray a) : env_(env), a_(a), p_(env->GetPrimitiveArrayCritical(a, nullptr)) {
    if (p_ == nullptr) Fail(env, MSDK_ERR_INTERNAL, "could not access the Java array");
  }
  ~Critical() { env_->ReleasePrimitiveArrayCritical(a_, p_, JNI_ABORT); }
  const uint8_t* data() const { return static_cast<const uint8_t*>(p_); }

 private:
  JNIEnv* env_;
  jarray a_;
  void* p_;
};

// Preprocesses `frame` into `input`; returns the preprocess time (us). With `pinned` null the plane data are
// pointers; otherwise they are byte offsets into the Java array `pinned`, held (Critical) for this call only.
int64_t PreprocessPinned(JNIEnv* env, const msdk_processor* proc, msdk_frame frame, jarray pinned, jfloatArray roi,
                         void* input, size_t input_size, float affine[6]) {
  msdk_rect r{};
  const bool has_roi = ReadRoi(env, roi, &r);
  msdk_error err{};
  const int64_t t0 = NowUs();
  std::optional<Critical> held;
  if (pinned != nullptr) {
    held.emplace(env, pinned);
    for (int i = 0; i < frame.num_planes; ++i)
      frame.planes[i].data = held->data() + reinterpret_cast<uintptr_t>(frame.planes[i].data);
  }
  const msdk_status st =
      msdk_processor_preprocess(proc, &frame, has_roi ? &r : nullptr, input, input_size, affine, &err);
  held.reset();  // released before any further JNI call
  const int64_t us = NowUs() - t0;
  Check(env, st, err);
  return us;
}

// Staged estimate (preprocess -> run + decode), so the affine is known for the result layout. `pinned`: as
// PreprocessPinned (released before inference).
void EstimateStaged(JNIEnv* env, Estimator& e, jarray pinned, const msdk_frame& frame, jfloatArray roi,
                    jfloatArray out) {
  const msdk_processor* proc = msdk_estimator_processor(e.handle);
  const int32_t k = msdk_processor_num_keypoints(proc);
  CheckOut(env, out, k);
  e.input.resize(InputInfo(env, proc).bytes);
  float affine[6];
  const int64_t pre_us = PreprocessPinned(env, proc, frame, pinned, roi, e.input.data(), e.input.size(), affine);
  e.keypoints.resize(k);
  msdk_pose pose{e.keypoints.data(), k, 0, 0.0f};
  msdk_timings t{};
  msdk_error err{};
  Check(env, msdk_estimator_estimate_input(e.handle, e.input.data(), e.input.size(), affine, &pose, &t, &err), err);
  const int64_t us[3] = {pre_us, t.inference_us, t.decode_us};
  WriteResult(env, out, pose, affine, us);
}

jint ArrayInt(JNIEnv* env, jintArray a, int i) {
  jint v = 0;
  env->GetIntArrayRegion(a, i, 1, &v);
  return v;
}

// Pixels (Bitmap.getPixels ints, 0xAARRGGBB = BGRA in memory): the frame, plane data as an offset (0).
msdk_frame PixelsFrame(JNIEnv* env, jintArray pixels, jint width, jint height, jint stride, jint rotation) {
  if (pixels == nullptr) BadArg(env, "pixels is null");
  if (stride < width)
    BadArg(env, "stride " + std::to_string(stride) + " (pixels) is smaller than the width " + std::to_string(width));
  if (stride > (1 << 28)) BadArg(env, "stride " + std::to_string(stride) + " is too large");
  msdk_frame f = FrameHeader(env, MSDK_FORMAT_BGRA8888, width, height, rotation);
  f.planes[0] = msdk_plane{nullptr, static_cast<size_t>(env->GetArrayLength(pixels)) * 4, stride * 4, 4};
  return f;
}

// ---- natives -------------------------------------------------------------------------------------------

jstring NativeVersion(JNIEnv* env, jclass) {
  return Entry<jstring>(env, nullptr, [&] { return env->NewStringUTF(msdk_version()); });
}

jboolean NativeHasExecuTorch(JNIEnv*, jclass) { return msdk_has_executorch() ? JNI_TRUE : JNI_FALSE; }

jlong NativeCreateEstimator(JNIEnv* env, jclass, jstring model_path, jstring manifest_json, jstring recipe,
                            jint threads) {
  return Entry<jlong>(env, 0, [&]() -> jlong {
    if (model_path == nullptr) BadArg(env, "modelPath is null");
    const std::string path = ToUtf8(env, model_path);
    std::string manifest, rec;
    if (manifest_json != nullptr) manifest = ToUtf8(env, manifest_json);
    if (recipe != nullptr) rec = ToUtf8(env, recipe);
    msdk_estimator_options o{};
    o.model_path = path.c_str();
    o.manifest_json = manifest_json ? manifest.data() : nullptr;
    o.manifest_size = manifest.size();
    o.recipe = recipe ? rec.c_str() : nullptr;
    o.num_threads = threads;
    auto e = std::make_shared<Estimator>();
    msdk_error err{};
    Check(env, msdk_estimator_create(&o, &e->handle, &err), err);
    auto p = std::make_shared<Processor>();
    p->handle = const_cast<msdk_processor*>(msdk_estimator_processor(e->handle));
    p->owner = e;
    std::lock_guard<std::mutex> lock(g_mu);
    const jlong id = g_next++;
    e->processor_id = g_next++;
    g_estimators[id] = e;
    g_processors[e->processor_id] = p;
    return id;
  });
}

void NativeDestroyEstimator(JNIEnv* env, jclass, jlong handle) {
  Entry<int>(env, 0, [&] {
    std::shared_ptr<Estimator> e;
    std::shared_ptr<Processor> p;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      auto it = g_estimators.find(handle);
      if (it == g_estimators.end()) return 0;
      e = std::move(it->second);
      g_estimators.erase(it);
      auto pit = g_processors.find(e->processor_id);
      if (pit != g_processors.end()) {
        p = std::move(pit->second);
        g_processors.erase(pit);
      }
    }
    return 0;  // the holders (and the native estimator) go when the last call using them returns
  });
}

jlong NativeEstimatorProcessor(JNIEnv* env, jclass, jlong handle) {
  return Entry<jlong>(env, 0, [&] { return Lookup(env, g_estimators, handle, "estimator")->processor_id; });
}

jstring NativeEstimatorManifest(JNIEnv* env, jclass, jlong handle) {
  return Entry<jstring>(env, nullptr, [&] {
    auto e = Lookup(env, g_estimators, handle, "estimator");
    std::lock_guard<std::mutex> lock(e->mu);
    return FromUtf8(env, msdk_estimator_manifest(e->handle));
  });
}

jint NativeEstimatorThreads(JNIEnv* env, jclass, jlong handle) {
  return Entry<jint>(env, 0, [&] {
    auto e = Lookup(env, g_estimators, handle, "estimator");
    return static_cast<jint>(msdk_estimator_num_threads(e->handle));
  });
}

void NativeEstimate(JNIEnv* env, jclass, jlong handle, jint format, jint width, jint height, jint rotation, jobject p0,
                    jint rs0, jint ps0, jobject p1, jint rs1, jint ps1, jobject p2, jint rs2, jint ps2, jfloatArray roi,
                    jfloatArray out) {
  Entry<int>(env, 0, [&] {
    auto e = Lookup(env, g_estimators, handle, "estimator");
    std::lock_guard<std::mutex> lock(e->mu);
    const jobject planes[3] = {p0, p1, p2};
    const jint rs[3] = {rs0, rs1, rs2}, ps[3] = {ps0, ps1, ps2};
    const msdk_frame f = DirectFrame(env, format, width, height, rotation, planes, rs, ps);
    EstimateStaged(env, *e, nullptr, f, roi, out);
    return 0;
  });
}

void NativeEstimatePixels(JNIEnv* env, jclass, jlong handle, jintArray pixels, jint width, jint height, jint stride,
                          jint rotation, jfloatArray roi, jfloatArray out) {
  Entry<int>(env, 0, [&] {
    auto e = Lookup(env, g_estimators, handle, "estimator");
    std::lock_guard<std::mutex> lock(e->mu);
    msdk_frame f = PixelsFrame(env, pixels, width, height, stride, rotation);
    EstimateStaged(env, *e, pixels, f, roi, out);
    return 0;
  });
}

void NativeEstimateBytes(JNIEnv* env, jclass, jlong handle, jint format, jbyteArray data, jint width, jint height,
                         jint rotation, jintArray offsets, jintArray row_strides, jintArray pixel_strides,
                         jfloatArray roi, jfloatArray out) {
  Entry<int>(env, 0, [&] {
    auto e = Lookup(env, g_estimators, handle, "estimator");
    std::lock_guard<std::mutex> lock(e->mu);
    if (data == nullptr) BadArg(env, "data is null");
    if (offsets == nullptr || row_strides == nullptr || pixel_strides == nullptr) {
      BadArg(env, "offsets, rowStrides and pixelStrides must not be null");
    }
    if (env->GetArrayLength(offsets) != 3 || env->GetArrayLength(row_strides) != 3 ||
        env->GetArrayLength(pixel_strides) != 3) {
      BadArg(env, "offsets, rowStrides and pixelStrides must have length 3");
    }
    const int64_t len = env->GetArrayLength(data);
    msdk_frame f = FrameHeader(env, format, width, height, rotation);
    for (int i = 0; i < f.num_planes; ++i) {
      const jint off = ArrayInt(env, offsets, i);
      if (off < 0 || off >= len) {
        BadArg(env, "offsets[" + std::to_string(i) + "] " + std::to_string(off) + " is outside the " +
                        std::to_string(len) + "-byte array");
      }
      // data holds the offset until the array is pinned (PreprocessPinned adds the base address).
      f.planes[i] =
          msdk_plane{reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(off)), static_cast<size_t>(len - off),
                     ArrayInt(env, row_strides, i), ArrayInt(env, pixel_strides, i)};
    }
    EstimateStaged(env, *e, data, f, roi, out);
    return 0;
  });
}

jlong NativeCreateProcessor(JNIEnv* env, jclass, jstring manifest_json, jstring recipe) {
  return Entry<jlong>(env, 0, [&]() -> jlong {
    if (manifest_json == nullptr) BadArg(env, "manifestJson is null");
    const std::string manifest = ToUtf8(env, manifest_json);
    std::string rec;
    if (recipe != nullptr) rec = ToUtf8(env, recipe);
    auto p = std::make_shared<Processor>();
    msdk_error err{};
    Check(env,
          msdk_processor_create(manifest.data(), manifest.size(), recipe ? rec.c_str() : nullptr, &p->handle, &err),
          err);
    std::lock_guard<std::mutex> lock(g_mu);
    const jlong id = g_next++;
    g_processors[id] = p;
    return id;
  });
}

void NativeDestroyProcessor(JNIEnv* env, jclass, jlong handle) {
  Entry<int>(env, 0, [&] {
    std::shared_ptr<Processor> p;
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_processors.find(handle);
    if (it == g_processors.end() || it->second->owner) return 0;  // unknown, closed, or borrowed: no-op
    p = std::move(it->second);
    g_processors.erase(it);
    return 0;
  });
}

jint NativeNumKeypoints(JNIEnv* env, jclass, jlong handle) {
  return Entry<jint>(
      env, 0, [&] { return msdk_processor_num_keypoints(Lookup(env, g_processors, handle, "processor")->handle); });
}

jint NativeInputBytes(JNIEnv* env, jclass, jlong handle) {
  return Entry<jint>(env, 0, [&] {
    auto p = Lookup(env, g_processors, handle, "processor");
    return static_cast<jint>(InputInfo(env, p->handle).bytes);
  });
}

jintArray NativeOutputCounts(JNIEnv* env, jclass, jlong handle) {
  return Entry<jintArray>(env, nullptr, [&]() -> jintArray {
    auto p = Lookup(env, g_processors, handle, "processor");
    const int32_t n = msdk_processor_num_outputs(p->handle);
    std::vector<jint> counts(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
      msdk_tensor_info info{};
      msdk_error err{};
      Check(env, msdk_processor_output_info(p->handle, i, &info, &err), err);
      counts[i] = static_cast<jint>(info.bytes / sizeof(float));
    }
    jintArray a = env->NewIntArray(n);
    if (a == nullptr) throw JavaThrown{};
    env->SetIntArrayRegion(a, 0, n, counts.data());
    return a;
  });
}

// Preprocess into the direct ByteBuffer `input`, the affine into affine_out. `pinned`: as PreprocessPinned.
void PreprocessInto(JNIEnv* env, const msdk_processor* p, const msdk_frame& f, jarray pinned, jfloatArray roi,
                    jobject input, jfloatArray affine_out) {
  if (affine_out == nullptr || env->GetArrayLength(affine_out) < 6) BadArg(env, "affineOut must have 6 floats");
  const Direct in = DirectBuffer(env, input, "input");
  const size_t need = InputInfo(env, p).bytes;
  if (in.size != need) {
    BadArg(env, "input has capacity " + std::to_string(in.size) + " bytes, the model input needs exactly " +
                    std::to_string(need));
  }
  float affine[6];
  PreprocessPinned(env, p, f, pinned, roi, in.data, in.size, affine);
  env->SetFloatArrayRegion(affine_out, 0, 6, affine);
}

void NativePreprocess(JNIEnv* env, jclass, jlong handle, jint format, jint width, jint height, jint rotation,
                      jobject p0, jint rs0, jint ps0, jobject p1, jint rs1, jint ps1, jobject p2, jint rs2, jint ps2,
                      jfloatArray roi, jobject input, jfloatArray affine_out) {
  Entry<int>(env, 0, [&] {
    auto p = Lookup(env, g_processors, handle, "processor");
    std::lock_guard<std::mutex> lock(p->mu());
    const jobject planes[3] = {p0, p1, p2};
    const jint rs[3] = {rs0, rs1, rs2}, ps[3] = {ps0, ps1, ps2};
    const msdk_frame f = DirectFrame(env, format, width, height, rotation, planes, rs, ps);
    PreprocessInto(env, p->handle, f, nullptr, roi, input, affine_out);
    return 0;
  });
}

void NativePreprocessPixels(JNIEnv* env, jclass, jlong handle, jintArray pixels, jint width, jint height, jint stride,
                            jint rotation, jfloatArray roi, jobject input, jfloatArray affine_out) {
  Entry<int>(env, 0, [&] {
    auto p = Lookup(env, g_processors, handle, "processor");
    std::lock_guard<std::mutex> lock(p->mu());
    const msdk_frame f = PixelsFrame(env, pixels, width, height, stride, rotation);
    PreprocessInto(env, p->handle, f, pixels, roi, input, affine_out);
    return 0;
  });
}

void NativeDecode(JNIEnv* env, jclass, jlong handle, jobjectArray outputs, jfloatArray affine, jfloatArray out) {
  Entry<int>(env, 0, [&] {
    auto p = Lookup(env, g_processors, handle, "processor");
    std::lock_guard<std::mutex> lock(p->mu());
    const int32_t k = msdk_processor_num_keypoints(p->handle);
    CheckOut(env, out, k);
    if (affine == nullptr || env->GetArrayLength(affine) != 6) BadArg(env, "affine must have 6 floats");
    if (outputs == nullptr) BadArg(env, "outputs is null");
    const int32_t n = msdk_processor_num_outputs(p->handle);
    if (env->GetArrayLength(outputs) != n) {
      BadArg(env, "outputs has " + std::to_string(env->GetArrayLength(outputs)) + " buffers, the model has " +
                      std::to_string(n));
    }
    std::vector<const float*> ptrs(static_cast<size_t>(n));
    std::vector<size_t> counts(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
      msdk_tensor_info info{};
      msdk_error err{};
      Check(env, msdk_processor_output_info(p->handle, i, &info, &err), err);
      jobject b = env->GetObjectArrayElement(outputs, i);
      const std::string what = "outputs[" + std::to_string(i) + "]";
      const Direct d = DirectBuffer(env, b, what.c_str());
      env->DeleteLocalRef(b);
      if (d.size != info.bytes) {
        BadArg(env, what + " has capacity " + std::to_string(d.size) + " bytes, the output needs exactly " +
                        std::to_string(info.bytes));
      }
      if (reinterpret_cast<uintptr_t>(d.data) % alignof(float) != 0) BadArg(env, what + " is not 4-byte aligned");
      ptrs[i] = reinterpret_cast<const float*>(d.data);
      counts[i] = info.bytes / sizeof(float);
    }
    float a[6];
    env->GetFloatArrayRegion(affine, 0, 6, a);
    p->keypoints.resize(k);
    msdk_pose pose{p->keypoints.data(), k, 0, 0.0f};
    msdk_error err{};
    const int64_t t0 = NowUs();
    Check(env, msdk_processor_decode(p->handle, ptrs.data(), counts.data(), n, a, &pose, &err), err);
    const int64_t us[3] = {0, 0, NowUs() - t0};
    WriteResult(env, out, pose, a, us);
    return 0;
  });
}

#define MSDK_BUF "Ljava/nio/ByteBuffer;"
#define MSDK_FRAME_ARGS "JIIII" MSDK_BUF "II" MSDK_BUF "II" MSDK_BUF "II"

// One entry per `external fun` of NativeCore.kt, in its order.
const JNINativeMethod kMethods[] = {
    {const_cast<char*>("nativeVersion"), const_cast<char*>("()Ljava/lang/String;"),
     reinterpret_cast<void*>(NativeVersion)},
    {const_cast<char*>("nativeHasExecuTorch"), const_cast<char*>("()Z"), reinterpret_cast<void*>(NativeHasExecuTorch)},
    {const_cast<char*>("nativeCreateEstimator"),
     const_cast<char*>("(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;I)J"),
     reinterpret_cast<void*>(NativeCreateEstimator)},
    {const_cast<char*>("nativeDestroyEstimator"), const_cast<char*>("(J)V"),
     reinterpret_cast<void*>(NativeDestroyEstimator)},
    {const_cast<char*>("nativeEstimatorProcessor"), const_cast<char*>("(J)J"),
     reinterpret_cast<void*>(NativeEstimatorProcessor)},
    {const_cast<char*>("nativeEstimatorManifest"), const_cast<char*>("(J)Ljava/lang/String;"),
     reinterpret_cast<void*>(NativeEstimatorManifest)},
    {const_cast<char*>("nativeEstimatorThreads"), const_cast<char*>("(J)I"),
     reinterpret_cast<void*>(NativeEstimatorThreads)},
    {const_cast<char*>("nativeEstimate"), const_cast<char*>("(" MSDK_FRAME_ARGS "[F[F)V"),
     reinterpret_cast<void*>(NativeEstimate)},
    {const_cast<char*>("nativeEstimatePixels"), const_cast<char*>("(J[IIIII[F[F)V"),
     reinterpret_cast<void*>(NativeEstimatePixels)},
    {const_cast<char*>("nativeEstimateBytes"), const_cast<char*>("(JI[BIII[I[I[I[F[F)V"),
     reinterpret_cast<void*>(NativeEstimateBytes)},
    {const_cast<char*>("nativeCreateProcessor"), const_cast<char*>("(Ljava/lang/String;Ljava/lang/String;)J"),
     reinterpret_cast<void*>(NativeCreateProcessor)},
    {const_cast<char*>("nativeDestroyProcessor"), const_cast<char*>("(J)V"),
     reinterpret_cast<void*>(NativeDestroyProcessor)},
    {const_cast<char*>("nativeNumKeypoints"), const_cast<char*>("(J)I"), reinterpret_cast<void*>(NativeNumKeypoints)},
    {const_cast<char*>("nativeInputBytes"), const_cast<char*>("(J)I"), reinterpret_cast<void*>(NativeInputBytes)},
    {const_cast<char*>("nativeOutputCounts"), const_cast<char*>("(J)[I"), reinterpret_cast<void*>(NativeOutputCounts)},
    {const_cast<char*>("nativePreprocess"), const_cast<char*>("(" MSDK_FRAME_ARGS "[F" MSDK_BUF "[F)V"),
     reinterpret_cast<void*>(NativePreprocess)},
    {const_cast<char*>("nativePreprocessPixels"), const_cast<char*>("(J[IIIII[F" MSDK_BUF "[F)V"),
     reinterpret_cast<void*>(NativePreprocessPixels)},
    {const_cast<char*>("nativeDecode"), const_cast<char*>("(J[" MSDK_BUF "[F[F)V"),
     reinterpret_cast<void*>(NativeDecode)},
};

jclass GlobalClass(JNIEnv* env, const char* name) {
  jclass local = env->FindClass(name);
  if (local == nullptr) {
    env->ExceptionClear();
    return nullptr;
  }
  auto global = static_cast<jclass>(env->NewGlobalRef(local));
  env->DeleteLocalRef(local);
  return global;
}

}  // namespace

extern "C" JNIEXPORT jint JNI_OnLoad(JavaVM* vm, void*) {
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_6) != JNI_OK) return JNI_ERR;
  g_iae = GlobalClass(env, "java/lang/IllegalArgumentException");
  g_ise = GlobalClass(env, "java/lang/IllegalStateException");
  g_runtime = GlobalClass(env, "java/lang/RuntimeException");
  if (g_iae == nullptr || g_ise == nullptr || g_runtime == nullptr) return JNI_ERR;
  g_pose = GlobalClass(env, "io/mobilesdk/pose/PoseException");
  if (g_pose != nullptr) {
    g_pose_ctor = env->GetMethodID(g_pose, "<init>", "(ILjava/lang/String;)V");
    if (g_pose_ctor == nullptr) {
      env->ExceptionClear();
      env->DeleteGlobalRef(g_pose);
      g_pose = nullptr;
    }
  }
  jclass cls = env->FindClass(kClass);
  if (cls == nullptr) return JNI_ERR;  // NoClassDefFoundError pending: System.load reports it
  const jint n = static_cast<jint>(sizeof kMethods / sizeof kMethods[0]);
  if (env->RegisterNatives(cls, kMethods, n) != JNI_OK) return JNI_ERR;
  env->DeleteLocalRef(cls);
  return JNI_VERSION_1_6;
}
