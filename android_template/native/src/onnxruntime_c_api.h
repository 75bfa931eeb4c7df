// The part of ONNX Runtime's C ABI that engine_onnxruntime.cpp uses, declared here because the onnxruntime
// wheels ship libonnxruntime.so without headers (and NuGet, which has them, is not reachable). We link that
// library and call into it; nothing here implements it. These are our own declarations of its ABI, written
// from reading ONNX Runtime's public header include/onnxruntime/core/session/onnxruntime_c_api.h (GitHub
// microsoft/onnxruntime), not a copy of it.
//
// The ABI: the library exports one C function, OrtGetApiBase(), returning a table of two functions
// (GetApi, GetVersionString). GetApi(v) returns the OrtApi of API version v (ORT_API_VERSION v ships in ONNX
// Runtime 1.v) or null if the library is older than v. OrtApi is a struct of function pointers that ONNX
// Runtime only ever appends to (existing members never move or change signature: the header says so, and
// every release keeps older clients working), so a member is reached by its index in that struct, and an
// index valid for version v is valid for every later library. The indices below were counted member by
// member in the header; the highest one used is AddSessionConfigEntry (130), present since API 5.
//
// We request kOrtApiVersion: libraries older than ONNX Runtime 1.17 (GetApi returns null) are refused with a
// one-line error naming their GetVersionString. Every function used exists well before API 17; 17 is the
// oldest release this engine is meant for (Maven Central's 1.22 and PyPI's 1.32 both run it).
#ifndef MSDK_ONNXRUNTIME_C_API_H_
#define MSDK_ONNXRUNTIME_C_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Opaque handles (the library owns their layout).
typedef struct OrtApi OrtApi;
typedef struct OrtEnv OrtEnv;
typedef struct OrtStatus OrtStatus;  // null: success
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtRunOptions OrtRunOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtTypeInfo OrtTypeInfo;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtModelMetadata OrtModelMetadata;
typedef struct OrtAllocator OrtAllocator;  // a struct of function pointers; only passed through here

typedef struct OrtApiBase {
  const OrtApi* (*GetApi)(uint32_t version);
  const char* (*GetVersionString)(void);
} OrtApiBase;

const OrtApiBase* OrtGetApiBase(void);

// Enumerations (C enums: int-sized), the values ONNX Runtime defines.
typedef enum {
  kOrtLoggingVerbose = 0,
  kOrtLoggingInfo = 1,
  kOrtLoggingWarning = 2,
  kOrtLoggingError = 3,
  kOrtLoggingFatal = 4,
} OrtLoggingLevel;

typedef enum { kOrtSequential = 0, kOrtParallel = 1 } ExecutionMode;

typedef enum {
  kOrtDisableAll = 0,
  kOrtEnableBasic = 1,
  kOrtEnableExtended = 2,
  kOrtEnableAll = 99,
} GraphOptimizationLevel;

typedef enum { kOrtDeviceAllocator = 0, kOrtArenaAllocator = 1 } OrtAllocatorType;
typedef enum { kOrtMemTypeDefault = 0 } OrtMemType;

// ONNX TensorProto.DataType numbering.
typedef enum {
  kOnnxUndefined = 0,
  kOnnxFloat = 1,
  kOnnxUInt8 = 2,
  kOnnxInt8 = 3,
  kOnnxUInt16 = 4,
  kOnnxInt16 = 5,
  kOnnxInt32 = 6,
  kOnnxInt64 = 7,
  kOnnxString = 8,
  kOnnxBool = 9,
  kOnnxFloat16 = 10,
  kOnnxDouble = 11,
} ONNXTensorElementDataType;

#ifdef __cplusplus
}  // extern "C"
#endif

#ifdef __cplusplus
namespace msdk {
namespace ort {

constexpr uint32_t kOrtApiVersion = 17;

// Member indices in struct OrtApi (append-only ABI, see above).
enum ApiIndex : size_t {
  kGetErrorMessage = 2,
  kCreateEnv = 3,
  kCreateSessionFromArray = 8,
  kRun = 9,
  kCreateSessionOptions = 10,
  kSetSessionExecutionMode = 13,
  kSetSessionGraphOptimizationLevel = 23,
  kSetIntraOpNumThreads = 24,
  kSetInterOpNumThreads = 25,
  kSessionGetInputCount = 30,
  kSessionGetOutputCount = 31,
  kSessionGetInputTypeInfo = 33,
  kSessionGetOutputTypeInfo = 34,
  kSessionGetInputName = 36,
  kSessionGetOutputName = 37,
  kCreateTensorWithDataAsOrtValue = 49,
  kCastTypeInfoToTensorInfo = 55,
  kGetTensorElementType = 60,
  kGetDimensionsCount = 61,
  kGetDimensions = 62,
  kCreateCpuMemoryInfo = 69,
  kAllocatorFree = 76,
  kGetAllocatorWithDefaultOptions = 78,
  kReleaseEnv = 92,
  kReleaseStatus = 93,
  kReleaseMemoryInfo = 94,
  kReleaseSession = 95,
  kReleaseValue = 96,
  kReleaseTypeInfo = 98,
  kReleaseSessionOptions = 100,
  kSessionGetModelMetadata = 111,
  kModelMetadataLookupCustomMetadataMap = 116,
  kReleaseModelMetadata = 118,
  kAddSessionConfigEntry = 130,
};

// The signature of each member used, by index.
template <ApiIndex I>
struct Fn;
#define MSDK_ORT_FN(index, ret, ...)   \
  template <>                          \
  struct Fn<index> {                   \
    using type = ret (*)(__VA_ARGS__); \
  }
MSDK_ORT_FN(kGetErrorMessage, const char*, const OrtStatus*);
MSDK_ORT_FN(kCreateEnv, OrtStatus*, OrtLoggingLevel, const char*, OrtEnv**);
MSDK_ORT_FN(kCreateSessionFromArray, OrtStatus*, const OrtEnv*, const void*, size_t, const OrtSessionOptions*,
            OrtSession**);
MSDK_ORT_FN(kRun, OrtStatus*, OrtSession*, const OrtRunOptions*, const char* const*, const OrtValue* const*, size_t,
            const char* const*, size_t, OrtValue**);
MSDK_ORT_FN(kCreateSessionOptions, OrtStatus*, OrtSessionOptions**);
MSDK_ORT_FN(kSetSessionExecutionMode, OrtStatus*, OrtSessionOptions*, ExecutionMode);
MSDK_ORT_FN(kSetSessionGraphOptimizationLevel, OrtStatus*, OrtSessionOptions*, GraphOptimizationLevel);
MSDK_ORT_FN(kSetIntraOpNumThreads, OrtStatus*, OrtSessionOptions*, int);
MSDK_ORT_FN(kSetInterOpNumThreads, OrtStatus*, OrtSessionOptions*, int);
MSDK_ORT_FN(kSessionGetInputCount, OrtStatus*, const OrtSession*, size_t*);
MSDK_ORT_FN(kSessionGetOutputCount, OrtStatus*, const OrtSession*, size_t*);
MSDK_ORT_FN(kSessionGetInputTypeInfo, OrtStatus*, const OrtSession*, size_t, OrtTypeInfo**);
MSDK_ORT_FN(kSessionGetOutputTypeInfo, OrtStatus*, const OrtSession*, size_t, OrtTypeInfo**);
MSDK_ORT_FN(kSessionGetInputName, OrtStatus*, const OrtSession*, size_t, OrtAllocator*, char**);
MSDK_ORT_FN(kSessionGetOutputName, OrtStatus*, const OrtSession*, size_t, OrtAllocator*, char**);
MSDK_ORT_FN(kCreateTensorWithDataAsOrtValue, OrtStatus*, const OrtMemoryInfo*, void*, size_t, const int64_t*, size_t,
            ONNXTensorElementDataType, OrtValue**);
MSDK_ORT_FN(kCastTypeInfoToTensorInfo, OrtStatus*, const OrtTypeInfo*, const OrtTensorTypeAndShapeInfo**);
MSDK_ORT_FN(kGetTensorElementType, OrtStatus*, const OrtTensorTypeAndShapeInfo*, ONNXTensorElementDataType*);
MSDK_ORT_FN(kGetDimensionsCount, OrtStatus*, const OrtTensorTypeAndShapeInfo*, size_t*);
MSDK_ORT_FN(kGetDimensions, OrtStatus*, const OrtTensorTypeAndShapeInfo*, int64_t*, size_t);
MSDK_ORT_FN(kCreateCpuMemoryInfo, OrtStatus*, OrtAllocatorType, OrtMemType, OrtMemoryInfo**);
MSDK_ORT_FN(kAllocatorFree, OrtStatus*, OrtAllocator*, void*);
MSDK_ORT_FN(kGetAllocatorWithDefaultOptions, OrtStatus*, OrtAllocator**);
MSDK_ORT_FN(kReleaseEnv, void, OrtEnv*);
MSDK_ORT_FN(kReleaseStatus, void, OrtStatus*);
MSDK_ORT_FN(kReleaseMemoryInfo, void, OrtMemoryInfo*);
MSDK_ORT_FN(kReleaseSession, void, OrtSession*);
MSDK_ORT_FN(kReleaseValue, void, OrtValue*);
MSDK_ORT_FN(kReleaseTypeInfo, void, OrtTypeInfo*);
MSDK_ORT_FN(kReleaseSessionOptions, void, OrtSessionOptions*);
MSDK_ORT_FN(kSessionGetModelMetadata, OrtStatus*, const OrtSession*, OrtModelMetadata**);
MSDK_ORT_FN(kModelMetadataLookupCustomMetadataMap, OrtStatus*, const OrtModelMetadata*, OrtAllocator*, const char*,
            char**);
MSDK_ORT_FN(kReleaseModelMetadata, void, OrtModelMetadata*);
MSDK_ORT_FN(kAddSessionConfigEntry, OrtStatus*, OrtSessionOptions*, const char*, const char*);
#undef MSDK_ORT_FN

// Member `I` of the table `api` (a struct of same-sized function pointers, read as an array of them).
template <ApiIndex I>
typename Fn<I>::type Get(const OrtApi* api) {
  using Any = void (*)();
  return reinterpret_cast<typename Fn<I>::type>(reinterpret_cast<const Any*>(api)[I]);
}

}  // namespace ort
}  // namespace msdk
#endif  // __cplusplus

#endif  // MSDK_ONNXRUNTIME_C_API_H_
