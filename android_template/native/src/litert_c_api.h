// The subset of LiteRT's C API that engine_litert.cpp uses, declared here because the ai-edge-litert wheel
// ships libLiteRt.so without headers. We link that library and call these functions; nothing here implements
// them.
//
// Transcribed from LiteRT 2.3.0's public C headers (GitHub google-ai-edge/LiteRT, litert/c/; 2.3.0 per
// litert/c/litert_version.h at commit 024567212e29):
//   litert_common.h             LiteRtStatus, handles, LiteRtHwAccelerators, LiteRtTensorBufferLockMode,
//                               LiteRtParamIndex
//   litert_layout.h             LiteRtLayout (rank:7 + has_strides:1 bit-fields, 68 bytes with GCC/Clang)
//   litert_model_types.h        LiteRtElementType, LiteRtRankedTensorType (72 bytes), LiteRtTensorTypeId
//   litert_model.h              the 2.x form whose model constructors take a LiteRtEnvironment first
//   litert_environment.h        LiteRtCreateEnvironment / LiteRtDestroyEnvironment
//   litert_options.h            LiteRtCreateOptions, hardware accelerators, LiteRtAddOpaqueOptions
//   litert_opaque_options.h     LiteRtCreateOpaqueOptions / LiteRtDestroyOpaqueOptions
//   litert_compiled_model.h     LiteRtCreateCompiledModel, LiteRtRunCompiledModel
//   litert_tensor_buffer.h,     host-memory tensor buffers, lock/unlock,
//   litert_tensor_buffer_types.h  LITERT_HOST_MEMORY_BUFFER_ALIGNMENT
// and, for the CPU (XNNPACK) options, litert/c/options/litert_cpu_options.cc: LrtGetOpaqueCpuOptionsData
// serialises the CPU options as TOML ("num_threads = N\n") under the opaque-options identifier "xnnpack"
// (a client-side helper that libLiteRt.so does not export; the runtime parses the payload).
//
// Checked against the 2.3.0 wheel's libLiteRt.so (x86_64): every function below is an exported symbol
// (VERS_1.0), the model constructors take the environment first (LiteRtCreateModelFromFile null-checks and
// strlen()s its second argument), and LiteRtGetRankedTensorType writes 72 bytes.
#ifndef MSDK_LITERT_C_API_H_
#define MSDK_LITERT_C_API_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- litert_common.h --------------------------------------------------------------------------------------

typedef enum {
  kLiteRtStatusOk = 0,
  kLiteRtStatusErrorInvalidArgument = 1,
  kLiteRtStatusErrorMemoryAllocationFailure = 2,
  kLiteRtStatusErrorRuntimeFailure = 3,
  kLiteRtStatusErrorMissingInputTensor = 4,
  kLiteRtStatusErrorUnsupported = 5,
  kLiteRtStatusErrorNotFound = 6,
  kLiteRtStatusErrorTimeoutExpired = 7,
  kLiteRtStatusErrorWrongVersion = 8,
  kLiteRtStatusErrorUnknown = 9,
  kLiteRtStatusErrorAlreadyExists = 10,
  kLiteRtStatusCancelled = 100,
  kLiteRtStatusErrorFileIO = 500,
  kLiteRtStatusErrorInvalidFlatbuffer = 501,
  kLiteRtStatusErrorDynamicLoading = 502,
  kLiteRtStatusErrorSerialization = 503,
  kLiteRtStatusErrorCompilation = 504,
  kLiteRtStatusErrorIndexOOB = 1000,
  kLiteRtStatusErrorInvalidIrType = 1001,
  kLiteRtStatusErrorInvalidGraphInvariant = 1002,
  kLiteRtStatusErrorGraphModification = 1003,
  kLiteRtStatusErrorInvalidToolConfig = 1500,
  kLiteRtStatusLegalizeNoMatch = 2000,
  kLiteRtStatusErrorInvalidLegalization = 2001,
  kLiteRtStatusPatternNoMatch = 3000,
  kLiteRtStatusInvalidTransformation = 3001,
  kLiteRtStatusErrorUnsupportedRuntimeVersion = 4000,
  kLiteRtStatusErrorUnsupportedCompilerVersion = 4001,
  kLiteRtStatusErrorIncompatibleByteCodeVersion = 4002,
  kLiteRtStatusErrorUnsupportedOpShapeInferer = 5000,
  kLiteRtStatusErrorShapeInferenceFailed = 5001,
} LiteRtStatus;

// LITERT_DEFINE_HANDLE(name): an opaque pointer type per object (C++: `class nameT*`; only the pointer
// value crosses the boundary, so struct vs class does not matter to the ABI).
typedef struct LiteRtEnvironmentT* LiteRtEnvironment;
typedef struct LiteRtModelT* LiteRtModel;
typedef struct LiteRtSignatureT* LiteRtSignature;
typedef struct LiteRtTensorT* LiteRtTensor;
typedef struct LiteRtOptionsT* LiteRtOptions;
typedef struct LiteRtOpaqueOptionsT* LiteRtOpaqueOptions;
typedef struct LiteRtCompiledModelT* LiteRtCompiledModel;
typedef struct LiteRtTensorBufferT* LiteRtTensorBuffer;

// litert_environment_options.h: {tag, LiteRtAny value}. Only ever passed as NULL (no options) here.
typedef struct LiteRtEnvOption LiteRtEnvOption;

typedef enum LiteRtHwAccelerators {
  kLiteRtHwAcceleratorNone = 0,
  kLiteRtHwAcceleratorCpu = 1 << 0,
  kLiteRtHwAcceleratorGpu = 1 << 1,
  kLiteRtHwAcceleratorNpu = 1 << 2,
  _kLiteRtHwAcceleratorNegativeDummy = -1,
} LiteRtHwAccelerators;

typedef int LiteRtHwAcceleratorSet;  // a bit field of LiteRtHwAccelerators

typedef enum {
  kLiteRtTensorBufferLockModeRead = 0,
  kLiteRtTensorBufferLockModeWrite = 1,
  kLiteRtTensorBufferLockModeReadWrite = 2,
} LiteRtTensorBufferLockMode;

typedef size_t LiteRtParamIndex;

// ---- litert_layout.h / litert_model_types.h ---------------------------------------------------------------

#define LITERT_TENSOR_MAX_RANK 8

typedef struct {
  unsigned int rank : 7;
  bool has_strides : 1;
  int32_t dimensions[LITERT_TENSOR_MAX_RANK];  // < 0: dynamic
  uint32_t strides[LITERT_TENSOR_MAX_RANK];    // only if has_strides
} LiteRtLayout;

typedef enum {
  kLiteRtElementTypeNone = 0,
  kLiteRtElementTypeBool = 6,
  kLiteRtElementTypeInt2 = 20,
  kLiteRtElementTypeInt4 = 18,
  kLiteRtElementTypeInt8 = 9,
  kLiteRtElementTypeInt16 = 7,
  kLiteRtElementTypeInt32 = 2,
  kLiteRtElementTypeInt64 = 4,
  kLiteRtElementTypeUInt8 = 3,
  kLiteRtElementTypeUInt16 = 17,
  kLiteRtElementTypeUInt32 = 16,
  kLiteRtElementTypeUInt64 = 13,
  kLiteRtElementTypeFloat16 = 10,
  kLiteRtElementTypeBFloat16 = 19,
  kLiteRtElementTypeFloat32 = 1,
  kLiteRtElementTypeFloat64 = 11,
  kLiteRtElementTypeComplex64 = 8,
  kLiteRtElementTypeComplex128 = 12,
  kLiteRtElementTypeTfResource = 14,
  kLiteRtElementTypeTfString = 5,
  kLiteRtElementTypeTfVariant = 15,
} LiteRtElementType;

typedef struct {
  LiteRtElementType element_type;
  LiteRtLayout layout;
} LiteRtRankedTensorType;

typedef enum {
  kLiteRtRankedTensorType = 0,
  kLiteRtUnrankedTensorType = 1,
} LiteRtTensorTypeId;

#if defined(__cplusplus) && defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 8 && !defined(_MSC_VER)
static_assert(sizeof(LiteRtLayout) == 68, "LiteRtLayout size (litert_layout.h)");
static_assert(sizeof(LiteRtRankedTensorType) == 72, "LiteRtRankedTensorType size (litert_model_types.h)");
static_assert(offsetof(LiteRtRankedTensorType, layout) == 4, "LiteRtRankedTensorType layout offset");
#endif

// ---- litert_tensor_buffer_types.h / litert_tensor_buffer.h ------------------------------------------------

#define LITERT_HOST_MEMORY_BUFFER_ALIGNMENT 64

typedef void (*LiteRtHostMemoryDeallocator)(void* addr);

// ---- litert_environment.h ---------------------------------------------------------------------------------

LiteRtStatus LiteRtCreateEnvironment(int num_options, const LiteRtEnvOption* options, LiteRtEnvironment* environment);
void LiteRtDestroyEnvironment(LiteRtEnvironment environment);

// ---- litert_model.h ---------------------------------------------------------------------------------------

LiteRtStatus LiteRtCreateModelFromFile(LiteRtEnvironment environment, const char* filename, LiteRtModel* model);
// The buffer must stay valid for the model's lifetime.
LiteRtStatus LiteRtCreateModelFromBuffer(LiteRtEnvironment environment, const void* buffer_addr, size_t buffer_size,
                                         LiteRtModel* model);
void LiteRtDestroyModel(LiteRtModel model);

// The Model.metadata entry named `metadata_key` (the buffer is owned by the model).
LiteRtStatus LiteRtGetModelMetadata(LiteRtModel model, const char* metadata_key, const void** metadata_buffer,
                                    size_t* metadata_buffer_size);

LiteRtStatus LiteRtGetNumModelSignatures(LiteRtModel model, LiteRtParamIndex* num_signatures);
LiteRtStatus LiteRtGetModelSignature(LiteRtModel model, LiteRtParamIndex signature_index, LiteRtSignature* signature);
LiteRtStatus LiteRtGetSignatureKey(LiteRtSignature signature, const char** signature_key);
LiteRtStatus LiteRtGetNumSignatureInputs(LiteRtSignature signature, LiteRtParamIndex* num_inputs);
LiteRtStatus LiteRtGetSignatureInputName(LiteRtSignature signature, LiteRtParamIndex input_idx,
                                         const char** input_name);
LiteRtStatus LiteRtGetSignatureInputTensorByIndex(LiteRtSignature signature, LiteRtParamIndex input_idx,
                                                  LiteRtTensor* tensor);
LiteRtStatus LiteRtGetNumSignatureOutputs(LiteRtSignature signature, LiteRtParamIndex* num_outputs);
LiteRtStatus LiteRtGetSignatureOutputName(LiteRtSignature signature, LiteRtParamIndex output_idx,
                                          const char** output_name);
LiteRtStatus LiteRtGetSignatureOutputTensorByIndex(LiteRtSignature signature, LiteRtParamIndex output_idx,
                                                   LiteRtTensor* tensor);

LiteRtStatus LiteRtGetTensorTypeId(LiteRtTensor tensor, LiteRtTensorTypeId* type_id);
LiteRtStatus LiteRtGetRankedTensorType(LiteRtTensor tensor, LiteRtRankedTensorType* ranked_tensor_type);

// ---- litert_options.h / litert_opaque_options.h -----------------------------------------------------------

LiteRtStatus LiteRtCreateOptions(LiteRtOptions* options);
void LiteRtDestroyOptions(LiteRtOptions options);
LiteRtStatus LiteRtSetOptionsHardwareAccelerators(LiteRtOptions options, LiteRtHwAcceleratorSet hardware_accelerators);
// Ownership of `opaque_options` passes to `options`.
LiteRtStatus LiteRtAddOpaqueOptions(LiteRtOptions options, LiteRtOpaqueOptions opaque_options);

LiteRtStatus LiteRtCreateOpaqueOptions(const char* payload_identifier, void* payload_data,
                                       void (*payload_destructor)(void* payload_data), LiteRtOpaqueOptions* options);
void LiteRtDestroyOpaqueOptions(LiteRtOpaqueOptions options);

// ---- litert_compiled_model.h ------------------------------------------------------------------------------

LiteRtStatus LiteRtCreateCompiledModel(LiteRtEnvironment environment, LiteRtModel model,
                                       LiteRtOptions compilation_options, LiteRtCompiledModel* compiled_model);
void LiteRtDestroyCompiledModel(LiteRtCompiledModel compiled_model);
LiteRtStatus LiteRtRunCompiledModel(LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,
                                    size_t num_input_buffers, LiteRtTensorBuffer* input_buffers,
                                    size_t num_output_buffers, LiteRtTensorBuffer* output_buffers);

// ---- litert_tensor_buffer.h -------------------------------------------------------------------------------

// host_buffer_addr must be LITERT_HOST_MEMORY_BUFFER_ALIGNMENT-aligned; a NULL deallocator leaves it to the
// caller.
LiteRtStatus LiteRtCreateTensorBufferFromHostMemory(const LiteRtRankedTensorType* tensor_type, void* host_buffer_addr,
                                                    size_t host_buffer_size, LiteRtHostMemoryDeallocator deallocator,
                                                    LiteRtTensorBuffer* buffer);
void LiteRtDestroyTensorBuffer(LiteRtTensorBuffer buffer);
LiteRtStatus LiteRtLockTensorBuffer(LiteRtTensorBuffer tensor_buffer, void** host_mem_addr,
                                    LiteRtTensorBufferLockMode lock_mode);
LiteRtStatus LiteRtUnlockTensorBuffer(LiteRtTensorBuffer buffer);

// ---- litert/c/options/litert_cpu_options.cc (payload format, not a libLiteRt.so function) ------------------

// LrtGetCpuOptionsIdentifier(): the opaque-options identifier of the CPU accelerator's options.
#define MSDK_LITERT_CPU_OPTIONS_IDENTIFIER "xnnpack"

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // MSDK_LITERT_C_API_H_
