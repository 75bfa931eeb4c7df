// A .tflite file checked before LiteRT sees it. LiteRT 2.3.0 loads model flatbuffers without verifying them
// (a model cut in half crashes LiteRtCreateModelFromFile), so the engine hands it only files that pass this:
// the flatbuffer structure against LiteRT's own schema (src/tflite_schema.inc, generated from the pinned
// ai-edge-litert wheel), then the indices LiteRT follows. No LiteRT code here: it is part of the core, tested
// and fuzzed on its own.
#ifndef MSDK_TFLITE_MODEL_H_
#define MSDK_TFLITE_MODEL_H_

#include <cstddef>
#include <cstdint>

#include "status.h"

namespace msdk {

// The flatbuffer file identifier of TFLite models, at bytes 4..8.
constexpr char kTfliteIdentifier[] = "TFL3";

bool HasTfliteIdentifier(const uint8_t* data, size_t size);

// MSDK_OK, or MSDK_ERR_INVALID_MODEL saying what is wrong. Checks, like flatbuffers' own Verifier: every
// offset, vtable, table, string (NUL-terminated) and vector (element count and bytes) lies inside `data`,
// scalars and offsets are aligned, nesting depth <= 64 and at most 10^6 tables. Then: schema version 3, at
// least one subgraph, every tensor / buffer / operator-code / subgraph index in range (operator operands may
// be -1, "absent"), buffers and large custom options stored past the flatbuffer lie inside the file, tensor
// shapes are non-negative with at most 2^31 elements, and no external (separate-file) weights.
// `data` must be 8-byte aligned (a malloc'd or mapped file is); at most 2^31 - 1 bytes are flatbuffer.
Status VerifyTfliteModel(const uint8_t* data, size_t size);

}  // namespace msdk

#endif  // MSDK_TFLITE_MODEL_H_
