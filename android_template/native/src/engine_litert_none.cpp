// Built instead of engine_litert.cpp when no LiteRT library is given (MSDK_LITERT_DIR): .tflite files are refused.
#include "engine.h"

namespace msdk {

Status OpenLiteRtEngine(const std::string& path, std::unique_ptr<Engine>*) {
  return Status(MSDK_ERR_UNSUPPORTED, path + ": this build of mobilesdk-native has no LiteRT engine");
}

const char* LiteRtVersion() { return ""; }

}  // namespace msdk
