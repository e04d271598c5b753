#include "engine/image/json.h"

#include <arpa/inet.h>
#include <sys/sysmacros.h>

#include <array>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "engine/image/proto/opts.pb.h"

namespace cryo {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

struct Flag {
  std::string_view name;
  uint64_t bit;
};

constexpr Flag kMmapProt[] = {{"PROT_READ", 0x1}, {"PROT_WRITE", 0x2}, {"PROT_EXEC", 0x4}};
constexpr Flag kMmapFlags[] = {
    {"MAP_SHARED", 0x1}, {"MAP_PRIVATE", 0x2}, {"MAP_ANON", 0x20}, {"MAP_GROWSDOWN", 0x100}};
constexpr Flag kMmapStatus[] = {
    {"VMA_AREA_REGULAR", 1u << 0},  {"VMA_AREA_STACK", 1u << 1},   {"VMA_AREA_VSYSCALL", 1u << 2},
    {"VMA_AREA_VDSO", 1u << 3},     {"VMA_AREA_HEAP", 1u << 5},    {"VMA_FILE_PRIVATE", 1u << 6},
    {"VMA_FILE_SHARED", 1u << 7},   {"VMA_ANON_SHARED", 1u << 8},  {"VMA_ANON_PRIVATE", 1u << 9},
    {"VMA_AREA_SYSVIPC", 1u << 10}, {"VMA_AREA_SOCKET", 1u << 11}, {"VMA_AREA_VVAR", 1u << 12},
    {"VMA_AREA_AIORING", 1u << 13}, {"VMA_UNSUPP", 1u << 31}};
constexpr Flag kRfileFlags[] = {
    {"O_WRONLY", 01},          {"O_RDWR", 02},           {"O_CREAT", 0100},
    {"O_EXCL", 0200},          {"O_NOCTTY", 0400},       {"O_TRUNC", 01000},
    {"O_APPEND", 02000},       {"O_NONBLOCK", 04000},    {"O_DSYNC", 010000},
    {"FASYNC", 020000},        {"O_DIRECT", 040000},     {"O_LARGEFILE", 0100000},
    {"O_DIRECTORY", 0200000},  {"O_NOFOLLOW", 0400000},  {"O_NOATIME", 01000000},
    {"O_CLOEXEC", 02000000}};
constexpr Flag kSealsFlags[] = {{"F_SEAL_SEAL", 0x1}, {"F_SEAL_SHRINK", 0x2}, {"F_SEAL_GROW", 0x4},
                                {"F_SEAL_WRITE", 0x8}, {"F_SEAL_FUTURE_WRITE", 0x10}};
constexpr Flag kPmapFlags[] = {{"PE_PARENT", 1}, {"PE_LAZY", 2}, {"PE_PRESENT", 4}};

std::span<const Flag> FlagTable(std::string_view name) {
  if (name == "mmap.prot") return kMmapProt;
  if (name == "mmap.flags") return kMmapFlags;
  if (name == "mmap.status") return kMmapStatus;
  if (name == "rfile.flags") return kRfileFlags;
  if (name == "seals.flags") return kSealsFlags;
  if (name == "pmap.flags") return kPmapFlags;
  return {};
}

// "A | B | 0x..." with leftover bits in hex, "" for zero (as crit).
std::string FlagNames(uint64_t v, std::span<const Flag> table) {
  std::string out;
  uint64_t known = 0;
  for (const Flag& f : table) {
    known |= f.bit;
    if (v & f.bit) {
      if (!out.empty()) out += " | ";
      out += f.name;
    }
  }
  if (v & ~known) {
    if (!out.empty()) out += " | ";
    out += fmt::format("{:#x}", v & ~known);
  }
  return out;
}

// crit's "dict" tables: names for some values of some fields.
const char* DictName(std::string_view dict, std::string_view field, uint64_t v) {
  if (dict == "gen" && field == "task_state") {
    switch (v) {
      case 1: return "Alive";
      case 3: return "Zombie";
      case 6: return "Stopped";
    }
    return nullptr;
  }
  if (dict != "sk") return nullptr;
  if (field == "family") {
    switch (v) {
      case 1: return "UNIX";
      case 2: return "INET";
      case 10: return "INET6";
      case 16: return "NETLINK";
      case 17: return "PACKET";
    }
  } else if (field == "type") {
    switch (v) {
      case 1: return "STREAM";
      case 2: return "DGRAM";
      case 3: return "RAW";
      case 5: return "SEQPACKET";
      case 10: return "PACKET";
    }
  } else if (field == "state") {
    static constexpr const char* kStates[] = {nullptr, "ESTABLISHED", "SYN_SENT", "SYN_RECV",
                                              "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
                                              "CLOSE_WAIT", "LAST_ACK", "LISTEN"};
    if (v < std::size(kStates)) return kStates[v];
  } else if (field == "proto") {
    switch (v) {
      case 0: return "IP";
      case 6: return "TCP";
      case 17: return "UDP";
      case 136: return "UDPLITE";
    }
  }
  return nullptr;
}

// quopri.encodestring, as crit shows unix socket names.
std::string QuotedPrintable(std::string_view s) {
  std::string out;
  size_t line = 0;
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::string piece;
    bool last = i + 1 == s.size() || s[i + 1] == '\n';
    if (c == '\n') {
      out += '\n';
      line = 0;
      continue;
    }
    if ((c == ' ' || c == '\t') && last)
      piece = fmt::format("={:02X}", c);
    else if (c == '=' || c < 32 || c > 126)
      piece = fmt::format("={:02X}", c);
    else
      piece.assign(1, static_cast<char>(c));
    if (line + piece.size() > 75) {
      out += "=\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  }
  return out;
}

OrderedJson Scalar(const Message& m, const Reflection* r, const FieldDescriptor* f, int index,
                   bool pretty, bool is_hex);

std::string IpAddress(const Message& m, const Reflection* r, const FieldDescriptor* f) {
  int n = r->FieldSize(m, f);
  char buf[INET6_ADDRSTRLEN] = "";
  if (n == 1) {
    uint32_t w = r->GetRepeatedUInt32(m, f, 0);
    inet_ntop(AF_INET, &w, buf, sizeof buf);
  } else if (n >= 4) {
    uint32_t w[4];
    for (int i = 0; i < 4; i++) w[i] = r->GetRepeatedUInt32(m, f, i);
    inet_ntop(AF_INET6, w, buf, sizeof buf);
  }
  return buf;
}

OrderedJson ToJson(const Message& m, bool pretty, bool is_hex) {
  OrderedJson out = OrderedJson::object();
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const auto& opts = f->options().GetExtension(cryo::img::criu);
    bool hex = is_hex || opts.hex();
    if (f->is_repeated()) {
      OrderedJson arr = OrderedJson::array();
      if (pretty && opts.ipadd()) {
        arr.push_back(IpAddress(m, r, f));
      } else {
        for (int i = 0; i < r->FieldSize(m, f); i++) arr.push_back(Scalar(m, r, f, i, pretty, hex));
      }
      out[f->name()] = std::move(arr);
    } else {
      out[f->name()] = Scalar(m, r, f, -1, pretty, hex);
    }
  }
  return out;
}

template <typename T>
OrderedJson Number(T v, const FieldDescriptor* f, bool pretty, bool is_hex) {
  if (!pretty) return v;
  const auto& opts = f->options().GetExtension(cryo::img::criu);
  auto u = static_cast<uint64_t>(v);
  if (is_hex) return fmt::format("{:#x}", u);
  if (opts.dev()) {
    if (opts.odev()) return fmt::format("{}:{}", major(u), minor(u));
    return fmt::format("{}:{}", u >> 20, u & ((1u << 20) - 1));
  }
  if (!opts.flags().empty()) {
    auto table = FlagTable(opts.flags());
    if (table.empty()) return fmt::format("{:#x}", u);
    return FlagNames(u, table);
  }
  if (!opts.dict().empty()) {
    if (const char* name = DictName(opts.dict(), f->name(), u)) return name;
  }
  return v;
}

OrderedJson Scalar(const Message& m, const Reflection* r, const FieldDescriptor* f, int i,
                   bool pretty, bool is_hex) {
  bool rep = i >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return Number(rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f), f, pretty, is_hex);
    case FieldDescriptor::CPPTYPE_INT64:
      return Number(rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f), f, pretty, is_hex);
    case FieldDescriptor::CPPTYPE_UINT32:
      return Number(rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f), f, pretty, is_hex);
    case FieldDescriptor::CPPTYPE_UINT64:
      return Number(rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f), f, pretty, is_hex);
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* v = rep ? r->GetRepeatedEnum(m, f, i) : r->GetEnum(m, f);
      return v->name();
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
      if (f->type() != FieldDescriptor::TYPE_BYTES) return s;
      if (f->options().GetExtension(cryo::img::criu).conv() == "unix_name")
        return QuotedPrintable(s);
      return Base64Lines(s);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return ToJson(rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), pretty, is_hex);
    default:
      return nullptr;
  }
}

}  // namespace

std::string Base64Lines(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t col = 0;
  auto put = [&](char c) {
    out += c;
    if (++col == 76) {
      out += '\n';
      col = 0;
    }
  };
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int k = 3; k >= 0; k--) put(kAlphabet[(v >> (6 * k)) & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (rest == 2) v |= uint8_t(bytes[i + 1]) << 8;
    put(kAlphabet[(v >> 18) & 63]);
    put(kAlphabet[(v >> 12) & 63]);
    put(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    put('=');
  }
  if (col != 0) out += '\n';
  return out;
}

OrderedJson MessageToJson(const google::protobuf::Message& m, bool pretty) {
  return ToJson(m, pretty, false);
}

}  // namespace cryo
