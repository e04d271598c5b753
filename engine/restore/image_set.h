// The images of one dump (a process tree), read and checked before anything
// is created.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/core.pb.h"
#include "engine/image/proto/files.pb.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/image/proto/pipe.pb.h"
#include "engine/image/proto/pstree.pb.h"
#include "engine/image/proto/security.pb.h"
#include "engine/image/proto/socket.pb.h"
#include "engine/image/proto/tty.pb.h"
#include "engine/image/proto/event.pb.h"
#include "engine/mem/page_chain.h"

namespace cryo {

// One process of the tree.
struct TaskImages {
  img::pstree_entry task;
  int parent = -1;  // index in ImageSet::tasks; -1 for the root
  bool zombie = false;
  std::vector<img::core_entry> cores;  // one per thread, leader first
  img::task_kobj_ids_entry ids;
  img::mm_entry mm;
  TaskPages pages;  // where its private pages are (this dump, or parent images)
  // The fd table: filled for the first task of each files_id only; the
  // others share it (CLONE_FILES) and leave it alone.
  bool owns_files = true;
  std::vector<img::fdinfo_entry> fds;
  img::fs_entry fs;

  pid_t pid() const { return static_cast<pid_t>(task.pid()); }
};

// Unread bytes of a pipe or FIFO.
struct PipeData {
  img::pipe_data_entry entry;
  std::string data;
};

struct ImageSet {
  std::string dir_path;  // absolute
  UniqueFd dir;
  img::inventory_entry inventory;
  std::vector<TaskImages> tasks;  // pstree order: root first, parents before children
  std::map<uint32_t, img::reg_file_entry> files;  // by id
  std::map<uint32_t, img::fd_types> kinds;        // every file id of files.img
  std::map<uint32_t, img::fown_entry> owners;     // file id -> its SIGIO owner or signal, when it has one
  std::map<uint32_t, uint32_t> async_flags;       // file id -> its status flags, when they have O_ASYNC
  std::map<uint32_t, int> tables_using;           // file id -> fd tables holding it
  img::seccomp_entry seccomp;  // empty when no thread had filters
  std::map<uint32_t, uint32_t> ghosts;  // file id -> ghost-file id (unlinked files)
  std::map<uint32_t, pid_t> dead_procs;  // file id -> pid: a path below /proc/PID of an exited process
  std::map<uint32_t, uint32_t> links;   // file id -> file id of a link made at dump (--link-remap)
  std::map<uint32_t, img::memfd_file_entry> memfd_files;   // by file id
  std::map<uint32_t, img::memfd_inode_entry> memfd_inodes;  // by inode id
  std::map<uint32_t, img::pipe_entry> pipes;                // by file id
  std::map<uint32_t, img::ns_file_entry> ns_files;          // by file id
  std::map<uint32_t, img::fifo_entry> fifos;                // by file id
  // eventfd, signalfd, timerfd, epoll, inotify and pidfd files, by id.
  std::map<uint32_t, img::file_entry> event_files;
  std::map<uint32_t, img::unix_sk_entry> unix_sks;          // by file id
  std::map<uint32_t, img::inet_sk_entry> inet_sks;          // by file id
  std::map<uint32_t, img::netlink_sk_entry> netlink_sks;    // by file id
  std::map<uint32_t, img::packet_sock_entry> packet_sks;    // by file id
  std::map<uint32_t, img::tunfile_entry> tuns;              // by file id (its path and flags in `files`)
  std::set<uint32_t> mqueues;                               // files that are POSIX message queues (name and flags in `files`)
  struct Packet {
    std::string data;
    std::vector<uint32_t> rights;  // files in flight with it (SCM_RIGHTS)
  };
  std::map<uint32_t, std::vector<Packet>> sk_queues;  // by socket file id, oldest first
  std::set<uint32_t> in_flight;                      // files some packet carries
  std::map<uint32_t, PipeData> pipe_data;                   // by pipe inode
  std::map<uint32_t, PipeData> fifo_data;                   // by pipe inode
  std::vector<img::file_lock_entry> locks;                 // filelocks.img
  std::map<uint32_t, img::tty_file_entry> ttys;            // by file id
  std::map<uint32_t, img::tty_info_entry> tty_infos;       // by tty-info id
  std::map<uint32_t, std::string> tty_data;                // by tty-info id: the master's unread bytes

  Result<const img::reg_file_entry*> File(uint32_t id) const;
};

// The flags a regular file of files.img is opened again with: those
// that made it (O_CREAT, O_EXCL, O_TRUNC, O_TMPFILE) go.
uint32_t OpenFlags(uint32_t dumped);

// `lazy`: the pages of lazy mappings (mem/pagemap_flags.h) are left out
// of each task's sources, for the lazy-pages daemon to fill in.
Result<ImageSet> ReadImageSet(const std::string& dir, bool lazy = false);

}  // namespace cryo
