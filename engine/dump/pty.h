// Pseudo-terminals whose master a task of the tree holds: both ends
// (tty_file_entry), their state (tty-info.img: index, termios, window
// size, session and foreground group) and the output the master has not
// read yet (tty-data.img). That output can only be had by reading it, so it
// is read and at once written back through the slave with output
// processing off: the pty holds the same bytes after the dump, whatever
// its outcome. Input the slave has not read is taken the same way
// (read raw through a slave of cryo's, typed back in with TIOCSTI, echo
// and input processing off) and kept with the slave's record.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/dump/file_table.h"
#include "engine/image/proto/tty.pb.h"

namespace cryo {

class PidMap;

class Ptys {
 public:
  // Finds the ptys whose master the tree holds (before any fd is dumped:
  // their slaves are files of the dump, not a shell job's terminal).
  // `orphans` (orphan-pts-master): a pty whose slave the tree holds but
  // not its master (a runtime's console) is dumped as the tree's too; its
  // session is the one whose controlling terminal it is. A slave whose
  // master was closed (hung up: its /dev/pts node is gone) is the tree's.
  Result<> Find(const std::vector<pid_t>& pids, bool orphans = false);
  // Whether `rdev` is the slave of such a pty.
  bool IsTreeSlave(dev_t rdev) const;
  static bool IsMaster(dev_t rdev);
  // Whether the controlling terminal of `pid` is a live pty of the tree.
  bool IsTreeCtty(pid_t pid) const;

  // The file entry for fd `fd` of `pid`, an end of a tree pty.
  Result<uint32_t> Dump(pid_t pid, int fd, dev_t rdev, uint32_t flags, FileTable& files);
  Result<> Write(int dir);
  // The pids images name tasks by.
  void SetPidMap(const PidMap* pids) { pids_ = pids; }

 private:
  const PidMap* pids_ = nullptr;
  Result<uint32_t> Info(uint32_t index, bool master, pid_t pid, int fd);
  Result<> TakeInput(uint32_t index, int slave);
  struct Session {
    pid_t sid = 0, pgrp = 0;  // the terminal's session and foreground group
    pid_t master_pid = 0;     // a task holding the master, and its fd
    int master_fd = -1;
    bool hung = false;        // its master was closed: the slave is hung up
  };
  std::map<uint32_t, std::string> input_;  // unread slave input, by index
  std::set<uint32_t> input_taken_;
  std::map<uint32_t, Session> indexes_;  // ptys of the tree
  std::map<std::pair<uint32_t, bool>, uint32_t> info_ids_;  // (index, master) -> tty-info id
  std::vector<img::tty_info_entry> infos_;
  std::vector<img::tty_data_entry> data_;
  uint32_t next_info_ = 1;
};

}  // namespace cryo
