#include "engine/restore/fork_tree.h"

#include <linux/sched.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "engine/proc/proc.h"
#include "engine/proc/sessions.h"
#include "engine/restore/clone_pid.h"

namespace cryo {
namespace {

// The root's first and only code of its own: be traced, stop, wait.
[[noreturn]] void ChildStart() {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // cryo gone mid-restore: go too
  ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
  ::raise(SIGSTOP);
  ::_exit(127);  // never reached: the builder replaces this code
}

// A sibling's first code: its real parent is cryo's, so it cannot ask to
// be traced (that would make the parent its tracer); it waits in pause()
// for cryo to seize it.
[[noreturn]] void SiblingStart() {
  for (;;) ::pause();
}

Result<> WaitStopped(pid_t pid) {
  int status;
  if (::waitpid(pid, &status, __WALL) != pid) return ErrnoError("wait for new task {}", pid);
  if (!WIFSTOPPED(status)) return MakeError(ECHILD, "new task {} did not stop (status {:#x})", pid, status);
  return {};
}

// Task `pid` as a child of `parent`, made by the parent itself; its pid in
// cryo's namespace (the clone's ptrace event tells) is returned.
Result<pid_t> CloneChild(RemoteTask& parent, uint64_t scratch, pid_t pid, uint64_t flags) {
  pid_t want = pid;
  CRYO_TRY(parent.Write(scratch, &want, sizeof want));
  clone_args args{};
  args.flags = flags;
  // With CLONE_PARENT the child takes the caller's exit signal (SIGCHLD).
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
  args.set_tid = scratch;
  args.set_tid_size = 1;
  CRYO_TRY(parent.Write(scratch + 64, &args, sizeof args));
  long got = CRYO_TRY(parent.Syscall(SYS_clone3, scratch + 64, sizeof args));
  if (got == -EEXIST) return MakeError(EEXIST, "pid {} is already taken", pid);
  if (got < 0) return MakeError(static_cast<int>(-got), "clone3 pid {} in {}", pid, parent.tid());
  if (got != pid) return MakeError(EEXIST, "process {} came back as {}", pid, got);
  pid_t host = parent.last_new_task() > 0 ? parent.last_new_task() : pid;
  CRYO_TRY(WaitStopped(host));
  return host;
}

// The zombie's end: exit with its code, or die of its signal (no core:
// it is made undumpable first). cryo, its tracer, takes the exit report,
// which hands the zombie on to its real parent to reap.
Result<> Die(RemoteTask& t, int wait_status, uint64_t tramp, pid_t own_pid) {
  pid_t pid = t.tid();
  int sig = wait_status & 0x7f;
  x86::Regs r = t.saved_regs();
  r.rip = tramp;
  r.orig_rax = static_cast<uint64_t>(-1L);
  if (sig != 0) {
    CRYO_TRY(t.Check("prctl(PR_SET_DUMPABLE)", SYS_prctl, PR_SET_DUMPABLE, 0));
    uint64_t dfl[4] = {0, 0, 0, 0};  // SIG_DFL
    CRYO_TRY(t.Write(tramp + 4096, dfl, sizeof dfl));
    // SIGKILL and SIGSTOP have no action to set (EINVAL): always the default.
    if (sig != SIGKILL && sig != SIGSTOP)
      CRYO_TRY(t.Check("rt_sigaction", SYS_rt_sigaction, static_cast<uint64_t>(sig), tramp + 4096, 0, 8));
    uint64_t none = 0;
    if (ptrace(PTRACE_SETSIGMASK, pid, sizeof none, &none) != 0) return ErrnoError("PTRACE_SETSIGMASK {}", pid);
    r.rax = SYS_kill;
    r.rdi = static_cast<uint64_t>(own_pid);  // as the task itself names itself
    r.rsi = static_cast<uint64_t>(sig);
  } else {
    r.rax = SYS_exit_group;
    r.rdi = static_cast<uint64_t>((wait_status >> 8) & 0xff);
  }
  CRYO_TRY(x86::SetRegs(pid, r));
  int deliver = 0;
  for (;;) {
    if (ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver))) != 0)
      return ErrnoError("let zombie {} exit", pid);
    int status;
    if (::waitpid(pid, &status, __WALL) != pid) return ErrnoError("wait for zombie {}", pid);
    if (WIFEXITED(status) || WIFSIGNALED(status)) break;
    deliver = WIFSTOPPED(status) && (status >> 16) == 0 && WSTOPSIG(status) == sig ? sig : 0;
  }
  t.set_saved_regs(r);
  return {};
}

// The session's controlling terminal, taken by its leader as soon as it
// leads it (children born after inherit it): opening the slave without
// O_NOCTTY does it. With `pgrp`, also its foreground group.
// In a tree with a mount tree of its own, the path is the tree's
// (`tree_fd`: the task's fd for its root).
Result<> TakeTerminal(RemoteTask& leader, uint64_t scratch, uint32_t index, uint32_t pgrp, int tree_fd) {
  std::string path = fmt::format("/dev/pts/{}", index);
  CRYO_TRY(leader.Write(scratch, path.c_str(), path.size() + 1));
  long fd;
  if (tree_fd >= 0) {
    open_how how{};
    how.flags = O_RDWR;
    how.resolve = RESOLVE_IN_ROOT;
    CRYO_TRY(leader.Write(scratch + 512, &how, sizeof how));
    fd = CRYO_TRY(leader.Check("open terminal", SYS_openat2, static_cast<uint64_t>(tree_fd), scratch, scratch + 512,
                               sizeof how));
  } else {
    fd = CRYO_TRY(leader.Check("open terminal", SYS_openat, static_cast<uint64_t>(AT_FDCWD), scratch, O_RDWR, 0));
  }
  Result<long> r = 0;
  if (pgrp != 0) {
    pid_t g = static_cast<pid_t>(pgrp);
    CRYO_TRY(leader.Write(scratch + 256, &g, sizeof g));
    r = leader.Check("ioctl(TIOCSPGRP)", SYS_ioctl, static_cast<uint64_t>(fd), TIOCSPGRP, scratch + 256);
  }
  CRYO_TRY(leader.Check("close", SYS_close, static_cast<uint64_t>(fd)));
  CRYO_TRY(std::move(r));
  return {};
}

}  // namespace

Result<RestoredTree> RestoredTree::Fork(const ImageSet& s, uint64_t tramp, uint64_t scratch, Log& log,
                                        const Placed& placed, bool sibling, bool new_pidns, int tree_fd) {
  RestoredTree tree;
  tree.leaders_.resize(s.tasks.size());
  tree.host_.assign(s.tasks.size(), 0);
  pid_t root = s.tasks[0].pid();
  if (new_pidns && root != 1) return MakeError(EINVAL, "the root of a pid namespace is pid {}, not 1", root);
  pid_t forked = CRYO_TRY(ForkWithPid(root, (sibling ? CLONE_PARENT : 0) | (new_pidns ? CLONE_NEWPID : 0)));
  if (forked == 0) {
    if (sibling) SiblingStart();
    ChildStart();
  }
  // Outside a new pid namespace, `forked` is `root`.
  tree.created_.push_back(forked);
  tree.host_[0] = forked;
  if (sibling) {
    if (ptrace(PTRACE_SEIZE, forked, nullptr, 0) != 0) return ErrnoError("seize new root {}", root);
    if (ptrace(PTRACE_INTERRUPT, forked, nullptr, nullptr) != 0) return ErrnoError("interrupt new root {}", root);
  }
  CRYO_TRY(WaitStopped(forked));
  tree.leaders_[0].emplace(CRYO_TRY(RemoteTask::AtTrampoline(forked, tramp)));
  if (placed) CRYO_TRY(placed(0, *tree.leaders_[0]));

  // Sessions and groups whose leader is gone come back through helpers:
  // a process with the leader's pid that leads the session (or group),
  // creates the members that need it, and exits when all are set up.
  std::set<uint32_t> tree_pids;
  for (const auto& t : s.tasks) tree_pids.insert(t.task.pid());
  struct Helper {
    size_t reaper;  // the task whose child it is
    std::optional<RemoteTask> rt;
  };
  std::map<uint32_t, Helper> helpers;
  auto make_helper = [&](size_t under, uint32_t pid) -> Result<RemoteTask*> {
    pid_t host = CRYO_TRY_CTX(CloneChild(*tree.leaders_[under], scratch, static_cast<pid_t>(pid), 0),
                              "create helper {}", pid);
    tree.created_.push_back(host);
    Helper& h = helpers[pid];
    h.reaper = under;
    h.rt.emplace(CRYO_TRY(RemoteTask::AtTrampoline(host, tramp)));
    CRYO_TRY(h.rt->Check("prctl(PR_SET_PDEATHSIG)", SYS_prctl, PR_SET_PDEATHSIG, SIGKILL));
    return &*h.rt;
  };
  uint32_t root_pgid = s.tasks[0].task.pgid();

  std::vector<SessionTask> st;
  for (const auto& t : s.tasks) st.push_back({static_cast<pid_t>(t.task.pid()), static_cast<pid_t>(t.task.sid()), t.parent});
  SessionPlan plan = CRYO_TRY(PlanSessions(st));
  std::vector<bool> led(s.tasks.size(), false);  // setsid done
  // Task i leads its session (and takes its terminal).
  auto lead = [&](size_t i) -> Result<> {
    uint32_t pid = s.tasks[i].task.pid();
    led[i] = true;
    CRYO_TRY_CTX(tree.leaders_[i]->Check("setsid", SYS_setsid), "session of {}", pid);
    for (const auto& [id, info] : s.tty_infos)
      if (info.sid() == pid) {
        CRYO_TRY_CTX(TakeTerminal(*tree.leaders_[i], scratch, info.pty().index(), 0, tree_fd), "terminal of {}", pid);
        break;
      }
    return {};
  };

  // Parents before children (the plan's order): each new task leads its
  // session at once if it did, so its children are born into it; unless
  // it first makes children born in the session it was born in.
  for (size_t i : plan.order) {
    const TaskImages& t = s.tasks[i];
    uint32_t sid = t.task.sid(), pgid = t.task.pgid(), pid = t.task.pid();
    if (i > 0) {
      size_t pi = static_cast<size_t>(t.parent);
      const TaskImages& parent = s.tasks[pi];
      if (s.tasks[pi].task.sid() == parent.task.pid() && !led[pi] && !plan.early[i]) CRYO_TRY(lead(pi));
      if (plan.via[i] >= 0) {
        size_t l = static_cast<size_t>(plan.via[i]);
        if (!led[l]) CRYO_TRY(lead(l));
        CRYO_TRY(tree.CreateOrphan(s, i, l, tramp, scratch));
      } else {
        RemoteTask* creator = &*tree.leaders_[pi];
        uint64_t flags = 0;
        if (!t.zombie && t.ids.files_id() == parent.ids.files_id()) flags |= CLONE_FILES;
        if (!t.zombie && t.ids.fs_id() == parent.ids.fs_id()) flags |= CLONE_FS;
        if (sid != pid && sid != parent.task.sid() && !tree_pids.count(sid)) {
          // Born into the lost session from its helper, as the parent's child.
          auto h = helpers.find(sid);
          if (h == helpers.end()) {
            RemoteTask* ht = CRYO_TRY(make_helper(pi, sid));
            CRYO_TRY_CTX(ht->Check("setsid", SYS_setsid), "session helper {}", sid);
            h = helpers.find(sid);
          }
          if (h->second.reaper != pi)
            return MakeError(ENOTSUP, "session {}: members under different parents", sid);
          creator = &*h->second.rt;
          flags = CLONE_PARENT;
        }
        pid_t host = CRYO_TRY_CTX(CloneChild(*creator, scratch, t.pid(), flags), "create process {}", t.pid());
        tree.created_.push_back(host);
        tree.host_[i] = host;
        tree.leaders_[i].emplace(CRYO_TRY(RemoteTask::AtTrampoline(host, tramp)));
        // Until it is built: cryo's death, or its parent's, ends it.
        CRYO_TRY(tree.leaders_[i]->Check("prctl(PR_SET_PDEATHSIG)", SYS_prctl, PR_SET_PDEATHSIG, SIGKILL));
      }
      if (placed) CRYO_TRY(placed(i, *tree.leaders_[i]));
    }
    if (sid == pid && !plan.late[i]) CRYO_TRY(lead(i));
    // A lost group: its helper is born in this task's session.
    bool lost_group = pgid != pid && pgid != root_pgid && !tree_pids.count(pgid) && !helpers.count(pgid);
    if (i > 0 && lost_group) {
      RemoteTask* ht = CRYO_TRY(make_helper(i, pgid));
      CRYO_TRY_CTX(ht->Check("setpgid", SYS_setpgid, 0, 0), "group helper {}", pgid);
    }
  }
  for (size_t i = 0; i < s.tasks.size(); i++)
    if (plan.late[i] && !led[i]) CRYO_TRY(lead(i));
  // Groups: their leaders first, then the members join.
  for (size_t i = 0; i < s.tasks.size(); i++) {
    const auto& t = s.tasks[i].task;
    if (t.pgid() == t.pid() && t.sid() != t.pid())
      CRYO_TRY_CTX(tree.leaders_[i]->Check("setpgid", SYS_setpgid, 0, 0), "group of {}", t.pid());
  }
  for (size_t i = 1; i < s.tasks.size(); i++) {
    const auto& t = s.tasks[i].task;
    if (t.pgid() == t.pid()) continue;
    long now = CRYO_TRY(tree.leaders_[i]->Check("getpgid", SYS_getpgid, 0));
    if (static_cast<uint32_t>(now) != t.pgid())
      CRYO_TRY_CTX(tree.leaders_[i]->Check("setpgid", SYS_setpgid, 0, t.pgid()), "join group {} ({})", t.pgid(),
                   t.pid());
  }
  // Foreground groups, now that the groups exist.
  for (size_t i = 0; i < s.tasks.size(); i++) {
    uint32_t pid = s.tasks[i].task.pid();
    for (const auto& [id, info] : s.tty_infos)
      if (info.sid() == pid && info.pgrp() != 0 && tree.leaders_[i]) {
        CRYO_TRY_CTX(TakeTerminal(*tree.leaders_[i], scratch, info.pty().index(), info.pgrp(), tree_fd), "terminal of {}", pid);
        break;
      }
  }
  // Helpers go, reaped by their parents: the sessions and groups they led
  // live on in their members.
  for (auto& [pid, h] : helpers) {
    CRYO_TRY_CTX(Die(*h.rt, 0, tramp, static_cast<pid_t>(pid)), "helper {}", pid);
    h.rt.reset();
    long r = CRYO_TRY(tree.leaders_[h.reaper]->Syscall(SYS_wait4, pid, 0, __WALL, 0));
    if (r != static_cast<long>(pid) && r != -ECHILD) return MakeError(static_cast<int>(-r), "reap helper {}", pid);
  }
  // Zombies last: their parents exist, their groups are set.
  for (size_t i = 0; i < s.tasks.size(); i++) {
    if (!s.tasks[i].zombie) continue;
    CRYO_TRY_CTX(Die(*tree.leaders_[i], static_cast<int>(s.tasks[i].cores[0].tc().exit_code()), tramp,
                     s.tasks[i].pid()),
                 "zombie {}", s.tasks[i].pid());
    tree.leaders_[i].reset();
  }
  if (s.tasks.size() > 1) log.Info("created {} processes under {}", s.tasks.size(), root);
  return tree;
}

// Orphan i was reparented to its parent, an ancestor of its session's
// leader `l`, when the processes between them exited: a helper, a child
// of the leader (so in its session), creates it and exits, and the orphan
// goes to its parent again, made a child subreaper meanwhile so that no
// process between takes it (the dumped subreapers are set later).
Result<> RestoredTree::CreateOrphan(const ImageSet& s, size_t i, size_t l, uint64_t tramp, uint64_t scratch) {
  const TaskImages& t = s.tasks[i];
  size_t pi = static_cast<size_t>(t.parent);
  RemoteTask& leader = *leaders_[l];
  RemoteTask& parent = *leaders_[pi];
  std::set<pid_t> used;
  for (const auto& x : s.tasks)
    for (uint32_t tid : x.task.threads()) used.insert(static_cast<pid_t>(tid));
  // A pid for the helper that the tree does not use and that is free.
  pid_t hp = 0, hhost = 0;
  for (pid_t cand = 2, tries = 0; cand < 32768 && !hp; cand++) {
    if (used.count(cand)) continue;
    Result<pid_t> r = CloneChild(leader, scratch, cand, 0);
    if (!r && r.error().err() == EEXIST && ++tries < 64) continue;
    hhost = CRYO_TRY_CTX(std::move(r), "helper for orphan {}", t.pid());
    hp = cand;
  }
  if (!hp) return MakeError(EAGAIN, "no pid for the helper of orphan {}", t.pid());
  created_.push_back(hhost);
  RemoteTask h = CRYO_TRY(RemoteTask::AtTrampoline(hhost, tramp));
  pid_t host = CRYO_TRY_CTX(CloneChild(h, scratch, t.pid(), 0), "create process {}", t.pid());
  created_.push_back(host);
  host_[i] = host;
  leaders_[i].emplace(CRYO_TRY(RemoteTask::AtTrampoline(host, tramp)));
  CRYO_TRY(parent.Check("prctl(PR_SET_CHILD_SUBREAPER)", SYS_prctl, PR_SET_CHILD_SUBREAPER, 1));
  CRYO_TRY_CTX(Die(h, 0, tramp, hp), "helper {} of orphan {}", hp, t.pid());
  long r = CRYO_TRY(leader.Syscall(SYS_wait4, hp, 0, __WALL, 0));
  if (r != hp) return MakeError(r < 0 ? static_cast<int>(-r) : ECHILD, "reap helper {}", hp);
  CRYO_TRY(parent.Check("prctl(PR_SET_CHILD_SUBREAPER)", SYS_prctl, PR_SET_CHILD_SUBREAPER, 0));
  long ppid = CRYO_TRY(leaders_[i]->Check("getppid", SYS_getppid));
  if (ppid != static_cast<long>(s.tasks[pi].pid()))
    return MakeError(EINVAL, "orphan {} went to {}, not {}", t.pid(), ppid, s.tasks[pi].pid());
  CRYO_TRY(leaders_[i]->Check("prctl(PR_SET_PDEATHSIG)", SYS_prctl, PR_SET_PDEATHSIG, SIGKILL));
  return {};
}

void RestoredTree::KillAll() {
  for (pid_t pid : created_) ::kill(pid, SIGKILL);
  for (auto& l : leaders_) l.reset();  // before the waits: their destructors touch the tasks
  // Children first: a dying PID 1 of the tree's own pid namespace waits
  // for every task there, and traced ones die only once cryo hears them.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    pid_t pid = *it;
    // Threads cryo traces report their deaths to it first; until it has
    // heard them, their leader cannot be reaped.
    for (pid_t tid : ListThreads(pid))
      if (tid != pid) ::waitpid(tid, nullptr, __WALL);
    ::waitpid(pid, nullptr, __WALL);
  }
}

RestoredTree::~RestoredTree() {
  if (!released_) KillAll();
}

pid_t RestoredTree::HostOf(const ImageSet& s, pid_t dumped) const {
  for (size_t i = 0; i < s.tasks.size(); i++)
    if (s.tasks[i].pid() == dumped) return host_[i];
  auto it = host_threads_.find(dumped);
  return it == host_threads_.end() ? 0 : it->second;
}

Result<> RestoredTree::Release(const ImageSet& s, const cpu_set_t* mask) {
  released_ = true;
  Result<> r;
  for (size_t i = 0; i < s.tasks.size(); i++) {
    const TaskImages& t = s.tasks[i];
    if (t.zombie) continue;
    std::vector<pid_t> tids;
    for (uint32_t tid : t.task.threads())
      tids.push_back(static_cast<pid_t>(tid) == t.pid() ? host_[i] : HostOf(s, static_cast<pid_t>(tid)));
    if (mask)
      for (pid_t tid : tids) (void)::sched_setaffinity(tid, sizeof *mask, mask);
    if (t.cores[0].tc().task_state() == 3) ::kill(host_[i], SIGSTOP);
    for (pid_t tid : tids) {
      if (ptrace(PTRACE_DETACH, tid, nullptr, nullptr) != 0 && r) r = ErrnoError("detach {}", tid);
    }
  }
  return r;
}

}  // namespace cryo
