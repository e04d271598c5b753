#include "engine/image/image_writer.h"

#include <fcntl.h>

#include <cstring>

#include "engine/base/files.h"

namespace cryo {
namespace {

constexpr size_t kBufferSize = 64 << 10;

void AppendU32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);  // native byte order, as CRIU
  out.append(b, 4);
}

}  // namespace

ImageWriter::ImageWriter(int dirfd, ImageKind kind, uint64_t id)
    : dirfd_(dirfd), kind_(kind), name_(ImageFileName(kind, id)) {}

ImageWriter::~ImageWriter() { (void)Flush(); }

Result<> ImageWriter::EnsureOpen() {
  if (fd_) return {};
  int fd = ::openat(dirfd_, name_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("create image {}", name_);
  fd_.reset(fd);
  const ImageType& t = TypeOf(kind_);
  switch (t.framing) {
    case Framing::kCommon:
      AppendU32(buf_, kImgCommonMagic);
      AppendU32(buf_, t.magic);
      size_ += 8;
      break;
    case Framing::kService:
      AppendU32(buf_, kImgServiceMagic);
      AppendU32(buf_, t.magic);
      size_ += 8;
      break;
    case Framing::kInventory:
      AppendU32(buf_, t.magic);
      size_ += 4;
      break;
    case Framing::kRaw:
      break;
  }
  return {};
}

Result<> ImageWriter::Flush() {
  if (buf_.empty() || !fd_) return {};
  auto r = WriteAll(fd_.get(), buf_);
  buf_.clear();
  if (!r) return std::unexpected(std::move(r).error().context(fmt::format("write image {}", name_)));
  return {};
}

Result<> ImageWriter::Write(const google::protobuf::MessageLite& entry) {
  if (TypeOf(kind_).framing == Framing::kRaw)
    return MakeError(EINVAL, "image {} is raw: it holds no entries", name_);
  CRYO_TRY(EnsureOpen());
  size_t len = entry.ByteSizeLong();
  if (len > UINT32_MAX) return MakeError(EFBIG, "image {}: entry of {} bytes", name_, len);
  AppendU32(buf_, static_cast<uint32_t>(len));
  size_t at = buf_.size();
  buf_.resize(at + len);
  if (!entry.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(buf_.data() + at)))
    return MakeError(EINVAL, "image {}: cannot serialize {}", name_, entry.GetTypeName());
  size_ += 4 + len;
  if (buf_.size() >= kBufferSize) CRYO_TRY(Flush());
  return {};
}

Result<> ImageWriter::WriteRaw(std::string_view data) {
  CRYO_TRY(EnsureOpen());
  size_ += data.size();
  if (buf_.size() + data.size() <= kBufferSize) {
    buf_.append(data);
    return {};
  }
  CRYO_TRY(Flush());
  CRYO_TRY_CTX(WriteAll(fd_.get(), data), "write image {}", name_);
  return {};
}

Result<> ImageWriter::WriteRaw(std::span<const std::byte> data) {
  return WriteRaw(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

Result<int> ImageWriter::RawFd() {
  CRYO_TRY(EnsureOpen());
  CRYO_TRY(Flush());
  return fd_.get();
}

Result<> ImageWriter::Close() {
  CRYO_TRY(Flush());
  fd_.reset();
  return {};
}

Result<> WriteSingleEntryImage(int dirfd, ImageKind kind, uint64_t id,
                               const google::protobuf::MessageLite& entry) {
  ImageWriter w(dirfd, kind, id);
  CRYO_TRY(w.Write(entry));
  return w.Close();
}

}  // namespace cryo
