/*
 * mobilesdk native pose core: the C API.
 *
 * One C surface over the C++ core (preprocessing, decoders, ExecuTorch or LiteRT inference), so that the JNI bindings,
 * the host/on-device runner and any later binding stay a few lines each. Opaque handles, plain structs in
 * and out, status codes with a message; nothing here throws, aborts or keeps a pointer the caller passed in
 * after the call returns (except the model path, which is copied).
 *
 * Conventions (the same as the Python reference, mobilesdk/preprocess.py and mobilesdk/codecs):
 *  - Frames are given as stored, plus a clockwise rotation (0/90/180/270) that makes them upright. ROIs,
 *    affine matrices and keypoints are in upright-frame pixels, index convention (pixel (row i, col j) is
 *    the point x = j, y = i).
 *  - The affine A (2x3, row-major: a00 a01 a02 a10 a11 a12) maps upright-frame px to model-input px.
 *  - Sizes are in pixels, strides in bytes, buffer sizes in bytes unless a name says "count".
 *  - Every function validates every pointer, size, stride and enum before touching memory.
 *
 * Thread safety: a handle may be used from one thread at a time (callers serialise); distinct handles are
 * independent, except that ExecuTorch's CPU thread pool is process-wide (see msdk_estimator_options).
 */
#ifndef MOBILESDK_POSE_H_
#define MOBILESDK_POSE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MSDK_API_VERSION 1
#define MSDK_ERROR_MESSAGE_SIZE 512

typedef enum msdk_status {
  MSDK_OK = 0,
  MSDK_ERR_INVALID_ARGUMENT = 1, /* a null pointer, bad size/stride/length/rotation/ROI/enum */
  MSDK_ERR_INVALID_STATE = 2,    /* e.g. a handle used after destroy (best effort), a busy thread pool */
  MSDK_ERR_IO = 3,               /* a file cannot be opened or read */
  MSDK_ERR_INVALID_MODEL = 4,    /* not an ExecuTorch program / TFLite model, fails verification, does not load */
  MSDK_ERR_INVALID_MANIFEST = 5, /* manifest JSON malformed, a key missing, an unsupported value */
  MSDK_ERR_MISMATCH = 6,         /* the manifest does not describe the program (input/output shapes, dtypes) */
  MSDK_ERR_INFERENCE = 7,        /* the runtime failed to execute */
  MSDK_ERR_NUMERIC = 8,          /* NaN or inf in a model output */
  MSDK_ERR_UNSUPPORTED = 9,      /* compiled without the engine the model needs, or a feature not built in */
  MSDK_ERR_INTERNAL = 10         /* a bug: please report */
} msdk_status;

/* Filled by every call that takes it (may be NULL): status and a one-line, NUL-terminated message. */
typedef struct msdk_error {
  msdk_status status;
  char message[MSDK_ERROR_MESSAGE_SIZE];
} msdk_error;

/* Pixel formats. Android's Bitmap.getPixels ints (0xAARRGGBB) are MSDK_FORMAT_BGRA8888 in memory on every
 * (little-endian) Android ABI. */
typedef enum msdk_pixel_format {
  MSDK_FORMAT_RGB888 = 1,     /* 1 plane, 3 bytes/pixel R,G,B */
  MSDK_FORMAT_RGBA8888 = 2,   /* 1 plane, 4 bytes/pixel R,G,B,A (Android Bitmap ARGB_8888 memory) */
  MSDK_FORMAT_BGRA8888 = 3,   /* 1 plane, 4 bytes/pixel B,G,R,A */
  MSDK_FORMAT_NV21 = 4,       /* 2 planes: Y; interleaved V,U per 2x2 block. Even width and height. */
  MSDK_FORMAT_YUV_420_888 = 5 /* 3 planes Y, U, V with row and pixel strides. Even width and height. */
} msdk_pixel_format;

typedef struct msdk_plane {
  const uint8_t* data;
  size_t size;          /* bytes readable from data */
  int32_t row_stride;   /* bytes between rows */
  int32_t pixel_stride; /* bytes between pixels of a row (RGB: 3, RGBA/BGRA: 4, Y: 1, NV21 VU: 2) */
} msdk_plane;

typedef struct msdk_frame {
  msdk_pixel_format format;
  int32_t width; /* as stored, before rotation */
  int32_t height;
  int32_t num_planes;
  msdk_plane planes[3];
  int32_t rotation_degrees; /* clockwise rotation that makes the frame upright: 0, 90, 180, 270 */
} msdk_frame;

/* A region of interest (the person box) in upright-frame pixels; it must overlap the frame. */
typedef struct msdk_rect {
  float left, top, right, bottom;
} msdk_rect;

typedef struct msdk_keypoint {
  float x, y;  /* upright-frame px */
  float z;     /* integral-3d: depth in output-grid units; NaN for 2-D codecs */
  float score; /* the codec's raw confidence, on its own scale */
  /* Addition to API version 1 (the struct grew by this member: rebuild against this header): the calibrated
   * probability that the keypoint is visible (inside the crop, not occluded), in [0, 1], one meaning for every
   * codec; threshold 0.5. A monotone map of score with the manifest's codec.visibility {a, b} (or the codec's
   * default): 1 / (1 + exp(-(a ln(score) + b))), 0 for score <= 0 (mobilesdk/codecs/visibility.py). */
  float visibility;
} msdk_keypoint;

/* One person. The caller owns `keypoints` (capacity entries); count is set to the model's K. */
typedef struct msdk_pose {
  msdk_keypoint* keypoints;
  int32_t capacity;
  int32_t count;
  float score; /* mean of the keypoint scores */
} msdk_pose;

typedef struct msdk_timings {
  int64_t preprocess_us;
  int64_t inference_us;
  int64_t decode_us; /* decode + map back to the frame */
  int64_t total_us;
} msdk_timings;

typedef enum msdk_dtype { MSDK_DTYPE_FLOAT32 = 1, MSDK_DTYPE_UINT8 = 2 } msdk_dtype;

typedef struct msdk_tensor_info {
  int32_t rank;
  int64_t shape[8];
  msdk_dtype dtype;
  size_t bytes;
} msdk_tensor_info;

const char* msdk_version(void);            /* e.g. "mobilesdk-native 0.1.0 (executorch 1.5.1, litert 2.3.0)" */
int32_t msdk_has_executorch(void);         /* 1 if the ExecuTorch engine is compiled in */
int32_t msdk_has_litert(void);             /* 1 if the LiteRT engine is compiled in (addition to API version 1) */
const char* msdk_status_name(msdk_status); /* "MSDK_ERR_INVALID_ARGUMENT" ... */

/* ---- processor: the manifest's pre- and post-processing, without an engine (e.g. for TFLite) --------- */

typedef struct msdk_processor msdk_processor;

/* `manifest_json`: a manifest.json (choose the artifact by `recipe`; NULL = the only one) or an embedded
 * manifest (one artifact). The JSON is parsed and validated here and not referenced afterwards. */
msdk_status msdk_processor_create(const char* manifest_json, size_t manifest_size, const char* recipe,
                                  msdk_processor** out, msdk_error* error);
void msdk_processor_destroy(msdk_processor* processor); /* NULL is a no-op */

int32_t msdk_processor_num_keypoints(const msdk_processor* processor);
/* The name of keypoint i (0 <= i < K), owned by the processor; NULL when out of range. */
const char* msdk_processor_keypoint_name(const msdk_processor* processor, int32_t index);
msdk_status msdk_processor_input_info(const msdk_processor* processor, msdk_tensor_info* out, msdk_error* error);
int32_t msdk_processor_num_outputs(const msdk_processor* processor);
msdk_status msdk_processor_output_info(const msdk_processor* processor, int32_t index, msdk_tensor_info* out,
                                       msdk_error* error);

/* Addition to API version 1: threads the decode may use (integral-3d volumes: joints in parallel; results do
 * not depend on it). Default 1 for a processor of its own; an estimator's follows its num_threads (0: up to 4).
 * threads < 1 or > 256: MSDK_ERR_INVALID_ARGUMENT. Not to be called while another thread decodes. */
msdk_status msdk_processor_set_threads(msdk_processor* processor, int32_t threads, msdk_error* error);

/* Frame (+ optional roi) -> the model input in `input` (exactly input_info.bytes) and the affine A. */
msdk_status msdk_processor_preprocess(const msdk_processor* processor, const msdk_frame* frame, const msdk_rect* roi,
                                      void* input, size_t input_size, float affine_out[6], msdk_error* error);

/* Raw float32 outputs, in the manifest's output order (outputs[i] holds output_counts[i] floats), and the
 * affine from preprocess -> one pose in upright-frame px. NaN/inf in an output: MSDK_ERR_NUMERIC. */
msdk_status msdk_processor_decode(const msdk_processor* processor, const float* const* outputs,
                                  const size_t* output_counts, int32_t num_outputs, const float affine[6],
                                  msdk_pose* pose, msdk_error* error);

/* ---- estimator: processor + engine (ExecuTorch for a .pte, LiteRT for a .tflite) -------------------------- */

typedef struct msdk_estimator msdk_estimator;

typedef struct msdk_estimator_options {
  const char* model_path;    /* an ExecuTorch program (memory-mapped) or a TFLite model (read into memory),
                                told apart by content, not by name */
  const char* manifest_json; /* NULL: the model's own manifest (.pte: `mobilesdk_manifest` method; .tflite:
                                `mobilesdk_manifest` metadata entry) */
  size_t manifest_size;
  const char* recipe;  /* which artifact of a manifest.json; NULL = the one matching the file */
  int32_t num_threads; /* 0 = the default: ExecuTorch's pool keeps the size it had when the process
                          first used it (one thread per core); LiteRT gets one thread per online CPU
                          (its own default would be 1). ExecuTorch's CPU thread pool is process-wide: it
                          is resized only while no ExecuTorch estimator is alive; otherwise the running
                          pool is kept and msdk_estimator_num_threads says what is used. Each LiteRT
                          estimator has its own XNNPACK pool of exactly this size. */
} msdk_estimator_options;

msdk_status msdk_estimator_create(const msdk_estimator_options* options, msdk_estimator** out, msdk_error* error);
void msdk_estimator_destroy(msdk_estimator* estimator); /* NULL is a no-op */

const msdk_processor* msdk_estimator_processor(const msdk_estimator* estimator);
int32_t msdk_estimator_num_threads(const msdk_estimator* estimator);
/* The manifest JSON in use (owned by the estimator, NUL-terminated). */
const char* msdk_estimator_manifest(const msdk_estimator* estimator);
/* Addition to API version 1: the runtime running the model, "executorch" or "litert", and its version
 * (e.g. "1.5.1", "2.3.0"); static strings. NULL for a handle that is not live. */
const char* msdk_estimator_runtime(const msdk_estimator* estimator);
const char* msdk_estimator_runtime_version(const msdk_estimator* estimator);

/* Addition to API version 1, a debugging aid: tag >= 0 makes msdk_estimator_estimate (and
 * msdk_estimator_estimate_input) mark each stage boundary with the system call getpid(0x6d73646b, tag << 8 | event),
 * event 1..6 = preprocess begin/end, inference begin/end, decode begin/end; an instruction-counting emulator
 * (`mobilesdk bench --emulate arm64`) splits its counts there. getpid ignores the arguments: harmless on a phone.
 * -1 (the default) marks nothing. */
void msdk_estimator_set_instruction_marks(msdk_estimator* estimator, int32_t tag);

/* preprocess -> forward -> decode -> map back; timings may be NULL. */
msdk_status msdk_estimator_estimate(msdk_estimator* estimator, const msdk_frame* frame, const msdk_rect* roi,
                                    msdk_pose* pose, msdk_timings* timings, msdk_error* error);

/* forward on a caller-built input (input_info.bytes) -> raw outputs copied to `outputs[i]`
 * (output_counts[i] floats each, as output_info); used by the runner's raw mode and the tests. */
msdk_status msdk_estimator_run(msdk_estimator* estimator, const void* input, size_t input_size, float* const* outputs,
                               const size_t* output_counts, int32_t num_outputs, int64_t* inference_us,
                               msdk_error* error);

/* Addition to API version 1: forward on an input built with msdk_processor_preprocess of this estimator's
 * processor, decoded with that call's affine -> pose. The staged form of msdk_estimator_estimate, for bindings
 * that must not hold the frame across inference (JNI critical arrays). timings->preprocess_us is 0. */
msdk_status msdk_estimator_estimate_input(msdk_estimator* estimator, const void* input, size_t input_size,
                                          const float affine[6], msdk_pose* pose, msdk_timings* timings,
                                          msdk_error* error);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOBILESDK_POSE_H_ */
