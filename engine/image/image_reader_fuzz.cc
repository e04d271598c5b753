// libFuzzer target: any bytes handed to the image reader give entries or one
// clean error, never a crash, a leak or an unbounded allocation. Entries are
// parsed as the message their magic names, when the build has it.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>

#include "engine/base/files.h"
#include "engine/image/image_reader.h"

namespace {

void Consume(cryo::ImageReader& r) {
  const google::protobuf::Descriptor* desc = nullptr;
  if (auto info = r.magic_info(); info && !info->message.empty())
    desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
        "cryo.img." + std::string(info->message));
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<google::protobuf::Message> msg;
  if (desc) msg.reset(factory.GetPrototype(desc)->New());
  for (int i = 0; i < 10000; i++) {
    if (msg) {
      auto got = r.Next(*msg);
      if (!got || !*got) return;
      // Exercise payload bounds too: ask for more than may be there.
      (void)r.SkipPayload(msg->ByteSizeLong() % 64);
    } else {
      auto got = r.NextRaw();
      if (!got || !*got) return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("fuzz-image", MFD_CLOEXEC);
  if (fd < 0) return 0;
  cryo::UniqueFd owned(fd);
  if (!cryo::WriteAll(fd, std::string_view(reinterpret_cast<const char*>(data), size))) return 0;
  auto r = cryo::ImageReader::OpenAnyFd(std::move(owned), "fuzz.img");
  if (r) Consume(*r);
  return 0;
}
