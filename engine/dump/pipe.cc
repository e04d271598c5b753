#include "engine/dump/pipe.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine/base/files.h"
#include "engine/base/unique_fd.h"

namespace cryo {

Result<PipeContents> PeekPipe(const std::string& proc_path) {
  // A read end of our own (the tasks are stopped, so one more reader for a
  // moment changes nothing they can see).
  UniqueFd src = CRYO_TRY(Open(proc_path, O_RDONLY | O_NONBLOCK));
  PipeContents out;
  int size = ::fcntl(src.get(), F_GETPIPE_SZ);
  if (size < 0) return ErrnoError("F_GETPIPE_SZ {}", proc_path);
  out.size = static_cast<uint32_t>(size);
  int queued = 0;
  if (::ioctl(src.get(), FIONREAD, &queued) != 0) return ErrnoError("FIONREAD {}", proc_path);
  if (queued == 0) return out;
  // tee() copies the buffers into a pipe as large, leaving them in place.
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError("pipe");
  UniqueFd r(p[0]), w(p[1]);
  if (::fcntl(w.get(), F_SETPIPE_SZ, size) < size)
    return ErrnoError("size a pipe of {} bytes to copy {}", size, proc_path);
  ssize_t n = ::tee(src.get(), w.get(), static_cast<size_t>(queued), SPLICE_F_NONBLOCK);
  if (n < 0) return ErrnoError("tee {}", proc_path);
  if (n != queued) return MakeError(EIO, "{}: copied {} of {} queued bytes", proc_path, n, queued);
  out.data.resize(static_cast<size_t>(n));
  CRYO_TRY(ReadExact(r.get(), out.data.data(), out.data.size()));
  return out;
}

}  // namespace cryo
