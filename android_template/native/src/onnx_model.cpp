#include "onnx_model.h"

namespace msdk {
namespace {

constexpr int kVarint = 0;
constexpr int kLen = 2;

// Reads a varint at head[*pos]; false if it is longer than 10 bytes or runs past `size` (*pos unchanged).
bool ReadVarint(const uint8_t* head, size_t size, size_t* pos, uint64_t* value) {
  uint64_t v = 0;
  for (size_t i = 0; i < 10 && *pos + i < size; ++i) {
    const uint8_t b = head[*pos + i];
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *pos += i + 1;
      *value = v;
      return true;
    }
  }
  return false;
}

// The wire type ModelProto gives `field`, or -1 for a field it does not define.
int ModelProtoWireType(uint64_t field) {
  switch (field) {
    case 1:  // ir_version
    case 5:  // model_version
      return kVarint;
    case 2:   // producer_name
    case 3:   // producer_version
    case 4:   // domain
    case 6:   // doc_string
    case 7:   // graph
    case 8:   // opset_import
    case 14:  // metadata_props
    case 20:  // training_info
    case 25:  // functions
      return kLen;
    default: return -1;
  }
}

}  // namespace

bool LooksLikeOnnxModel(const uint8_t* head, size_t size) {
  size_t pos = 0;
  int fields = 0;
  while (pos < size) {
    uint64_t tag = 0;
    if (!ReadVarint(head, size, &pos, &tag)) return fields >= 2;  // a tag cut off by the end of `head`
    const uint64_t field = tag >> 3;
    const int wire = static_cast<int>(tag & 7);
    if (ModelProtoWireType(field) != wire) return false;
    if (fields == 0 && field != 1) return false;
    uint64_t value = 0;
    if (!ReadVarint(head, size, &pos, &value)) return fields >= 1;  // the value runs past `head`
    if (fields == 0 && (value < 1 || value > 255)) return false;    // ir_version
    ++fields;
    if (wire == kLen) {
      if (value >= size - pos) return fields >= 2;  // the bytes run past `head`
      pos += static_cast<size_t>(value);
    }
  }
  return fields >= 2;
}

}  // namespace msdk
