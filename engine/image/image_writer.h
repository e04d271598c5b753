// ImageWriter writes one image file in CRIU's framing: the header for its
// kind, then entries (u32 size + protobuf bytes), each optionally followed by
// a raw payload. The file is created on the first write, so an image with no
// entries is never written (COMPAT.md). Files are created 0600: they hold
// process memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/image_type.h"

namespace cryo {

class ImageWriter {
 public:
  // Nothing touches the disk until the first Write*.
  ImageWriter(int dirfd, ImageKind kind, uint64_t id = 0);
  ImageWriter(ImageWriter&&) = default;
  ImageWriter& operator=(ImageWriter&&) = default;
  // Flushes what is buffered; errors are lost here, so call Close().
  ~ImageWriter();

  const std::string& name() const { return name_; }
  // Bytes written or buffered so far, header included.
  uint64_t size() const { return size_; }

  Result<> Write(const google::protobuf::MessageLite& entry);
  // Raw bytes: the payload after an entry, or a RAW image's content.
  Result<> WriteRaw(std::span<const std::byte> data);
  Result<> WriteRaw(std::string_view data);

  // The file's fd for bulk writers (splice); buffered bytes are flushed
  // first. Opens the file if nothing was written yet.
  Result<int> RawFd();

  // Flushes and closes; the file exists afterwards only if anything was
  // written. Durability comes from one syncfs of the images directory.
  Result<> Close();

 private:
  Result<> EnsureOpen();
  Result<> Flush();

  int dirfd_;
  ImageKind kind_;
  std::string name_;
  UniqueFd fd_;
  std::string buf_;
  uint64_t size_ = 0;
};

// Writes one entry as a whole image (most per-task images hold one entry).
Result<> WriteSingleEntryImage(int dirfd, ImageKind kind, uint64_t id,
                               const google::protobuf::MessageLite& entry);

}  // namespace cryo
