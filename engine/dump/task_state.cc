#include "engine/dump/task_state.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <sstream>

#include "arch/x86_64/regs.h"
#include "engine/base/files.h"
#include "engine/ns/user.h"
#include "engine/proc/proc.h"
#include "arch/x86_64/syscall_batch.h"
#include "parasite/batch.h"
#include "parasite/remote.h"
#include "engine/base/linux_compat.h"


namespace cryo {
namespace {

// The kernel's struct sigaction on x86-64.
struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

struct RseqConfiguration {
  uint64_t rseq_abi_pointer;
  uint32_t rseq_abi_size;
  uint32_t signature;
  uint32_t flags;
  uint32_t pad;
};

// Pages in the task for the batch code, its table, and syscalls that write
// their answers to memory.
constexpr size_t kPage = 4096, kCodeSize = kPage, kTableSize = 2 * kPage, kDataSize = 2 * kPage;
constexpr size_t kScratch = kCodeSize + kTableSize + kDataSize;
constexpr size_t kMaxBatch = kTableSize / sizeof(x86::BatchEntry);

class Scratch {
 public:
  static Result<Scratch> Map(RemoteTask& t) {
    long a = CRYO_TRY(t.Check("mmap scratch", SYS_mmap, 0, kScratch, PROT_READ | PROT_WRITE | PROT_EXEC,
                              MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0));
    Scratch s(t, static_cast<uint64_t>(a));
    CRYO_TRY(t.Write(s.base_, x86::kSyscallBatch, sizeof x86::kSyscallBatch));
    return s;
  }
  Scratch(Scratch&& o) noexcept : t_(o.t_), base_(std::exchange(o.base_, 0)) {}
  ~Scratch() {
    if (base_) (void)t_->Syscall(SYS_munmap, base_, kScratch);
  }
  // Memory for the answers.
  uint64_t addr() const { return base_ + kCodeSize + kTableSize; }
  Result<std::vector<long>> Run(SyscallBatch& b) {
    return b.Run(*t_, base_, base_ + kCodeSize, kMaxBatch);
  }

 private:
  Scratch(RemoteTask& t, uint64_t a) : t_(&t), base_(a) {}
  RemoteTask* t_;
  uint64_t base_;
};

// Pending signals with their siginfo, private to a thread or (shared)
// the process's, read with PTRACE_PEEKSIGINFO: they stay queued.
Result<> PeekSignals(pid_t tid, bool shared, img::signal_queue_entry* out) {
  struct {
    uint64_t off;
    uint32_t flags;
    int32_t nr;
  } args{0, shared ? 1u : 0u, 32};
  siginfo_t buf[32];
  for (;;) {
    long n = ptrace(static_cast<__ptrace_request>(PTRACE_PEEKSIGINFO), tid, &args, buf);
    if (n < 0) return ErrnoError("PTRACE_PEEKSIGINFO {}", tid);
    for (long i = 0; i < n; i++)
      out->add_signals()->set_siginfo(std::string(reinterpret_cast<const char*>(&buf[i]), sizeof buf[i]));
    if (n < args.nr) return {};
    args.off += static_cast<uint64_t>(n);
  }
}

// POSIX timers from /proc/PID/timers ("ID:", "signal: N/sival",
// "notify: signal/pid.N|signal/tid.N|none/pid.N", "ClockID:"; newest
// first), with their times asked of the task (timer_gettime).
Result<> DumpPosixTimers(pid_t pid, RemoteTask& t, uint64_t scratch, img::task_timers_entry* out) {
  std::string text = CRYO_TRY(ReadFile(fmt::format("/proc/{}/timers", pid)));
  std::istringstream in(text);
  std::string line;
  img::posix_timer_entry* cur = nullptr;
  while (std::getline(in, line)) {
    if (line.starts_with("ID: ")) {
      cur = out->add_posix();
      cur->set_it_id(static_cast<uint32_t>(std::stoul(line.substr(4))));
      cur->set_clock_id(0);
      cur->set_si_signo(0);
      cur->set_it_sigev_notify(SIGEV_SIGNAL);
      cur->set_sival_ptr(0);
    } else if (cur && line.starts_with("signal: ")) {
      size_t slash = line.find('/');
      cur->set_si_signo(static_cast<uint32_t>(std::stoul(line.substr(8, slash - 8))));
      if (slash != std::string::npos) cur->set_sival_ptr(std::stoull(line.substr(slash + 1), nullptr, 16));
    } else if (cur && line.starts_with("notify: ")) {
      std::string how = line.substr(8);
      size_t dot = how.rfind('.');
      if (how.starts_with("none")) {
        cur->set_it_sigev_notify(SIGEV_NONE);
      } else if (how.find("/tid.") != std::string::npos) {
        cur->set_it_sigev_notify(SIGEV_SIGNAL | SIGEV_THREAD_ID);
        if (dot != std::string::npos) cur->set_notify_thread_id(std::stoi(how.substr(dot + 1)));
      } else {
        cur->set_it_sigev_notify(SIGEV_SIGNAL);
      }
    } else if (cur && line.starts_with("ClockID: ")) {
      cur->set_clock_id(static_cast<uint32_t>(std::stoul(line.substr(9))));
    }
  }
  for (auto& timer : *out->mutable_posix()) {
    CRYO_TRY(t.Check("timer_gettime", SYS_timer_gettime, timer.it_id(), scratch));
    itimerspec its{};
    CRYO_TRY(t.Read(scratch, &its, sizeof its));
    timer.set_isec(static_cast<uint64_t>(its.it_interval.tv_sec));
    timer.set_insec(static_cast<uint64_t>(its.it_interval.tv_nsec));
    timer.set_vsec(static_cast<uint64_t>(its.it_value.tv_sec));
    timer.set_vnsec(static_cast<uint64_t>(its.it_value.tv_nsec));
    long ov = CRYO_TRY(t.Check("timer_getoverrun", SYS_timer_getoverrun, timer.it_id()));
    timer.set_overrun(static_cast<uint32_t>(ov));
  }
  return {};
}

std::vector<uint32_t> Words(const std::string& s) {
  std::vector<uint32_t> out;
  std::istringstream in(s);
  uint64_t v;
  while (in >> v) out.push_back(static_cast<uint32_t>(v));
  return out;
}

void CapWords(const std::string& status, const char* key, google::protobuf::RepeatedField<uint32_t>* out) {
  auto v = StatusField(status, key);
  uint64_t m = v ? std::strtoull(v->c_str(), nullptr, 16) : 0;
  out->Add(static_cast<uint32_t>(m));
  out->Add(static_cast<uint32_t>(m >> 32));
}

Result<> DumpCreds(pid_t tid, const std::string& status, const ns::IdMaps& maps, long secbits, long nnp,
                   img::creds_entry* c) {
  auto uids = Words(CRYO_TRY(StatusField(status, "Uid")));
  auto gids = Words(CRYO_TRY(StatusField(status, "Gid")));
  if (uids.size() != 4 || gids.size() != 4) return MakeError(0, "thread {}: bad Uid/Gid lines", tid);
  std::vector<uint32_t> groups = Words(StatusField(status, "Groups").value_or(""));
  // In a user namespace of its own the ids are stored as the tree sees
  // them (as CRIU does): the restore sets them from inside. /proc shows
  // them as cryo's.
  if (!maps.uid.empty()) {
    for (auto& u : uids) u = ns::ToInside(maps.uid, u);
    for (auto& g : gids) g = ns::ToInside(maps.gid, g);
    for (auto& g : groups) g = ns::ToInside(maps.gid, g);
  }
  c->set_uid(uids[0]);
  c->set_euid(uids[1]);
  c->set_suid(uids[2]);
  c->set_fsuid(uids[3]);
  c->set_gid(gids[0]);
  c->set_egid(gids[1]);
  c->set_sgid(gids[2]);
  c->set_fsgid(gids[3]);
  for (uint32_t g : groups) c->add_groups(g);
  CapWords(status, "CapInh", c->mutable_cap_inh());
  CapWords(status, "CapPrm", c->mutable_cap_prm());
  CapWords(status, "CapEff", c->mutable_cap_eff());
  CapWords(status, "CapBnd", c->mutable_cap_bnd());
  CapWords(status, "CapAmb", c->mutable_cap_amb());
  c->set_secbits(static_cast<uint32_t>(secbits));
  c->set_no_new_privs(static_cast<uint32_t>(nnp));
  return {};
}

}  // namespace

// The thread's seccomp mode and filter chain (PTRACE_SECCOMP_GET_FILTER
// gives filter 0 = newest). Appended to seccomp.img newest first; each
// older filter's prev names the next newer one, and the thread points at
// its oldest, so following prev replays the installs in order.
Result<> DumpSeccomp(pid_t tid, const std::string& status, img::thread_core_entry* tc,
                     img::seccomp_entry* all) {
  auto mode = StatusField(status, "Seccomp");
  int m = mode ? std::atoi(mode->c_str()) : 0;
  tc->set_seccomp_mode(static_cast<img::seccomp_mode>(m));
  if (m != 2) return {};
  std::vector<std::string> chain;  // newest first
  for (unsigned long i = 0;; i++) {
    long n = ptrace(static_cast<__ptrace_request>(0x420c /* PTRACE_SECCOMP_GET_FILTER */), tid, i, nullptr);
    if (n < 0) {
      if (errno == ENOENT) break;
      return ErrnoError("PTRACE_SECCOMP_GET_FILTER {} #{}", tid, i);
    }
    std::string prog(static_cast<size_t>(n) * 8, '\0');
    if (ptrace(static_cast<__ptrace_request>(0x420c), tid, i, prog.data()) != n)
      return ErrnoError("PTRACE_SECCOMP_GET_FILTER {} #{}", tid, i);
    chain.push_back(std::move(prog));
  }
  if (chain.empty()) return MakeError(0, "thread {} is in seccomp filter mode without filters", tid);
  uint32_t base = static_cast<uint32_t>(all->seccomp_filters_size());
  for (size_t k = 0; k < chain.size(); k++) {
    auto* f = all->add_seccomp_filters();
    f->set_filter(chain[k]);
    if (k > 0) f->set_prev(base + static_cast<uint32_t>(k) - 1);
  }
  tc->set_seccomp_filter(base + static_cast<uint32_t>(chain.size()) - 1);
  return {};
}

namespace {

// What ptrace and /proc show of a thread; its status text is kept for
// the credentials.
Result<> ThreadOutside(pid_t pid, pid_t tid, img::core_entry& core, img::seccomp_entry* seccomp,
                       std::string* status) {
  core.set_mtype(img::core_entry::X86_64);
  auto* ti = core.mutable_thread_info();
  x86::Regs regs = CRYO_TRY(x86::GetRegs(tid));
  x86::RegsToImage(regs, ti->mutable_gpregs());
  x86::XSave xs = CRYO_TRY(x86::GetXSave(tid));
  x86::XSaveToImage(xs, ti->mutable_fpregs());

  auto* tc = core.mutable_thread_core();
  uint64_t head = 0;
  size_t len = 0;
  if (::syscall(SYS_get_robust_list, tid, &head, &len) != 0) return ErrnoError("get_robust_list {}", tid);
  tc->set_futex_rla(head);
  tc->set_futex_rla_len(static_cast<uint32_t>(len));
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, tid, sizeof mask, &mask) != 0) return ErrnoError("PTRACE_GETSIGMASK {}", tid);
  tc->set_blk_sigset(mask);
  int policy = sched_getscheduler(tid);
  if (policy < 0) return ErrnoError("sched_getscheduler {}", tid);
  // Kept with SCHED_RESET_ON_FORK, as CRIU stores it: the flag is the
  // thread's too.
  tc->set_sched_policy(static_cast<uint32_t>(policy));
  sched_param sp{};
  if (sched_getparam(tid, &sp) != 0) return ErrnoError("sched_getparam {}", tid);
  tc->set_sched_prio(static_cast<uint32_t>(sp.sched_priority));
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  if (errno != 0) return ErrnoError("getpriority {}", tid);
  tc->set_sched_nice(nice);
  std::string comm = CRYO_TRY(ReadFile(fmt::format("/proc/{}/task/{}/comm", pid, tid)));
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  tc->set_comm(comm);
  *status = CRYO_TRY(ReadFile(fmt::format("/proc/{}/task/{}/status", pid, tid)));
  CRYO_TRY(DumpSeccomp(tid, *status, tc, seccomp));
  CRYO_TRY(PeekSignals(tid, false, tc->mutable_signals_p()));
  if (tc->signals_p().signals_size() == 0) tc->clear_signals_p();
  RseqConfiguration rc{};
  if (ptrace(static_cast<__ptrace_request>(PTRACE_GET_RSEQ_CONFIGURATION), tid, sizeof rc, &rc) > 0 &&
      rc.rseq_abi_pointer != 0) {
    auto* re = tc->mutable_rseq_entry();
    re->set_rseq_abi_pointer(rc.rseq_abi_pointer);
    re->set_rseq_abi_size(rc.rseq_abi_size);
    re->set_signature(rc.signature);
  }

  return {};
}

// What only the thread itself can say, asked through the scratch pages
// mapped in it.
Result<> ThreadInside(RemoteTask& t, Scratch& s, pid_t tid, const std::string& status, const ns::IdMaps& maps,
                      img::core_entry& core) {
  auto* ti = core.mutable_thread_info();
  auto* tc = core.mutable_thread_core();
  // One batch: clear-tid address, parent-death signal, alternate stack,
  // securebits, no_new_privs.
  uint64_t d = s.addr();
  SyscallBatch b;
  b.Add(SYS_prctl, PR_GET_TID_ADDRESS, d);
  b.Add(SYS_prctl, PR_GET_PDEATHSIG, d + 8);
  b.Add(SYS_sigaltstack, 0, d + 16);
  b.Add(SYS_prctl, PR_GET_SECUREBITS);
  b.Add(SYS_prctl, PR_GET_NO_NEW_PRIVS);
  std::vector<long> res = CRYO_TRY_CTX(s.Run(b), "thread state of {}", tid);
  static constexpr const char* kWhat[] = {"prctl(PR_GET_TID_ADDRESS)", "prctl(PR_GET_PDEATHSIG)", "sigaltstack",
                                          "prctl(PR_GET_SECUREBITS)", "prctl(PR_GET_NO_NEW_PRIVS)"};
  for (size_t i = 0; i < res.size(); i++)
    if (res[i] < 0 && res[i] > -4096) return MakeError(static_cast<int>(-res[i]), "{} in thread {}", kWhat[i], tid);
  struct {
    uint64_t tid_addr;
    int pdeath, pad;
    stack_t ss;
  } out{};
  static_assert(offsetof(decltype(out), ss) == 16);
  CRYO_TRY(t.Read(d, &out, sizeof out));
  ti->set_clear_tid_addr(out.tid_addr);
  tc->set_pdeath_sig(static_cast<uint32_t>(out.pdeath));
  auto* sas = tc->mutable_sas();
  sas->set_ss_sp(reinterpret_cast<uint64_t>(out.ss.ss_sp));
  sas->set_ss_size(out.ss.ss_size);
  sas->set_ss_flags(static_cast<uint32_t>(out.ss.ss_flags));
  CRYO_TRY(DumpCreds(tid, status, maps, res[3], res[4], tc->mutable_creds()));
  return {};
}

Result<> Detach(RemoteTask& t, pid_t tid, Log& log) {
  if (!t.stray_signals().empty())
    log.Warn("thread {}: {} signal(s) arrived during the dump", tid, t.stray_signals().size());
  return t.Restore();
}

// What ptrace and /proc show of the process (its umask: from the
// leader's status, read for its thread).
Result<> TaskOutside(pid_t pid, img::core_entry& core, TaskExtras* extras) {
  auto* tc = core.mutable_tc();
  ProcStat st = CRYO_TRY(ReadStat(pid));
  tc->set_task_state(1);
  tc->set_exit_code(0);
  std::string pers = CRYO_TRY(ReadFile(fmt::format("/proc/{}/personality", pid)));
  tc->set_personality(static_cast<uint32_t>(std::strtoul(pers.c_str(), nullptr, 16)));
  tc->set_flags(st.flags);
  tc->set_comm(st.comm);
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, pid, sizeof mask, &mask) != 0) return ErrnoError("PTRACE_GETSIGMASK {}", pid);
  tc->set_blk_sigset(mask);
  CRYO_TRY(PeekSignals(pid, true, tc->mutable_signals_s()));
  if (tc->signals_s().signals_size() == 0) tc->clear_signals_s();
  std::string oom = CRYO_TRY(ReadFile(fmt::format("/proc/{}/oom_score_adj", pid)));
  tc->set_oom_score_adj(std::atoi(oom.c_str()));
  if (auto lu = ReadFile(fmt::format("/proc/{}/loginuid", pid)))
    tc->set_loginuid(static_cast<uint32_t>(std::strtoul(lu->c_str(), nullptr, 10)));
  extras->stat = st;
  return {};
}

// What only the process itself can say (process-wide), through the
// scratch pages mapped in its leader.
Result<> TaskInside(RemoteTask& t, Scratch& s, pid_t pid, img::core_entry& core, TaskExtras* extras) {
  auto* tc = core.mutable_tc();
  // One batch: sigactions, rlimits (asked by the task itself: prlimit on
  // another uid's process needs CAP_SYS_RESOURCE, which root lacks here),
  // itimers, subreaper, brk, dumpable.
  constexpr uint64_t kSa = 0, kRl = 64 * sizeof(KernelSigaction), kIt = kRl + RLIM_NLIMITS * sizeof(rlimit64),
                     kSub = kIt + 3 * sizeof(itimerval), kEnd = kSub + 8;
  static_assert(kEnd <= kDataSize);
  uint64_t d = s.addr();
  SyscallBatch b;
  std::vector<std::pair<int, size_t>> sa_calls;
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sa_calls.push_back({sig, b.Add(SYS_rt_sigaction, static_cast<uint64_t>(sig), 0,
                                   d + kSa + (sig - 1) * sizeof(KernelSigaction), 8)});
  }
  size_t rl0 = b.size();
  for (int r = 0; r < RLIM_NLIMITS; r++)
    b.Add(SYS_prlimit64, 0, static_cast<uint64_t>(r), 0, d + kRl + r * sizeof(rlimit64));
  size_t it0 = b.size();
  for (int w = 0; w < 3; w++) b.Add(SYS_getitimer, static_cast<uint64_t>(w), d + kIt + w * sizeof(itimerval));
  size_t sub = b.Add(SYS_prctl, PR_GET_CHILD_SUBREAPER, d + kSub);
  size_t brk = b.Add(SYS_brk, 0);
  size_t dumpable = b.Add(SYS_prctl, PR_GET_DUMPABLE);
  size_t thp = b.Add(SYS_prctl, PR_GET_THP_DISABLE, 0, 0, 0, 0);
  // MEMBARRIER_CMD_GET_REGISTRATIONS (Linux 6.3; an enum value in newer
  // headers, so no macro of ours).
  constexpr uint64_t kGetRegistrations = 1 << 9;
  size_t membarrier = b.Add(SYS_membarrier, kGetRegistrations, 0, 0);
  std::vector<long> res = CRYO_TRY_CTX(s.Run(b), "task state of {}", pid);
  auto check = [&](size_t i, const char* what) -> Result<long> {
    if (res[i] < 0 && res[i] > -4096) return MakeError(static_cast<int>(-res[i]), "{} in task {}", what, pid);
    return res[i];
  };
  std::vector<char> data(kEnd);
  CRYO_TRY(t.Read(d, data.data(), data.size()));
  for (auto [sig, i] : sa_calls) {
    CRYO_TRY(check(i, "rt_sigaction"));
    KernelSigaction ka{};
    std::memcpy(&ka, data.data() + kSa + (sig - 1) * sizeof ka, sizeof ka);
    auto* sa = tc->add_sigactions();
    sa->set_sigaction(ka.handler);
    sa->set_flags(ka.flags);
    sa->set_restorer(ka.restorer);
    sa->set_mask(ka.mask);
  }
  auto* rl = tc->mutable_rlimits();
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    CRYO_TRY(check(rl0 + r, "prlimit64"));
    rlimit64 lim{};
    std::memcpy(&lim, data.data() + kRl + r * sizeof lim, sizeof lim);
    auto* e = rl->add_rlimits();
    e->set_cur(lim.rlim_cur);
    e->set_max(lim.rlim_max);
  }
  auto* timers = tc->mutable_timers();
  img::itimer_entry* which[] = {timers->mutable_real(), timers->mutable_virt(), timers->mutable_prof()};
  for (int w = 0; w < 3; w++) {
    CRYO_TRY(check(it0 + w, "getitimer"));
    itimerval iv{};
    std::memcpy(&iv, data.data() + kIt + w * sizeof iv, sizeof iv);
    which[w]->set_isec(static_cast<uint64_t>(iv.it_interval.tv_sec));
    which[w]->set_iusec(static_cast<uint64_t>(iv.it_interval.tv_usec));
    which[w]->set_vsec(static_cast<uint64_t>(iv.it_value.tv_sec));
    which[w]->set_vusec(static_cast<uint64_t>(iv.it_value.tv_usec));
  }
  CRYO_TRY(check(sub, "prctl(PR_GET_CHILD_SUBREAPER)"));
  int subreaper = 0;
  std::memcpy(&subreaper, data.data() + kSub, sizeof subreaper);
  tc->set_child_subreaper(subreaper != 0);
  extras->brk = static_cast<uint64_t>(CRYO_TRY(check(brk, "brk")));
  extras->dumpable = static_cast<int>(CRYO_TRY(check(dumpable, "prctl(PR_GET_DUMPABLE)")));
  long thp_mode = CRYO_TRY(check(thp, "prctl(PR_GET_THP_DISABLE)"));
  // 1: disabled; 3: disabled except where madvise()d (Linux 6.18), which
  // mm_entry.thp_disabled (a bool, as CRIU has it) cannot say.
  if (thp_mode & ~1L)
    return MakeError(ENOTSUP, "pid {}: THP disabled except where advised (PR_GET_THP_DISABLE {}): not supported",
                     pid, thp_mode);
  extras->thp_disabled = thp_mode != 0;
  // The registration commands it made (MEMBARRIER_CMD_REGISTER_*): made
  // again on restore. Without them its expedited barriers fail with EPERM.
  uint32_t registered = 0;
  if (res[membarrier] == -EINVAL) {
    // Before Linux 6.3: an expedited barrier works only where registered
    // (EPERM otherwise); REGISTER_x is x << 1.
    constexpr uint32_t kBarriers[] = {MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
                                      MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ};
    SyscallBatch probe;
    for (uint32_t cmd : kBarriers) probe.Add(SYS_membarrier, cmd, 0, 0);
    std::vector<long> got = CRYO_TRY_CTX(s.Run(probe), "membarrier registrations of {}", pid);
    for (size_t i = 0; i < got.size(); i++)
      if (got[i] == 0) registered |= kBarriers[i] << 1;
  } else {
    registered = static_cast<uint32_t>(CRYO_TRY(check(membarrier, "membarrier(GET_REGISTRATIONS)")));
  }
  if (registered) tc->set_membarrier_registration_mask(registered);
  CRYO_TRY(DumpPosixTimers(pid, t, s.addr(), timers));
  return {};
}

}  // namespace

Result<> DumpLeaderCore(pid_t pid, const ns::IdMaps& maps, img::core_entry& core, TaskExtras* extras,
                        img::seccomp_entry* seccomp, Log& log) {
  CRYO_TRY(TaskOutside(pid, core, extras));
  std::string status;
  CRYO_TRY(ThreadOutside(pid, pid, core, seccomp, &status));
  extras->umask =
      static_cast<uint32_t>(std::strtoul(StatusField(status, "Umask").value_or("22").c_str(), nullptr, 8));
  // One scratch mapping for both.
  RemoteTask t = CRYO_TRY(RemoteTask::AtCurrentIp(pid));
  {
    Scratch s = CRYO_TRY(Scratch::Map(t));
    CRYO_TRY(TaskInside(t, s, pid, core, extras));
    CRYO_TRY(ThreadInside(t, s, pid, status, maps, core));
  }
  return Detach(t, pid, log);
}

Result<> DumpThreadCore(pid_t pid, pid_t tid, const ns::IdMaps& maps, img::core_entry& core,
                        img::seccomp_entry* seccomp, Log& log) {
  std::string status;
  CRYO_TRY(ThreadOutside(pid, tid, core, seccomp, &status));
  RemoteTask t = CRYO_TRY(RemoteTask::AtCurrentIp(tid));
  {
    Scratch s = CRYO_TRY(Scratch::Map(t));
    CRYO_TRY(ThreadInside(t, s, tid, status, maps, core));
  }
  return Detach(t, tid, log);
}

}  // namespace cryo
