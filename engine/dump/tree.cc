#include "engine/dump/tree.h"

#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "engine/base/files.h"
#include "engine/proc/proc.h"

namespace cryo {
namespace {

// The children of every thread of a stopped process.
std::vector<pid_t> ListChildren(pid_t pid, const std::vector<pid_t>& threads) {
  std::vector<pid_t> out;
  for (pid_t tid : threads) {
    auto text = ReadFile(fmt::format("/proc/{}/task/{}/children", pid, tid));
    if (!text) continue;
    std::string_view s = *text;
    while (!s.empty()) {
      size_t sp = s.find_first_not_of(" \n");
      if (sp == std::string_view::npos) break;
      s.remove_prefix(sp);
      pid_t c = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), c);
      if (ec != std::errc()) break;
      out.push_back(c);
      s.remove_prefix(static_cast<size_t>(p - s.data()));
    }
  }
  return out;
}

bool Gone(pid_t pid) {
  struct stat st;
  return ::stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0;
}

}  // namespace

Result<> SeizedTree::Add(pid_t pid, int parent) {
  auto stat = ReadStat(pid);
  if (!stat && parent < 0 && stat.error().err() == ENOENT) return MakeError(ESRCH, "pid {}: no such process", pid);
  ProcStat st = CRYO_TRY_CTX(std::move(stat), "process {}", pid);
  TreeTask t;
  t.pid = pid;
  t.ppid = st.ppid;
  t.parent = parent;
  if (st.state != 'Z' && st.state != 'X') {
    bool held = help_.held != nullptr && help_.held->count(pid) > 0;
    if (help_.frozen != nullptr && !held) {
      std::string frozen = help_.frozen->FrozenCgroupOf(pid);
      if (!frozen.empty())
        return MakeError(EBUSY, "pid {} is in a frozen cgroup ({}): dump it with --freeze-cgroup naming that cgroup",
                         pid, frozen);
    }
    auto sp = SeizedProcess::Seize(pid, *log_, cpu_, help_.held);
    if (sp) {
      t.live.emplace(std::move(*sp));
      // Read again now that it cannot change: it may have moved group.
      st = CRYO_TRY_CTX(ReadStat(pid), "process {}", pid);
    } else if (parent < 0) {
      return std::unexpected(sp.error());
    } else {
      // It died while we reached for it: a zombie now, or gone.
      auto again = ReadStat(pid);
      if (!again) return {};
      if (again->state != 'Z') return std::unexpected(sp.error());
      st = *again;
    }
  }
  t.pgid = st.pgrp;
  t.sid = st.session;
  t.exit_code = st.exit_code;
  if (parent < 0 && t.zombie()) return MakeError(ESRCH, "pid {} is a zombie", pid);
  tasks_.push_back(std::move(t));
  int me = static_cast<int>(tasks_.size()) - 1;
  if (tasks_.back().zombie()) return {};
  for (pid_t c : ListChildren(pid, tasks_.back().live->threads())) CRYO_TRY(Add(c, me));
  return {};
}

Result<SeizedTree> SeizedTree::Seize(pid_t root, Log& log, int cpu, SeizeHelp help) {
  SeizedTree tree(log, cpu, help);
  CRYO_TRY(tree.Add(root, -1));
  if (tree.tasks_.size() > 1) log.Info("seized a tree of {} processes under {}", tree.tasks_.size(), root);
  return tree;
}

Result<> SeizedTree::Release(ReleaseMode mode) {
  Result<> r;
  if (mode == ReleaseMode::kKill) {
    // All at once, so none of them sees another die.
    for (auto& t : tasks_)
      if (!t.zombie()) ::kill(t.pid, SIGKILL);
  }
  // Killed, children are waited for before their parents: the PID 1 of a
  // pid namespace cannot finish dying until every task of its namespace
  // is reaped, and cryo, their tracer, hears of them first.
  for (size_t k = 0; k < tasks_.size(); k++) {
    auto& t = tasks_[mode == ReleaseMode::kKill ? tasks_.size() - 1 - k : k];
    if (t.zombie()) continue;
    auto one = t.live->Release(mode);
    if (!one && r) r = std::unexpected(one.error());
  }
  if (mode != ReleaseMode::kKill) return r;
  // The root's parent is the caller's to reap; everything under it is
  // reaped by its killed parents' reaper. Wait up to 5 s for that, so a
  // restore right after finds the pids free.
  for (int i = 0; i < 500; i++) {
    bool all = true;
    for (size_t k = 1; k < tasks_.size() && all; k++) all = Gone(tasks_[k].pid);
    if (all) break;
    timespec ts{0, 10 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
  return r;
}

}  // namespace cryo
