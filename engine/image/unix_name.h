// A unix socket's name as unix_sk_entry.name holds it (the bytes of the
// address the task bound): as text for one line, and as a path.
#pragma once

#include <string>
#include <string_view>

namespace cryo {

// The path of a name bound in the filesystem (up to its first NUL: a task
// may bind with the NUL that ends the string counted in).
inline std::string UnixPath(std::string_view name) { return std::string(name.substr(0, name.find('\0'))); }

// Abstract names as "@name" (every NUL shown as '@', as ss does), paths
// without what followed their NUL.
inline std::string PrintableUnixName(std::string_view name) {
  if (name.empty() || name[0] != '\0') return UnixPath(name);
  std::string out(name);
  for (char& c : out)
    if (c == '\0') c = '@';
  return out;
}

}  // namespace cryo
