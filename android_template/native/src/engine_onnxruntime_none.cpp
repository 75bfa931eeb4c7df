// Built instead of engine_onnxruntime.cpp when no ONNX Runtime library is given (MSDK_ONNXRUNTIME_DIR): .onnx
// files are refused.
#include "engine.h"

namespace msdk {

Status OpenOnnxRuntimeEngine(const std::string& path, int32_t, std::unique_ptr<Engine>*) {
  return Status(MSDK_ERR_UNSUPPORTED, path + ": this build of mobilesdk-native has no ONNX Runtime engine");
}

const char* OnnxRuntimeVersion() { return ""; }

}  // namespace msdk
