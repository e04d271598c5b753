#include "engine/restore/pty.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "engine/base/files.h"

namespace cryo {
namespace {

constexpr int kMaxOpens = 4096;

termios TermiosFromImage(const img::termios_entry& e) {
  termios t{};
  t.c_iflag = e.c_iflag();
  t.c_oflag = e.c_oflag();
  t.c_cflag = e.c_cflag();
  t.c_lflag = e.c_lflag();
  t.c_line = static_cast<cc_t>(e.c_line());
  for (int i = 0; i < e.c_cc_size() && i < NCCS; i++) t.c_cc[i] = static_cast<cc_t>(e.c_cc(i));
  ::cfsetispeed(&t, e.c_ispeed());
  ::cfsetospeed(&t, e.c_ospeed());
  return t;
}

// A master with pty number `index`: the kernel gives the lowest free one,
// so the ones below are held until it comes.
Result<UniqueFd> OpenMaster(uint32_t index, const mnt::TreeRoot& root) {
  std::vector<UniqueFd> below;
  for (int i = 0; i < kMaxOpens; i++) {
    // The tree's /dev/ptmx: its own devpts when it has a mount tree.
    UniqueFd m = CRYO_TRY_CTX(root.Open("/dev/ptmx", O_RDWR | O_NOCTTY), "pty {}", index);
    unsigned got = 0;
    if (::ioctl(m.get(), TIOCGPTN, &got) != 0) return ErrnoError("pty number");
    if (got == index) return m;
    if (got > index) return MakeError(EEXIST, "pty {} is taken (the kernel gave {})", index, got);
    below.push_back(std::move(m));
  }
  return MakeError(EEXIST, "pty {}: no such pty after {} opens", index, kMaxOpens);
}

// The slave of `master`, whatever devpts instance they are on.
Result<UniqueFd> Peer(int master, int flags, uint32_t index) {
  UniqueFd fd(::ioctl(master, TIOCGPTPEER, flags | O_NOCTTY | O_CLOEXEC));
  if (!fd) return ErrnoError("pty {}: open its slave", index);
  return fd;
}

}  // namespace

Result<> CreatePtys(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const mnt::TreeRoot& root,
                    std::vector<UniqueFd>& orphans, const std::function<UniqueFd(uint32_t)>& premade) {
  // One pty per index: its master, unlocked, its slave set up.
  struct Pty {
    UniqueFd master, slave;
  };
  std::map<uint32_t, Pty> by_index;
  for (const auto& [id, info] : s.tty_infos) {
    uint32_t index = info.pty().index();
    if (by_index.count(index)) continue;
    Pty p;
    p.master = premade ? premade(index) : UniqueFd();
    if (!p.master) p.master = CRYO_TRY(OpenMaster(index, root));
    int unlock = 0;
    if (::ioctl(p.master.get(), TIOCSPTLCK, &unlock) != 0) return ErrnoError("unlock pty {}", index);
    p.slave = CRYO_TRY(Peer(p.master.get(), O_RDWR, index));
    by_index[index] = std::move(p);
  }
  // The indexes whose master the tree held; the others are orphans, set
  // up from their slave's record.
  std::set<uint32_t> held;
  for (const auto& [id, info] : s.tty_infos)
    if (info.rdev() == ((5u << 20) | 2u)) held.insert(info.pty().index());
  std::set<uint32_t> set_up;
  for (const auto& [id, info] : s.tty_infos) {
    Pty& p = by_index.at(info.pty().index());
    bool master = info.rdev() == ((5u << 20) | 2u);
    if (!master && held.count(info.pty().index())) continue;
    if (!info.has_termios()) continue;  // hung up: nothing to set
    if (!set_up.insert(info.pty().index()).second) continue;
    termios t = TermiosFromImage(info.termios());
    // The master's unread output, written through the slave as it was
    // already processed, then the dumped termios.
    if (auto d = s.tty_data.find(id); d != s.tty_data.end()) {
      termios raw = t;
      raw.c_oflag &= ~static_cast<tcflag_t>(OPOST);
      if (::tcsetattr(p.slave.get(), TCSANOW, &raw) != 0) return ErrnoError("pty {}: termios", info.pty().index());
      CRYO_TRY_CTX(WriteAll(p.slave.get(), d->second), "pty {}: unread output", info.pty().index());
    }
    if (::tcsetattr(p.slave.get(), TCSANOW, &t) != 0) return ErrnoError("pty {}: termios", info.pty().index());
    winsize ws{static_cast<unsigned short>(info.winsize().ws_row()), static_cast<unsigned short>(info.winsize().ws_col()),
               static_cast<unsigned short>(info.winsize().ws_xpixel()),
               static_cast<unsigned short>(info.winsize().ws_ypixel())};
    if (::ioctl(p.slave.get(), TIOCSWINSZ, &ws) != 0) return ErrnoError("pty {}: window size", info.pty().index());
    // The slave's owner (a login sets it to the user).
    if (info.has_uid() && info.has_gid() && ::fchown(p.slave.get(), info.uid(), info.gid()) != 0)
      return ErrnoError("pty {}: owner {}:{}", info.pty().index(), info.uid(), info.gid());
    if (info.packet_mode()) {
      int on = 1;
      if (::ioctl(p.master.get(), TIOCPKT, &on) != 0) return ErrnoError("pty {}: packet mode", info.pty().index());
    }
  }
  // The slave's unread input (kept with the slave's record), typed in
  // again with echo, signals and input processing off, line
  // discipline as dumped: the same bytes wait, in the same lines.
  for (const auto& [id, info] : s.tty_infos) {
    bool master = info.rdev() == ((5u << 20) | 2u);
    auto d = s.tty_data.find(id);
    if (master || d == s.tty_data.end()) continue;
    Pty& p = by_index.at(info.pty().index());
    termios now{};
    if (::tcgetattr(p.slave.get(), &now) != 0) return ErrnoError("pty {}: termios", info.pty().index());
    termios quiet = now;
    quiet.c_iflag = 0;
    quiet.c_lflag = now.c_lflag & ICANON;
    if (::tcsetattr(p.slave.get(), TCSANOW, &quiet) != 0) return ErrnoError("pty {}: termios", info.pty().index());
    // Typed in (TIOCSTI): processed at once, under these termios.
    for (char c : d->second)
      if (::ioctl(p.slave.get(), TIOCSTI, &c) != 0) return ErrnoError("pty {}: unread input", info.pty().index());
    if (::tcsetattr(p.slave.get(), TCSANOW, &now) != 0) return ErrnoError("pty {}: termios", info.pty().index());
  }
  // Each end a task holds: masters share cryo's description, slaves are
  // opened again with their own flags.
  constexpr uint32_t kStatus = O_NONBLOCK | O_ASYNC | O_APPEND;
  for (const auto& [id, tf] : s.ttys) {
    const auto& info = s.tty_infos.at(tf.tty_info_id());
    Pty& p = by_index.at(info.pty().index());
    bool master = info.rdev() == ((5u << 20) | 2u);
    UniqueFd fd;
    if (master) {
      fd = UniqueFd(::fcntl(p.master.get(), F_DUPFD_CLOEXEC, 0));
      if (fd.get() < 0) return ErrnoError("dup pty master {}", info.pty().index());
    } else {
      fd = CRYO_TRY(Peer(p.master.get(), static_cast<int>(tf.flags() & O_ACCMODE), info.pty().index()));
    }
    if (::fcntl(fd.get(), F_SETFL, tf.flags() & kStatus) != 0) return ErrnoError("flags of tty file {}", id);
    out[id] = std::move(fd);
  }
  // A hung-up slave (its master was closed; CRIU records it without
  // termios): its master is closed now that its slaves are open.
  std::set<uint32_t> hung;
  for (const auto& [id, info] : s.tty_infos)
    if (!info.has_termios() && !held.count(info.pty().index())) hung.insert(info.pty().index());
  for (uint32_t index : hung) {
    by_index.at(index).slave.reset();
    by_index.at(index).master.reset();
  }
  for (auto& [index, p] : by_index)
    if (!held.count(index) && !hung.count(index)) {
      UniqueFd m(::fcntl(p.master.get(), F_DUPFD_CLOEXEC, 0));
      if (!m) return ErrnoError("dup pty master {}", index);
      orphans.push_back(std::move(m));
    }
  for (const auto& [id, info] : s.tty_infos) {
    if (info.locked() && !hung.count(info.pty().index())) {
      int lock = 1;
      ::ioctl(by_index.at(info.pty().index()).master.get(), TIOCSPTLCK, &lock);
    }
  }
  return {};
}

}  // namespace cryo
