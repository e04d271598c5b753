// A user namespace: its uid and gid maps (userns-N.img).
//
// Dump: the tree's root may be in a user namespace of its own, a child of
// cryo's; its maps are read from /proc/ROOT/{uid,gid}_map (the lower ids
// are cryo's). The tasks' credentials are stored as the tree sees them,
// mapped through those maps, as CRIU does.
//
// Restore: a helper child of cryo makes the namespace (or joins the one
// --join-ns user: names), cryo writes its maps, and the helper then makes
// the tree's other namespaces, so that the user namespace owns them; cryo
// joins those (it keeps its own user namespace and with it every
// capability it needs to build the tree). Each task enters the user
// namespace itself once cryo has handed it its files (setns, by the
// helper's /proc path), and sets its credentials from inside.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/namespaces.pb.h"

namespace cryo::ns {

struct IdExtent {
  uint32_t first = 0, lower = 0, count = 0;
};

// "first lower count" lines of /proc/PID/uid_map.
Result<std::vector<IdExtent>> ParseIdMap(std::string_view text);
// The id inside for `outside` (an id of the parent namespace); the
// overflow id 65534 when it is not mapped.
uint32_t ToInside(const std::vector<IdExtent>& map, uint32_t outside);
// The text written to uid_map / gid_map for an image's extents.
std::string FormatIdMap(const google::protobuf::RepeatedPtrField<img::uid_gid_extent>& map);

// A task's maps, when it is in a user namespace other than cryo's (empty
// `uid` otherwise): how its credentials are seen from inside.
struct IdMaps {
  std::vector<IdExtent> uid, gid;
};
Result<IdMaps> TaskIdMaps(pid_t pid);

// The root's user namespace as an image; refused unless it is a child of
// cryo's (nested deeper is not supported).
Result<img::userns_entry> DumpUser(pid_t root);

// Restore: the tree's user namespace and the namespaces it owns, made by a
// helper that lives as long as this value (the tasks join the user
// namespace through its /proc path).
// The id of cryo's that `map` makes 0 inside; `fallback` if none.
uint32_t RootOutside(const google::protobuf::RepeatedPtrField<img::uid_gid_extent>& map, uint32_t fallback);

// For its scope, cryo's effective uid and gid are `uid` and `gid` (its
// real and saved ones stay 0): an IPC namespace's sysctls are writable by
// its user namespace's root only, capabilities or not.
class ActAs {
 public:
  static Result<ActAs> Begin(uid_t uid, gid_t gid);
  ActAs(ActAs&& o) noexcept : active_(std::exchange(o.active_, false)) {}
  ActAs& operator=(ActAs&&) = delete;
  ~ActAs();

 private:
  ActAs() = default;
  bool active_ = false;
};

class UserNamespace {
 public:
  // `join`: an open fd of an existing user namespace to use instead of a
  // new one (then `maps` is not written). `flags`: the CLONE_NEW* kinds
  // the helper makes afterwards, owned by it.
  static Result<UserNamespace> Make(const img::userns_entry& maps, int join, int flags);
  UserNamespace(UserNamespace&& o) noexcept;
  UserNamespace& operator=(UserNamespace&&) = delete;
  ~UserNamespace();  // ends the helper

  // cryo's fd of the namespace of kind `flag` the helper made, -1 if none.
  int Made(int flag) const;
  // The path a task opens to join the user namespace.
  std::string UserPath() const;
  pid_t helper() const { return helper_; }
  // cryo's ids of its root (0 when the namespace was joined).
  uid_t root_uid() const { return root_uid_; }
  gid_t root_gid() const { return root_gid_; }

 private:
  UserNamespace() = default;
  pid_t helper_ = 0;
  uid_t root_uid_ = 0;
  gid_t root_gid_ = 0;
  UniqueFd go_;  // closing it ends the helper
  std::map<int, UniqueFd> made_;
};

}  // namespace cryo::ns
