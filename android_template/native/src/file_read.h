// Reading a whole model file into memory the engine keeps: one loop for every engine that loads from bytes.
#ifndef MSDK_FILE_READ_H_
#define MSDK_FILE_READ_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "status.h"

namespace msdk {

// Opens `path` (a regular file of at most `max_bytes`; `limit` names that limit in the error), asks
// `allocate(size)` for `size` bytes (nullptr: out of memory) and reads the file into them. A file that
// shrinks while being read is an error; every failure is one line naming the path.
template <typename Allocate>
Status ReadWholeFile(const std::string& path, uint64_t max_bytes, const char* limit, Allocate allocate) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(MSDK_ERR_IO, path + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  Status result = Status::Ok();
  uint8_t* data = nullptr;
  if (::fstat(fd, &st) != 0) {
    result = Status(MSDK_ERR_IO, path + ": cannot stat (" + std::strerror(errno) + ")");
  } else if (!S_ISREG(st.st_mode)) {
    result = Status(MSDK_ERR_IO, path + ": not a regular file");
  } else if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    result = Status(MSDK_ERR_INVALID_MODEL, path + ": " + std::to_string(st.st_size) + " bytes; " + limit);
  } else if ((data = allocate(static_cast<size_t>(st.st_size))) == nullptr && st.st_size > 0) {
    result = Status(MSDK_ERR_INTERNAL, path + ": out of memory reading " + std::to_string(st.st_size) + " bytes");
  } else {
    const size_t size = static_cast<size_t>(st.st_size);
    size_t done = 0;
    while (done < size) {
      const ssize_t got = ::read(fd, data + done, size - done);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        result = Status(MSDK_ERR_IO, path + ": cannot read (" + std::strerror(errno) + ")");
        break;
      }
      if (got == 0) {
        result = Status(MSDK_ERR_IO, path + ": changed while being read");
        break;
      }
      done += static_cast<size_t>(got);
    }
  }
  ::close(fd);
  return result;
}

}  // namespace msdk

#endif  // MSDK_FILE_READ_H_
