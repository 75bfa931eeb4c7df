// Built instead of engine_executorch.cpp when ExecuTorch is not found: the pre/post core stands alone.
#include "engine.h"

namespace msdk {

Status OpenExecuTorchEngine(const std::string& path, std::unique_ptr<Engine>*) {
  return Status(MSDK_ERR_UNSUPPORTED, path + ": this build of mobilesdk-native has no ExecuTorch engine");
}

const char* ExecuTorchVersion() { return ""; }

}  // namespace msdk
