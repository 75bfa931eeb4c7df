// Whether a file's first bytes are an ONNX model (a serialized onnx.ModelProto). No ONNX Runtime code here:
// part of the core, so a build without the ONNX Runtime engine still names what it was given.
#ifndef MSDK_ONNX_MODEL_H_
#define MSDK_ONNX_MODEL_H_

#include <cstddef>
#include <cstdint>

namespace msdk {

// The protobuf fields at the start of `head` (the first `size` bytes of a file, any length) read as a
// ModelProto: the first field is ir_version (field 1, a varint in 1..255; protobuf writers emit fields in number
// order and ir_version has the lowest), followed by at least one more field, and every field whose tag lies in
// `head` is one ModelProto defines with its wire type (producer_name 2, producer_version 3, domain 4,
// model_version 5, doc_string 6, graph 7, opset_import 8, metadata_props 14, training_info 20, functions 25).
// Values running past `head` are not followed: a truncated model still reads as ONNX here and ONNX Runtime
// reports what is wrong with it.
bool LooksLikeOnnxModel(const uint8_t* head, size_t size);

}  // namespace msdk

#endif  // MSDK_ONNX_MODEL_H_
