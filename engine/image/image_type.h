// The kinds of image file cryo reads and writes: CRIU's file names, magic
// numbers and framing (COMPAT.md section 1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cryo {

inline constexpr uint32_t kImgCommonMagic = 0x54564319;
inline constexpr uint32_t kImgServiceMagic = 0x55105940;

enum class Framing {
  kCommon,     // u32 common magic, u32 image magic, entries
  kService,    // u32 service magic, u32 image magic, entries
  kInventory,  // u32 image magic only, entries
  kRaw,        // no header: opaque bytes
};

// How each image file is named. {} stands for the id: decimal, or hex where
// CRIU names the file in hex (ghost files, tcp streams).
enum class ImageKind {
  kInventory, kPstree, kCore, kIds, kMm, kFs, kPagemap, kShmemPagemap, kPages,
  kFdinfo, kFiles, kRemapFpath, kGhostFile, kPipesData, kFifoData, kSkQueues,
  kTcpStream, kTtyInfo, kTtyData, kFileLocks, kCgroup, kSeccomp, kApparmor,
  kMemfdInode, kCpuinfo, kMountpoints, kUtsns, kIpcVar, kIpcShm, kIpcMsg,
  kIpcSem, kUserns, kTimens, kPidns, kNetns, kNetdev, kIfaddr, kRoute,
  kRoute6, kRule, kIptables, kIp6tables, kNftables, kTmpfsDev, kAutofs,
  kBinfmtMisc, kBpfmapData, kPosixMq, kStatsDump, kStatsRestore, kIrmapCache,
};

struct ImageType {
  ImageKind kind;
  std::string_view name;     // crit's magic name, e.g. "PSTREE"
  uint32_t magic;            // 0 for RAW images
  Framing framing;
  std::string_view file;     // file name pattern, "{}" for the id
  bool hex_id;               // the id is printed in hex
  std::string_view message;  // protobuf message of the entries ("" for RAW)
};

const ImageType& TypeOf(ImageKind kind);
std::string ImageFileName(ImageKind kind, uint64_t id = 0);

// A magic number crit knows, with the message its entries hold. Covers
// images cryo does not write (legacy and not yet supported kinds) too.
struct MagicInfo {
  std::string_view name;
  uint32_t magic;
  std::string_view message;  // "" where entries are not a single message
};
std::optional<MagicInfo> LookupMagic(uint32_t magic);

}  // namespace cryo
