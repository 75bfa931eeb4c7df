// Status: a code from the C API's msdk_status and a one-line message. Every internal function that can fail
// returns one, so the C API only copies it out (no exceptions cross a module boundary).
#ifndef MSDK_STATUS_H_
#define MSDK_STATUS_H_

#include <string>
#include <utility>

#include "mobilesdk_pose.h"

namespace msdk {

class Status {
 public:
  Status() = default;
  Status(msdk_status code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == MSDK_OK; }
  msdk_status code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  msdk_status code_ = MSDK_OK;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return Status(MSDK_ERR_INVALID_ARGUMENT, std::move(m)); }
inline Status InvalidManifest(std::string m) { return Status(MSDK_ERR_INVALID_MANIFEST, std::move(m)); }
inline Status Mismatch(std::string m) { return Status(MSDK_ERR_MISMATCH, std::move(m)); }
inline Status Numeric(std::string m) { return Status(MSDK_ERR_NUMERIC, std::move(m)); }

#define MSDK_RETURN_IF_ERROR(expr) \
  do {                             \
    ::msdk::Status _st = (expr);   \
    if (!_st.ok()) return _st;     \
  } while (0)

}  // namespace msdk

#endif  // MSDK_STATUS_H_
