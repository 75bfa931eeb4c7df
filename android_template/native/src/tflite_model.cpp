#include "tflite_model.h"

#include <cstring>
#include <string>
#include <vector>

namespace msdk {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "flatbuffers are little-endian; so is every Android ABI");

// One field of a table: its vtable slot, what it holds, the scalar (or vector element) size, the table or
// union it refers to, and for a union the slot of its type field.
enum class Kind : uint8_t { kScalar, kString, kTable, kUnion, kScalarVector, kStringVector, kTableVector };
struct Field {
  uint16_t slot;
  Kind kind;
  uint8_t size;
  uint16_t ref;
  uint16_t type_slot;
};
struct Table {
  const char* name;
  const Field* fields;
  size_t num_fields;
};
struct Union {
  const char* name;
  const uint16_t* members;  // table id by union type value (kNoTable: no member)
  size_t num_members;
};
constexpr uint16_t kNoTable = 0xffff;

#include "tflite_schema.inc"

constexpr size_t kMaxFlatbuffer = 0x7fffffff;  // FLATBUFFERS_MAX_BUFFER_SIZE: offsets are 32-bit
constexpr int kMaxDepth = 64;                  // flatbuffers::Verifier's defaults
constexpr size_t kMaxTables = 1000000;
constexpr int32_t kSchemaVersion = 3;        // TFLITE_SCHEMA_VERSION
constexpr uint64_t kMaxElements = 1u << 31;  // per tensor

class Verifier {
 public:
  Verifier(const uint8_t* data, size_t size)
      : buf_(data), file_size_(size), size_(size < kMaxFlatbuffer ? size : kMaxFlatbuffer) {}

  const std::string& error() const { return error_; }

  bool Run() {
    size_t root = 0;
    if (!Offset(0, "the root table offset", &root) || !VerifyTable(root, kModelId, 0)) return false;
    return Semantics(root);
  }

 private:
  struct Ref {  // a verified table
    size_t pos = 0, vtable = 0;
    uint16_t vsize = 0;
  };

  template <typename T>
  T Read(size_t pos) const {
    T v;
    std::memcpy(&v, buf_ + pos, sizeof v);
    return v;
  }
  bool InRange(size_t pos, size_t len) const { return pos <= size_ && len <= size_ - pos; }
  static bool Aligned(size_t pos, size_t align) { return align <= 1 || pos % align == 0; }

  bool Fail(const std::string& what) {
    if (error_.empty()) error_ = what;
    return false;
  }
  std::string At(size_t pos) const { return " at byte " + std::to_string(pos); }
  // "the root table offset" as it is; a table name (the owner of a field) as "a Tensor field".
  static std::string Named(const char* what) {
    return std::strncmp(what, "the ", 4) == 0 ? what : std::string("a ") + what + " field";
  }

  // The uoffset at `pos` -> its target (inside the buffer).
  bool Offset(size_t pos, const char* what, size_t* target) {
    if (!InRange(pos, 4) || !Aligned(pos, 4)) return Fail(Named(what) + At(pos) + " is outside the file");
    const uint32_t o = Read<uint32_t>(pos);
    if (o == 0 || o > kMaxFlatbuffer || !InRange(pos + o, 1)) {
      return Fail(Named(what) + At(pos) + " points outside the file");
    }
    *target = pos + o;
    return true;
  }

  // A vector of n elements of `elem` bytes at `vec`: the length and every element inside the buffer.
  bool Vector(size_t vec, size_t elem, const char* what, uint32_t* n) {
    if (!InRange(vec, 4) || !Aligned(vec, 4)) return Fail(Named(what) + At(vec) + " is outside the file");
    *n = Read<uint32_t>(vec);
    if (*n >= kMaxFlatbuffer / elem || !InRange(vec + 4, *n * elem)) {
      return Fail(Named(what) + " (a vector of " + std::to_string(*n) + " at byte " + std::to_string(vec) +
                  ") runs past the end of the file");
    }
    return true;
  }

  bool String(size_t str, const char* what) {
    uint32_t n = 0;
    if (!Vector(str, 1, what, &n)) return false;
    if (!InRange(str + 4 + n, 1) || buf_[str + 4 + n] != 0) return Fail(Named(what) + At(str) + " is cut off");
    return true;
  }

  // The table at `pos` (already inside the buffer) and its vtable.
  bool TableAt(size_t pos, const Table& def, Ref* ref, uint16_t* object_size) {
    if (!InRange(pos, 4) || !Aligned(pos, 4)) return Fail(std::string(def.name) + At(pos) + " is outside the file");
    const int64_t vt = static_cast<int64_t>(pos) - Read<int32_t>(pos);
    if (vt < 0 || !InRange(static_cast<size_t>(vt), 4) || !Aligned(static_cast<size_t>(vt), 2)) {
      return Fail(std::string(def.name) + At(pos) + ": its vtable is outside the file");
    }
    ref->pos = pos;
    ref->vtable = static_cast<size_t>(vt);
    ref->vsize = Read<uint16_t>(ref->vtable);
    *object_size = Read<uint16_t>(ref->vtable + 2);
    if (ref->vsize < 4 || ref->vsize % 2 != 0 || !InRange(ref->vtable, ref->vsize)) {
      return Fail(std::string(def.name) + At(pos) + ": bad vtable");
    }
    if (*object_size < 4 || !InRange(pos, *object_size)) {
      return Fail(std::string(def.name) + At(pos) + " runs past the end of the file");
    }
    return true;
  }

  // Position of the field in `slot` (0: absent).
  size_t FieldPos(const Ref& t, uint16_t slot) const {
    if (static_cast<size_t>(slot) + 2 > t.vsize) return 0;
    const uint16_t v = Read<uint16_t>(t.vtable + slot);
    return v == 0 ? 0 : t.pos + v;
  }

  bool VerifyTable(size_t pos, uint16_t id, int depth) {
    const Table& def = kTables[id];
    if (depth > kMaxDepth) return Fail("tables nested deeper than " + std::to_string(kMaxDepth));
    if (++num_tables_ > kMaxTables) return Fail("more than " + std::to_string(kMaxTables) + " tables");
    Ref t;
    uint16_t object_size = 0;
    if (!TableAt(pos, def, &t, &object_size)) return false;
    for (size_t i = 0; i < def.num_fields; ++i) {
      const Field& f = def.fields[i];
      const size_t at = FieldPos(t, f.slot);
      if (at == 0) continue;
      const size_t inline_size = f.kind == Kind::kScalar ? f.size : 4;
      if (at - pos + inline_size > object_size || !Aligned(at, inline_size)) {
        return Fail(std::string(def.name) + " field " + std::to_string(f.slot) + At(at) + " lies outside its table");
      }
      if (!VerifyField(def, t, f, at, depth)) return false;
    }
    return true;
  }

  bool VerifyField(const Table& def, const Ref& t, const Field& f, size_t at, int depth) {
    size_t target = 0;
    uint32_t n = 0;
    const char* w = def.name;
    switch (f.kind) {
      case Kind::kScalar: return true;
      case Kind::kString: return Offset(at, w, &target) && String(target, w);
      case Kind::kTable: return Offset(at, w, &target) && VerifyTable(target, f.ref, depth + 1);
      case Kind::kScalarVector: return Offset(at, w, &target) && Vector(target, f.size, w, &n);
      case Kind::kStringVector:
      case Kind::kTableVector:
        if (!Offset(at, w, &target) || !Vector(target, 4, w, &n)) return false;
        for (uint32_t i = 0; i < n; ++i) {
          size_t e = 0;
          if (!Offset(target + 4 + 4 * static_cast<size_t>(i), w, &e)) return false;
          if (f.kind == Kind::kStringVector ? !String(e, w) : !VerifyTable(e, f.ref, depth + 1)) return false;
        }
        return true;
      case Kind::kUnion: {
        const size_t type_at = FieldPos(t, f.type_slot);  // a 1-byte scalar, checked with the table's fields
        const uint8_t type = type_at == 0 ? 0 : buf_[type_at];
        const Union& u = kUnions[f.ref];
        if (type == 0 || type >= u.num_members || u.members[type] == kNoTable) return true;  // NONE / unknown
        return Offset(at, u.name, &target) && VerifyTable(target, u.members[type], depth + 1);
      }
    }
    return Fail("internal: unknown field kind");
  }

  // ---- the indices LiteRT follows (on the verified buffer) -------------------------------------------------

  Ref RefAt(size_t pos) const {
    Ref r;
    r.pos = pos;
    r.vtable = static_cast<size_t>(static_cast<int64_t>(pos) - Read<int32_t>(pos));
    r.vsize = Read<uint16_t>(r.vtable);
    return r;
  }
  template <typename T>
  T Scalar(const Ref& t, uint16_t slot, T fallback) const {
    const size_t at = FieldPos(t, slot);
    return at == 0 ? fallback : Read<T>(at);
  }
  // A vector field: its first element and length (0 when absent).
  size_t Vec(const Ref& t, uint16_t slot, uint32_t* n) const {
    *n = 0;
    const size_t at = FieldPos(t, slot);
    if (at == 0) return 0;
    const size_t v = at + Read<uint32_t>(at);
    *n = Read<uint32_t>(v);
    return v + 4;
  }
  Ref Element(size_t first, uint32_t i) const {
    const size_t e = first + 4 * static_cast<size_t>(i);
    return RefAt(e + Read<uint32_t>(e));
  }
  bool InFile(uint64_t offset, uint64_t size) const { return offset <= file_size_ && size <= file_size_ - offset; }

  bool Indices(size_t first, uint32_t n, int64_t limit, bool allow_absent, const std::string& what) {
    for (uint32_t i = 0; i < n; ++i) {
      const int32_t v = Read<int32_t>(first + 4 * static_cast<size_t>(i));
      if ((v < 0 && !(allow_absent && v == -1)) || v >= limit) {
        return Fail(what + " refers to tensor " + std::to_string(v) + " of " + std::to_string(limit));
      }
    }
    return true;
  }

  bool Semantics(size_t root) {
    const Ref model = RefAt(root);
    const int32_t version = Scalar<int32_t>(model, kModel_Version, 0);
    if (version != kSchemaVersion) {
      return Fail("schema version " + std::to_string(version) + ", LiteRT reads version " +
                  std::to_string(kSchemaVersion));
    }
    uint32_t num_codes = 0, num_subgraphs = 0, num_buffers = 0, n = 0;
    Vec(model, kModel_OperatorCodes, &num_codes);
    const size_t subgraphs = Vec(model, kModel_Subgraphs, &num_subgraphs);
    const size_t buffers = Vec(model, kModel_Buffers, &num_buffers);
    if (num_subgraphs == 0) return Fail("the model has no subgraph");
    if (FieldPos(model, kModel_ExternalBuffers) != 0 || FieldPos(model, kModel_ExternalBufferGroups) != 0) {
      return Fail("weights in external files are not supported");
    }
    for (uint32_t i = 0; i < num_buffers; ++i) {
      const Ref b = Element(buffers, i);
      const uint64_t offset = Scalar<uint64_t>(b, kBuffer_Offset, 0), size = Scalar<uint64_t>(b, kBuffer_Size, 0);
      if (offset > 1 && !InFile(offset, size)) {
        return Fail("buffer " + std::to_string(i) + " (bytes " + std::to_string(offset) + " + " + std::to_string(size) +
                    ") lies past the end of the file (" + std::to_string(file_size_) + " bytes)");
      }
    }
    const size_t metadata = Vec(model, kModel_Metadata, &n);
    for (uint32_t i = 0; i < n; ++i) {
      if (Scalar<uint32_t>(Element(metadata, i), kMetadata_Buffer, 0) >= num_buffers) {
        return Fail("metadata entry " + std::to_string(i) + " refers to a missing buffer");
      }
    }
    const size_t metadata_buffer = Vec(model, kModel_MetadataBuffer, &n);
    if (!Indices(metadata_buffer, n, num_buffers, false, "metadata_buffer")) return false;
    std::vector<uint32_t> num_tensors(num_subgraphs);
    for (uint32_t s = 0; s < num_subgraphs; ++s) {
      const Ref sg = Element(subgraphs, s);
      const std::string where = "subgraph " + std::to_string(s);
      uint32_t nt = 0;
      const size_t tensors = Vec(sg, kSubGraph_Tensors, &nt);
      num_tensors[s] = nt;
      for (uint32_t i = 0; i < nt; ++i) {
        const Ref t = Element(tensors, i);
        if (Scalar<uint32_t>(t, kTensor_Buffer, 0) >= num_buffers) {
          return Fail(where + " tensor " + std::to_string(i) + " refers to a missing buffer");
        }
        if (FieldPos(t, kTensor_ExternalBuffer) != 0) return Fail("weights in external files are not supported");
        const size_t shape = Vec(t, kTensor_Shape, &n);
        uint64_t elements = 1;
        for (uint32_t d = 0; d < n; ++d) {
          const int32_t dim = Read<int32_t>(shape + 4 * static_cast<size_t>(d));
          if (dim < 0 || (dim > 0 && elements > kMaxElements / static_cast<uint64_t>(dim))) {
            return Fail(where + " tensor " + std::to_string(i) + " has a negative or oversized shape");
          }
          elements *= static_cast<uint64_t>(dim);
        }
      }
      const size_t inputs = Vec(sg, kSubGraph_Inputs, &n);
      if (!Indices(inputs, n, nt, false, where + " input")) return false;
      const size_t outputs = Vec(sg, kSubGraph_Outputs, &n);
      if (!Indices(outputs, n, nt, false, where + " output")) return false;
      uint32_t num_ops = 0;
      const size_t ops = Vec(sg, kSubGraph_Operators, &num_ops);
      for (uint32_t o = 0; o < num_ops; ++o) {
        const Ref op = Element(ops, o);
        const std::string what = where + " operator " + std::to_string(o);
        if (Scalar<uint32_t>(op, kOperator_OpcodeIndex, 0) >= num_codes) return Fail(what + " has no operator code");
        for (uint16_t slot : {kOperator_Inputs, kOperator_Outputs, kOperator_Intermediates}) {
          const size_t first = Vec(op, slot, &n);
          if (!Indices(first, n, nt, true, what)) return false;
        }
        const uint64_t offset = Scalar<uint64_t>(op, kOperator_LargeCustomOptionsOffset, 0);
        const uint64_t size = Scalar<uint64_t>(op, kOperator_LargeCustomOptionsSize, 0);
        if (offset > 1 && !InFile(offset, size)) return Fail(what + ": its custom options lie past the end");
      }
    }
    const size_t signatures = Vec(model, kModel_SignatureDefs, &n);
    for (uint32_t i = 0; i < n; ++i) {
      const Ref sig = Element(signatures, i);
      const uint32_t sg = Scalar<uint32_t>(sig, kSignatureDef_SubgraphIndex, 0);
      if (sg >= num_subgraphs) return Fail("signature " + std::to_string(i) + " refers to a missing subgraph");
      for (uint16_t slot : {kSignatureDef_Inputs, kSignatureDef_Outputs}) {
        uint32_t m = 0;
        const size_t maps = Vec(sig, slot, &m);
        for (uint32_t j = 0; j < m; ++j) {
          if (Scalar<uint32_t>(Element(maps, j), kTensorMap_TensorIndex, 0) >= num_tensors[sg]) {
            return Fail("signature " + std::to_string(i) + " refers to a missing tensor");
          }
        }
      }
    }
    return true;
  }

  const uint8_t* buf_;
  size_t file_size_, size_;
  size_t num_tables_ = 0;
  std::string error_;
};

}  // namespace

bool HasTfliteIdentifier(const uint8_t* data, size_t size) {
  return data != nullptr && size >= 8 && std::memcmp(data + 4, kTfliteIdentifier, 4) == 0;
}

Status VerifyTfliteModel(const uint8_t* data, size_t size) {
  if (!HasTfliteIdentifier(data, size)) {
    return Status(MSDK_ERR_INVALID_MODEL, "not a TFLite model (no '" + std::string(kTfliteIdentifier) +
                                              "' identifier at bytes 4..8; " + std::to_string(size) + " bytes)");
  }
  if (reinterpret_cast<uintptr_t>(data) % 8 != 0) return Status(MSDK_ERR_INTERNAL, "model bytes are not 8-aligned");
  Verifier v(data, size);
  if (!v.Run()) {
    return Status(MSDK_ERR_INVALID_MODEL, "corrupt or truncated TFLite model: " + v.error() + " (the file has " +
                                              std::to_string(size) + " bytes)");
  }
  return Status::Ok();
}

}  // namespace msdk
