#include "engine/image/show.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "engine/image/image_dir.h"
#include "engine/image/image_reader.h"

namespace cryo {
namespace {

using google::protobuf::Message;

Result<std::unique_ptr<Message>> NewMessage(std::string_view name) {
  const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
      "cryo.img." + std::string(name));
  if (d == nullptr) return MakeError(ENOENT, "no message {} in this build", name);
  const Message* proto = google::protobuf::MessageFactory::generated_factory()->GetPrototype(d);
  return std::unique_ptr<Message>(proto->New());
}

uint64_t UIntField(const Message& m, const char* name) {
  const auto* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr) return 0;
  const auto* r = m.GetReflection();
  if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_UINT64) return r->GetUInt64(m, f);
  return r->GetUInt32(m, f);
}

// The raw payload that follows an entry in some images, as crit shows it.
Result<OrderedJson> Extra(ImageReader& r, std::string_view magic, const Message& entry) {
  if (magic == "PIPES_DATA" || magic == "FIFO_DATA")
    return OrderedJson(Base64Lines(CRYO_TRY(r.ReadPayload(UIntField(entry, "bytes")))));
  if (magic == "SK_QUEUES")
    return OrderedJson(Base64Lines(CRYO_TRY(r.ReadPayload(UIntField(entry, "length")))));
  if (magic == "TCP_STREAM") {
    OrderedJson j = OrderedJson::object();
    j["inq"] = Base64Lines(CRYO_TRY(r.ReadPayload(UIntField(entry, "inq_len"))));
    j["outq"] = Base64Lines(CRYO_TRY(r.ReadPayload(UIntField(entry, "outq_len"))));
    return j;
  }
  if (magic == "BPFMAP_DATA") {
    uint64_t n = UIntField(entry, "keys_bytes") + UIntField(entry, "values_bytes");
    return OrderedJson(Base64Lines(CRYO_TRY(r.ReadPayload(n))));
  }
  return OrderedJson();
}

bool HasPayload(std::string_view magic) {
  return magic == "PIPES_DATA" || magic == "FIFO_DATA" || magic == "SK_QUEUES" ||
         magic == "TCP_STREAM" || magic == "BPFMAP_DATA";
}

}  // namespace

Result<OrderedJson> DecodeImageFile(int dirfd, const std::string& name, bool pretty) {
  ImageReader r = CRYO_TRY(ImageReader::OpenAny(dirfd, name));
  auto info = *r.magic_info();
  if (info.name.starts_with("IPCNS_"))
    return MakeError(ENOTSUP, "image {}: decoding {} payloads is not supported yet", name, info.name);
  OrderedJson entries = OrderedJson::array();

  if (info.name == "PAGEMAP") {
    auto head = CRYO_TRY(NewMessage("pagemap_head"));
    auto entry = CRYO_TRY(NewMessage("pagemap_entry"));
    Message* next = head.get();
    while (CRYO_TRY(r.Next(*next))) {
      entries.push_back(MessageToJson(*next, pretty));
      next = entry.get();
    }
  } else if (info.name == "GHOST_FILE") {
    auto gf = CRYO_TRY(NewMessage("ghost_file_entry"));
    if (!CRYO_TRY(r.Next(*gf))) return MakeError(EINVAL, "image {}: no ghost file entry", name);
    OrderedJson first = MessageToJson(*gf, pretty);
    const auto* chunks_f = gf->GetDescriptor()->FindFieldByName("chunks");
    if (gf->GetReflection()->GetBool(*gf, chunks_f)) {
      entries.push_back(std::move(first));
      auto chunk = CRYO_TRY(NewMessage("ghost_chunk_entry"));
      while (CRYO_TRY(r.Next(*chunk))) {
        OrderedJson j = MessageToJson(*chunk, pretty);
        j["extra"] = Base64Lines(CRYO_TRY(r.ReadPayload(UIntField(*chunk, "len"))));
        entries.push_back(std::move(j));
      }
    } else {
      first["extra"] = Base64Lines(CRYO_TRY(r.ReadPayload(r.file_size() - r.offset())));
      entries.push_back(std::move(first));
    }
  } else {
    auto msg = CRYO_TRY(NewMessage(info.message));
    while (CRYO_TRY(r.Next(*msg))) {
      OrderedJson j = MessageToJson(*msg, pretty);
      if (HasPayload(info.name)) j["extra"] = CRYO_TRY(Extra(r, info.name, *msg));
      entries.push_back(std::move(j));
    }
  }
  OrderedJson out = OrderedJson::object();
  out["magic"] = std::string(info.name);
  out["entries"] = std::move(entries);
  return out;
}

Result<OrderedJson> DecodeImageDir(const std::string& path, bool pretty) {
  UniqueFd dir = CRYO_TRY(OpenImageDir(path));
  std::vector<std::string> names;
  {
    DIR* d = ::fdopendir(::dup(dir.get()));
    if (d == nullptr) return ErrnoError("list {}", path);
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      names.push_back(std::move(n));
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  OrderedJson out = OrderedJson::object();
  for (const std::string& n : names) {
    struct stat st;
    if (::fstatat(dir.get(), n.c_str(), &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;
    bool raw = n.starts_with("pages-") || n.starts_with("ifaddr-") || n.starts_with("route") ||
               n.starts_with("rule-") || n.starts_with("iptables-") ||
               n.starts_with("ip6tables-") || n.starts_with("nftables-") ||
               n.starts_with("tmpfs-");
    bool image = n.ends_with(".img") || n == "stats-dump" || n == "stats-restore" ||
                 n == "irmap-cache";
    if (!image) continue;
    if (raw) {
      out[n] = OrderedJson{{"raw", true}, {"size", static_cast<uint64_t>(st.st_size)}};
      continue;
    }
    out[n] = CRYO_TRY(DecodeImageFile(dir.get(), n, pretty));
  }
  return out;
}

}  // namespace cryo
