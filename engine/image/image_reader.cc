#include "engine/image/image_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cryo {

Result<ImageReader> ImageReader::OpenFd(int dirfd, const std::string& name, bool missing_ok) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && missing_ok) return ImageReader(name, UniqueFd(), 0);
    return ErrnoError("open image {}", name);
  }
  return FromFd(UniqueFd(fd), name);
}

Result<ImageReader> ImageReader::FromFd(UniqueFd fd, const std::string& name) {
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat image {}", name);
  if (!S_ISREG(st.st_mode)) return MakeError(0, "image {}: not a regular file", name);
  return ImageReader(name, std::move(fd), static_cast<uint64_t>(st.st_size));
}

Result<> ImageReader::Fill(void* buf, size_t n, std::string_view what) {
  if (n > size_ - std::min(offset_, size_))
    return MakeError(0, "image {}: truncated {} at offset {}: need {} bytes, {} left", name_,
                     what, offset_, n, size_ - std::min(offset_, size_));
  size_t got = 0;
  auto* p = static_cast<char*>(buf);
  while (got < n) {
    ssize_t r = ::pread(fd_.get(), p + got, n - got, static_cast<off_t>(offset_ + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read image {} at offset {}", name_, offset_ + got);
    }
    if (r == 0)
      return MakeError(0, "image {}: truncated {} at offset {}: file ended", name_, what,
                       offset_ + got);
    got += static_cast<size_t>(r);
  }
  offset_ += n;
  return {};
}

Result<uint32_t> ImageReader::ReadU32(std::string_view what) {
  uint32_t v;
  CRYO_TRY(Fill(&v, sizeof v, what));
  return v;
}

Result<ImageReader> ImageReader::Open(int dirfd, ImageKind kind, uint64_t id) {
  const ImageType& t = TypeOf(kind);
  ImageReader r = CRYO_TRY(OpenFd(dirfd, ImageFileName(kind, id), /*missing_ok=*/true));
  if (!r.present()) return r;
  uint32_t want_first = 0;
  switch (t.framing) {
    case Framing::kRaw:
      return r;
    case Framing::kInventory:
      break;
    case Framing::kCommon:
      want_first = kImgCommonMagic;
      break;
    case Framing::kService:
      want_first = kImgServiceMagic;
      break;
  }
  if (want_first != 0) {
    uint32_t first = CRYO_TRY(r.ReadU32("header"));
    if (first != want_first)
      return MakeError(0, "image {}: bad magic {:#010x} at offset 0 (want {:#010x})",
                       r.name_, first, want_first);
  }
  uint64_t at = r.offset_;
  r.magic_ = CRYO_TRY(r.ReadU32("header"));
  if (r.magic_ != t.magic)
    return MakeError(0, "image {}: bad magic {:#010x} at offset {} (want {:#010x}, {})",
                     r.name_, r.magic_, at, t.magic, t.name);
  return r;
}

Result<ImageReader> ImageReader::OpenAny(int dirfd, const std::string& name) {
  ImageReader r = CRYO_TRY(OpenFd(dirfd, name, /*missing_ok=*/false));
  CRYO_TRY(r.Identify());
  return r;
}

Result<ImageReader> ImageReader::OpenAnyFd(UniqueFd fd, const std::string& name) {
  ImageReader r = CRYO_TRY(FromFd(std::move(fd), name));
  CRYO_TRY(r.Identify());
  return r;
}

Result<> ImageReader::Identify() {
  uint32_t first = CRYO_TRY(ReadU32("header"));
  uint32_t magic = first;
  if (first == kImgCommonMagic || first == kImgServiceMagic) magic = CRYO_TRY(ReadU32("header"));
  if (!LookupMagic(magic)) {
    return MakeError(0, "image {}: unknown magic {:#010x} at offset {}: not a CRIU image "
                     "(or a RAW one, which has no header)", name_, magic, offset_ - 4);
  }
  // The inventory alone has no common magic before its own.
  if (first == magic && magic != TypeOf(ImageKind::kInventory).magic)
    return MakeError(0, "image {}: magic {:#010x} at offset 0 lacks the common header",
                     name_, magic);
  magic_ = magic;
  return {};
}

Result<std::optional<std::string>> ImageReader::NextRaw() {
  if (!present() || at_end()) return std::nullopt;
  uint64_t at = offset_;
  uint32_t len = CRYO_TRY(ReadU32("entry size"));
  if (len > kMaxEntrySize)
    return MakeError(0, "image {}: oversized entry at offset {}: {} bytes (limit {})", name_,
                     at, len, kMaxEntrySize);
  if (len > size_ - offset_)
    return MakeError(0, "image {}: truncated entry at offset {}: size says {} bytes, {} left",
                     name_, at, len, size_ - offset_);
  std::string bytes(len, '\0');
  CRYO_TRY(Fill(bytes.data(), len, "entry"));
  return bytes;
}

Result<bool> ImageReader::Next(google::protobuf::MessageLite& entry) {
  uint64_t at = offset_;
  auto bytes = CRYO_TRY(NextRaw());
  if (!bytes) return false;
  entry.Clear();
  if (!entry.ParseFromString(*bytes))
    return MakeError(0, "image {}: entry at offset {} is not a valid {} ({} bytes)", name_, at,
                     entry.GetTypeName(), bytes->size());
  return true;
}

Result<> ImageReader::ReadPayload(void* buf, size_t n) { return Fill(buf, n, "payload"); }

Result<std::string> ImageReader::ReadPayload(size_t n) {
  if (n > size_ - std::min(offset_, size_))
    return MakeError(0, "image {}: truncated payload at offset {}: need {} bytes, {} left",
                     name_, offset_, n, size_ - std::min(offset_, size_));
  std::string out(n, '\0');
  CRYO_TRY(Fill(out.data(), n, "payload"));
  return out;
}

Result<> ImageReader::SkipPayload(uint64_t n) {
  if (n > size_ - std::min(offset_, size_))
    return MakeError(0, "image {}: truncated payload at offset {}: need {} bytes, {} left",
                     name_, offset_, n, size_ - std::min(offset_, size_));
  offset_ += n;
  return {};
}

Result<> ReadSingleEntryImage(int dirfd, ImageKind kind, uint64_t id,
                              google::protobuf::MessageLite& entry) {
  ImageReader r = CRYO_TRY(ImageReader::Open(dirfd, kind, id));
  if (!r.present()) return MakeError(ENOENT, "image {} is missing", r.name());
  bool got = CRYO_TRY(r.Next(entry));
  if (!got) return MakeError(0, "image {} holds no entry", r.name());
  return {};
}

}  // namespace cryo
