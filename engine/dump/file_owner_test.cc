#include "engine/dump/file_owner.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(FileOwner, ReadsOwnerSignalAndUids) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  auto none = ReadFileOwner(p[0]);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_EQ(none->pid(), 0u);
  EXPECT_EQ(none->signum(), 0u);
  f_owner_ex o{};
  o.type = F_OWNER_PID;
  o.pid = ::getpid();
  ASSERT_EQ(::fcntl(p[0], F_SETOWN_EX, &o), 0);
  ASSERT_EQ(::fcntl(p[0], F_SETSIG, SIGUSR1), 0);
  auto got = ReadFileOwner(p[0]);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->pid(), static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(got->pid_type(), static_cast<uint32_t>(F_OWNER_PID));
  EXPECT_EQ(got->signum(), static_cast<uint32_t>(SIGUSR1));
  EXPECT_EQ(got->uid(), ::getuid());
  EXPECT_EQ(got->euid(), ::geteuid());
  ::close(p[0]);
  ::close(p[1]);
}

TEST(FileOwner, SetsTheOwnerOfWhicheverPartHasOne) {
  img::fown_entry f;
  f.set_uid(1);
  f.set_euid(2);
  f.set_signum(3);
  f.set_pid_type(1);
  f.set_pid(42);
  img::file_entry pipe;
  pipe.set_type(img::PIPE);
  pipe.set_id(7);
  pipe.mutable_pipe()->set_id(7);
  ASSERT_TRUE(SetEntryOwner(pipe, f));
  EXPECT_EQ(pipe.pipe().fown().pid(), 42u);
  EXPECT_EQ(pipe.pipe().fown().euid(), 2u);
  img::file_entry sock;
  sock.set_type(img::UNIXSK);
  sock.set_id(8);
  sock.mutable_usk();
  ASSERT_TRUE(SetEntryOwner(sock, f));
  EXPECT_EQ(sock.usk().fown().signum(), 3u);
  // A FIFO's own part records none (its path's entry does).
  img::file_entry fifo;
  fifo.set_type(img::FIFO);
  fifo.set_id(9);
  fifo.mutable_fifo()->set_id(9);
  EXPECT_FALSE(SetEntryOwner(fifo, f));
}

}  // namespace
}  // namespace cryo
