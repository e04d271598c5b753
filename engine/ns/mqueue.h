// POSIX message queues (mq_overview(7)). They live in an IPC namespace,
// by name, and outlive the descriptors open on them. A tree with an IPC
// namespace of its own has its queues dumped whole: name, owner, mode,
// size limits and every message with its priority, in the order
// mq_receive gives them; the restore makes them again in the new
// namespace. A queue of cryo's own namespace is the host's, like a file:
// only the tree's descriptors of it are recorded and reopened by name.
// Both go into posix-mq.img (cryo's own image: CRIU has none).
#pragma once

#include <sys/types.h>

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/namespaces.pb.h"

namespace cryo::ns {

// Whether a pid (as cryo sees it) is one of the dumped tree's.
using InTree = std::function<bool(pid_t)>;

// The devices of the mqueue filesystems of cryo's IPC namespace and of
// the one `pid` is in: a file on one of them is a queue.
Result<std::set<dev_t>> MqueueDevs(pid_t pid);
// The queue's name (as mq_open takes it) from the link text of a
// descriptor of it: "/q", or a path on an mqueue mount ("/dev/mqueue/q").
std::string QueueName(const std::string& link);

// Every queue of the IPC namespace `pid` is in, with its messages. They
// are taken and put back in order, so the tree must be frozen; a queue
// a task of the tree waits on for a notification (mq_notify) stops the
// dump.
Result<std::vector<img::posix_mq_entry>> DumpMqueues(pid_t pid, const InTree& in_tree, Log& log);

// A descriptor of queue `name` is file `file_id`: added to its queue's
// entry, or to a new one without contents when the queue is not the
// tree's own (cryo's IPC namespace's, where cryo looks it up).
Result<> AddMqueueFile(std::vector<img::posix_mq_entry>& queues, bool own_ipc, const std::string& name,
                       uint32_t file_id, const InTree& in_tree);

Result<> WriteMqueues(int dir, const std::vector<img::posix_mq_entry>& queues);
Result<std::vector<img::posix_mq_entry>> ReadMqueues(int dir);

// Makes the queues that have contents in the IPC namespace cryo is in,
// created as `as_uid`/`as_gid` (the root of the namespace's user
// namespace), then given their owners.
Result<> RestoreMqueues(const std::vector<img::posix_mq_entry>& queues, uid_t as_uid, gid_t as_gid, Log& log);

// The queue a file opens, with the file's flags, in cryo's IPC namespace.
Result<UniqueFd> OpenMqueue(const std::string& name, uint32_t flags);

}  // namespace cryo::ns
