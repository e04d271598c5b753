#include "cli/rpc_session.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "arch/x86_64/cpuinfo.h"
#include "cli/commands.h"
#include "engine/dump/dump.h"
#include "engine/image/image_dir.h"
#include "engine/image/image_writer.h"
#include "engine/kernel/features.h"
#include "engine/mem/page_server.h"
#include "engine/restore/restore.h"

namespace cryo {
namespace {

constexpr size_t kMaxRequest = 4 << 20;
constexpr size_t kMaxErrmsg = 1024;

class RpcNotifier : public Notifier {
 public:
  explicit RpcNotifier(RpcSession& s) : s_(s) {}
  Result<> Notify(std::string_view script, pid_t pid) override { return Send(script, pid, -1); }
  Result<> NotifyFd(std::string_view script, int fd) override { return Send(script, 0, fd); }

 private:
  Result<> Send(std::string_view script, pid_t pid, int fd) {
    rpc::criu_resp r;
    r.set_type(rpc::NOTIFY);
    r.set_success(true);
    r.mutable_notify()->set_script(std::string(script));
    if (pid > 0) r.mutable_notify()->set_pid(pid);
    CRYO_TRY_CTX(s_.Send(r, fd), "notify {}", script);
    auto ack = CRYO_TRY_CTX(s_.Receive(), "notify {}", script);
    if (!ack) return MakeError(ECONNRESET, "the client hung up at {}", script);
    if (ack->type() != rpc::NOTIFY || !ack->notify_success())
      return MakeError(ECANCELED, "the client refused {}", script);
    return {};
  }

  RpcSession& s_;
};

// The log of one request: log_file in the work dir, as the CLI's -o.
Result<Log> RequestLog(const Options& o) {
  if (o.log_file.empty()) return Log();
  std::string path = o.WorkDir() + "/" + o.log_file;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
  if (fd < 0) return ErrnoError("open log file {}", path);
  return Log(fd, o.log_level, /*owned=*/true);
}

}  // namespace

Result<> RpcSession::Send(const rpc::criu_resp& resp, int pass_fd) {
  std::string buf;
  if (!resp.SerializeToString(&buf)) return MakeError(EINVAL, "serialize a response");
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  if (::sendmsg(fd_, &msg, MSG_NOSIGNAL) < 0) return ErrnoError("send a response");
  return {};
}

Result<std::optional<rpc::criu_req>> RpcSession::Receive() {
  ssize_t n = ::recv(fd_, nullptr, 0, MSG_PEEK | MSG_TRUNC);
  if (n < 0) return ErrnoError("receive a request");
  if (n == 0) {
    // A zero-length packet or the end: read it away to tell.
    char c;
    if (::recv(fd_, &c, 0, 0) <= 0) return std::optional<rpc::criu_req>();
  }
  if (static_cast<size_t>(n) > kMaxRequest) return MakeError(kBadRequest, "a request of {} bytes", n);
  std::string buf(static_cast<size_t>(n), '\0');
  if (::recv(fd_, buf.data(), buf.size(), 0) != n) return ErrnoError("receive a request");
  rpc::criu_req req;
  if (!req.ParseFromString(buf)) return MakeError(kBadRequest, "a request that is not a criu_req ({} bytes)", n);
  return req;
}

Result<> RpcSession::Fail(rpc::criu_req_type type, const Error& e) {
  failed_ = true;
  rpc::criu_resp r;
  r.set_type(type);
  r.set_success(false);
  if (e.err() != 0) r.set_cr_errno(e.err());
  std::string msg = e.what();
  if (msg.size() > kMaxErrmsg) msg.resize(kMaxErrmsg);
  r.set_cr_errmsg(msg);
  if (type == rpc::RESTORE) r.mutable_restore()->set_pid(-1);
  return Send(r);
}

Result<> RpcSession::Dump(const rpc::criu_req& req, bool pre) {
  std::vector<UniqueFd> held;
  Options o = CRYO_TRY(OptionsFromRpc(req.opts(), pre ? "pre-dump" : "dump", peer_, held));
  Log log = CRYO_TRY(RequestLog(o));
  log.Info("cryo {} (rpc{}), {} request from {}", kCriuMajor * 100 + kCriuMinor, service_ ? " service" : " swrk",
           o.command, peer_.pid);
  RpcNotifier notifier(*this);
  Notifier* notify = req.opts().notify_scripts() ? &notifier : nullptr;
  auto stats = pre ? cryo::PreDump(o, ProbeMemTrack(), log, notify) : cryo::Dump(o, KernelFeatures{}, log, notify);
  if (!stats) {
    log.Error("{}", stats.error().what());
    return std::unexpected(stats.error());
  }
  if (auto work = OpenImageDir(o.WorkDir())) {
    img::stats_entry se;
    *se.mutable_dump() = *stats;
    (void)WriteSingleEntryImage(work->get(), ImageKind::kStatsDump, 0, se);
  }
  // A client that dumped itself without leave_running is gone.
  if (!pre && o.pid == peer_.pid && !o.leave_running) return {};
  rpc::criu_resp r;
  r.set_type(req.type());
  r.set_success(true);
  if (!pre) r.mutable_dump()->set_restored(false);
  return Send(r);
}

Result<> RpcSession::Restore(const rpc::criu_req& req) {
  std::vector<UniqueFd> held;
  Options o = CRYO_TRY(OptionsFromRpc(req.opts(), "restore", peer_, held));
  Log log = CRYO_TRY(RequestLog(o));
  log.Info("cryo {} (rpc{}), restore request from {}", kCriuMajor * 100 + kCriuMinor,
           service_ ? " service" : " swrk", peer_.pid);
  RpcNotifier notifier(*this);
  auto restored = cryo::Restore(o, log, req.opts().notify_scripts() ? &notifier : nullptr);
  if (!restored) {
    log.Error("{}", restored.error().what());
    return std::unexpected(restored.error());
  }
  if (auto work = OpenImageDir(o.WorkDir())) {
    img::stats_entry se;
    *se.mutable_restore() = restored->stats;
    (void)WriteSingleEntryImage(work->get(), ImageKind::kStatsRestore, 0, se);
  }
  rpc::criu_resp r;
  r.set_type(rpc::RESTORE);
  r.set_success(true);
  r.mutable_restore()->set_pid(restored->pid);
  return Send(r);
}

Result<bool> RpcSession::Handle(const rpc::criu_req& req) {
  rpc::criu_resp r;
  r.set_type(req.type());
  r.set_success(true);
  switch (req.type()) {
    case rpc::VERSION:
      r.mutable_version()->set_major_number(kCriuMajor);
      r.mutable_version()->set_minor_number(kCriuMinor);
      CRYO_TRY(Send(r));
      return true;  // go-criu's probe just hangs up after it
    case rpc::FEATURE_CHECK: {
      // Every field answered; true only for what cryo really does.
      auto* f = r.mutable_features();
      KernelFeatures kf = ProbeMemTrack();
      f->set_mem_track(req.features().mem_track() && kf.MemTrack());
      f->set_lazy_pages(req.features().lazy_pages() && kf.LazyPages());
      f->set_pidfd_store(false);
      CRYO_TRY(Send(r));
      return req.keep_open();
    }
    case rpc::CHECK: {
      KernelFeatures kf = ProbeKernelFeatures();
      r.set_success(kf.clone3_set_tid && kf.pidfd_getfd && kf.rseq_config);
      if (!r.success()) r.set_cr_errmsg("this kernel lacks what cryo needs (cryo check tells what)");
      CRYO_TRY(Send(r));
      return req.keep_open();
    }
    case rpc::WAIT_PID: {
      int status = 0;
      if (::waitpid(static_cast<pid_t>(req.pid()), &status, 0) < 0)
        return ErrnoError("wait for pid {}", req.pid());
      r.set_status(status);
      CRYO_TRY(Send(r));
      return req.keep_open();
    }
    case rpc::DUMP:
      CRYO_TRY(Dump(req));
      return false;
    case rpc::RESTORE:
      CRYO_TRY(Restore(req));
      return false;
    case rpc::PRE_DUMP:
      // Then the next request: another pre-dump, or the final dump.
      CRYO_TRY(Dump(req, true));
      return true;
    case rpc::SINGLE_PRE_DUMP:
      CRYO_TRY(Dump(req, true));
      return false;
    case rpc::PAGE_SERVER:
    case rpc::PAGE_SERVER_CHLD: {
      // A page server of its own (CRIU's protocol) on ps.address:ps.port
      // (port 0: one the kernel picks), for one dump; its pid and port
      // in the reply.
      std::vector<UniqueFd> held;
      Options o = CRYO_TRY(OptionsFromRpc(req.opts(), "page-server", peer_, held));
      UniqueFd dir = CRYO_TRY(OpenImageDir(o.images_dir));
      Log log = CRYO_TRY(RequestLog(o));
      log.Info("cryo {} (rpc{}), page-server request from {}", kCriuMajor * 100 + kCriuMinor,
               service_ ? " service" : " swrk", peer_.pid);
      ps::Listener l = CRYO_TRY(ps::Listen(o.address, o.port));
      pid_t server = CRYO_TRY(ps::StartDetached(l, dir.get(), log));
      r.mutable_ps()->set_pid(server);
      r.mutable_ps()->set_port(l.port);
      CRYO_TRY(Send(r));
      return req.keep_open();
    }
    case rpc::CPUINFO_DUMP:
    case rpc::CPUINFO_CHECK: {
      std::vector<UniqueFd> held;
      Options o = CRYO_TRY(
          OptionsFromRpc(req.opts(), "cpuinfo", peer_, held, {req.type() == rpc::CPUINFO_DUMP ? "dump" : "check"}));
      UniqueFd dir = CRYO_TRY(OpenImageDir(o.images_dir));
      if (req.type() == rpc::CPUINFO_DUMP) {
        CRYO_TRY_CTX(arch::DumpCpuinfo(dir.get()), "cpuinfo dump");
      } else if (auto ok = arch::CheckCpuinfo(dir.get()); !ok) {
        // A CPU that differs is an answer, not a failed request.
        r.set_success(false);
        std::string msg = ok.error().what();
        if (msg.size() > kMaxErrmsg) msg.resize(kMaxErrmsg);
        r.set_cr_errmsg(msg);
      }
      CRYO_TRY(Send(r));
      return req.keep_open();
    }
    default:
      return MakeError(kBadRequest, "invalid request type {}", static_cast<int>(req.type()));
  }
}

int RpcSession::Serve() {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return 1;
  peer_.pid = cred.pid;
  peer_.service = service_;
  for (;;) {
    auto req = Receive();
    if (!req) {
      (void)Fail(rpc::EMPTY, req.error());
      return 1;
    }
    if (!*req) return failed_ ? 1 : 0;
    auto more = Handle(**req);
    if (!more) {
      // Types CRIU does not know are answered as EMPTY.
      rpc::criu_req_type t = (*req)->type();
      bool known = t != rpc::EMPTY && t != rpc::NOTIFY && rpc::criu_req_type_IsValid(t);
      (void)Fail(known ? t : rpc::EMPTY, more.error());
      return 1;
    }
    if (!*more) return failed_ ? 1 : 0;
  }
}

}  // namespace cryo
