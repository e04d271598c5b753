#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/commands.h"
#include "engine/image/image_dir.h"
#include "engine/image/show.h"

namespace cryo {

Result<int> RunShow(const Options& o, Log&) {
  OrderedJson all = OrderedJson::object();
  bool single = o.arguments.size() == 1;
  for (const std::string& path : o.arguments) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoError("{}", path);
    Result<OrderedJson> j = MakeError(0, "");
    if (S_ISDIR(st.st_mode)) {
      j = DecodeImageDir(path, o.pretty);
    } else {
      std::filesystem::path p(path);
      std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
      auto fd = OpenImageDir(dir);
      if (!fd) {
        j = std::unexpected(fd.error());
      } else {
        j = DecodeImageFile(fd->get(), p.filename().string(), o.pretty);
      }
    }
    if (!j) return std::unexpected(j.error());
    if (single) {
      all = std::move(*j);
    } else {
      all[path] = std::move(*j);
    }
  }
  std::printf("%s\n", all.dump(4).c_str());
  return 0;
}

}  // namespace cryo
