#include "parasite/remote.h"

#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "engine/base/files.h"

namespace cryo {
namespace {

// A child blocked in read() on a pipe; it echoes what it read (or the
// errno) on another pipe, so a test sees whether the read survived.
struct BlockedChild {
  pid_t pid = -1;
  int to_child = -1, from_child = -1;

  BlockedChild() {
    int in[2], out[2];
    EXPECT_EQ(pipe(in), 0);
    EXPECT_EQ(pipe(out), 0);
    pid = fork();
    if (pid == 0) {
      close(in[1]);
      close(out[0]);
      char buf[16] = {};
      ssize_t n = read(in[0], buf, sizeof buf);
      if (n < 0) snprintf(buf, sizeof buf, "errno %d", errno);
      (void)!write(out[1], buf, strlen(buf));
      _exit(0);
    }
    close(in[0]);
    close(out[1]);
    to_child = in[1];
    from_child = out[0];
    usleep(20000);  // let it block in read
  }
  ~BlockedChild() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(to_child);
    close(from_child);
  }
  void Seize() {
    ASSERT_EQ(ptrace(PTRACE_SEIZE, pid, 0, 0), 0);
    ASSERT_EQ(ptrace(PTRACE_INTERRUPT, pid, 0, 0), 0);
    int status;
    ASSERT_EQ(waitpid(pid, &status, __WALL), pid);
    ASSERT_TRUE(WIFSTOPPED(status));
  }
  std::string Echo() {
    char buf[32] = {};
    ssize_t n = read(from_child, buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
};

TEST(RemoteTask, SyscallsRunInsideAndLeaveNothingBehind) {
  BlockedChild c;
  std::string maps_before = ReadFile(fmt::format("/proc/{}/maps", c.pid)).value();
  c.Seize();
  {
    auto t = RemoteTask::AtCurrentIp(c.pid);
    ASSERT_TRUE(t) << t.error().what();
    EXPECT_EQ(t->Syscall(SYS_getpid).value(), c.pid);
    long addr = t->Check("mmap", SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0)
                    .value();
    ASSERT_GT(addr, 0);
    const char msg[] = "hello";
    ASSERT_TRUE(t->Write(static_cast<uint64_t>(addr), msg, sizeof msg));
    char back[sizeof msg];
    ASSERT_TRUE(t->Read(static_cast<uint64_t>(addr), back, sizeof back));
    EXPECT_STREQ(back, "hello");
    EXPECT_EQ(t->Syscall(SYS_munmap, static_cast<uint64_t>(addr), 4096).value(), 0);
    auto bad = t->Check("close", SYS_close, 999);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().err(), EBADF);
    ASSERT_TRUE(t->Restore());
  }
  ASSERT_EQ(ptrace(PTRACE_DETACH, c.pid, 0, 0), 0);
  EXPECT_EQ(ReadFile(fmt::format("/proc/{}/maps", c.pid)).value(), maps_before);
  // The interrupted read restarts and gets the data: no EINTR seen.
  ASSERT_EQ(write(c.to_child, "data", 4), 4);
  EXPECT_EQ(c.Echo(), "data");
}

TEST(RemoteTask, TrampolineInTheTask) {
  BlockedChild c;
  c.Seize();
  uint64_t tramp;
  {
    auto tr = RemoteTask::AtCurrentIp(c.pid);
    ASSERT_TRUE(tr) << tr.error().what();
    auto& t = *tr;
    auto m = t.Check("mmap", SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0);
    ASSERT_TRUE(m) << m.error().what();
    tramp = static_cast<uint64_t>(*m);
    ASSERT_TRUE(t.Write(tramp, x86::kSyscallInsn, sizeof x86::kSyscallInsn));
    ASSERT_TRUE(t.Restore());
  }
  {
    auto tr = RemoteTask::AtTrampoline(c.pid, tramp);
    ASSERT_TRUE(tr) << tr.error().what();
    auto& t = *tr;
    auto tid = t.Syscall(SYS_gettid);
    ASSERT_TRUE(tid) << tid.error().what() << "\n" << ReadFile(fmt::format("/proc/{}/maps", c.pid)).value();
    EXPECT_EQ(*tid, c.pid);
    EXPECT_EQ(t.Syscall(SYS_munmap, tramp, 4096).value(), 0);
    ASSERT_TRUE(t.Restore());
  }
  ASSERT_EQ(ptrace(PTRACE_DETACH, c.pid, 0, 0), 0);
  ASSERT_EQ(write(c.to_child, "x", 1), 1);
  EXPECT_EQ(c.Echo(), "x");
}

TEST(RemoteTask, DeadTaskIsAClearError) {
  auto t = RemoteTask::AtCurrentIp(999999);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().err(), ESRCH);
}

}  // namespace
}  // namespace cryo
