// ImageReader reads one image file written in CRIU's framing. Image files are
// untrusted input: every size is checked against what the file really holds
// and against a fixed ceiling, and each error names the file and the offset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <google/protobuf/message_lite.h>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/image_type.h"

namespace cryo {

// No entry of a CRIU image comes near this; a larger length is corruption.
inline constexpr uint32_t kMaxEntrySize = 64u << 20;

class ImageReader {
 public:
  // Opens an image of a known kind. A missing file is not an error: it reads
  // as zero entries (present() is false). A header that does not match the
  // kind is an error.
  static Result<ImageReader> Open(int dirfd, ImageKind kind, uint64_t id = 0);
  // Opens a file of unknown kind by its header (for `cryo show`): the
  // magic must be one crit knows. A missing file is an error here.
  static Result<ImageReader> OpenAny(int dirfd, const std::string& name);
  // The same for an already open file; `name` is used in errors.
  static Result<ImageReader> OpenAnyFd(UniqueFd fd, const std::string& name);

  ImageReader(ImageReader&&) = default;
  ImageReader& operator=(ImageReader&&) = default;

  bool present() const { return fd_.valid(); }
  const std::string& name() const { return name_; }
  // The magic found in the header (0 for RAW images).
  uint32_t magic() const { return magic_; }
  std::optional<MagicInfo> magic_info() const { return LookupMagic(magic_); }
  uint64_t offset() const { return offset_; }
  uint64_t file_size() const { return size_; }
  bool at_end() const { return offset_ >= size_; }

  // Reads the next entry into `entry`. Returns false at a clean end of file.
  Result<bool> Next(google::protobuf::MessageLite& entry);
  // Reads the next entry's bytes without parsing them.
  Result<std::optional<std::string>> NextRaw();
  // Reads exactly n payload bytes following the last entry.
  Result<> ReadPayload(void* buf, size_t n);
  Result<std::string> ReadPayload(size_t n);
  Result<> SkipPayload(uint64_t n);
  // The fd for bulk readers: pread from offset(), then SkipPayload.
  int fd() const { return fd_.get(); }

 private:
  ImageReader(std::string name, UniqueFd fd, uint64_t size)
      : name_(std::move(name)), fd_(std::move(fd)), size_(size) {}
  static Result<ImageReader> OpenFd(int dirfd, const std::string& name, bool missing_ok);
  static Result<ImageReader> FromFd(UniqueFd fd, const std::string& name);
  Result<> Identify();
  Result<uint32_t> ReadU32(std::string_view what);
  Result<> Fill(void* buf, size_t n, std::string_view what);

  std::string name_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
  uint32_t magic_ = 0;
};

// Reads a whole single-entry image (core, mm, ids, ...); a missing file or a
// file without an entry is an error naming the file.
Result<> ReadSingleEntryImage(int dirfd, ImageKind kind, uint64_t id,
                              google::protobuf::MessageLite& entry);

}  // namespace cryo
