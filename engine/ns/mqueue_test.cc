#include "engine/ns/mqueue.h"

#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "engine/image/image_writer.h"

namespace cryo::ns {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/cryo-mq-XXXXXX";
    path_ = mkdtemp(tmpl);
    fd_ = open(path_.c_str(), O_RDONLY | O_DIRECTORY);
  }
  ~TempDir() {
    close(fd_);
    std::string rm = "rm -rf " + path_;
    (void)!system(rm.c_str());
  }
  int fd() const { return fd_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// A child in an IPC namespace of its own with two queues; the dump sees
// both, in order, and leaves every message where it was.
TEST(Mqueue, DumpTakesNothingAway) {
  int p[2], back[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_EQ(pipe(back), 0);
  pid_t c = fork();
  if (c == 0) {
    if (unshare(CLONE_NEWIPC) != 0) _exit(1);
    umask(0);
    mq_attr a{};
    a.mq_maxmsg = 4;
    a.mq_msgsize = 32;
    mqd_t q = mq_open("/work", O_CREAT | O_RDWR | O_NONBLOCK, 0620, &a);
    if (q < 0 || mq_send(q, "b", 2, 1) != 0 || mq_send(q, "a", 2, 7) != 0 || mq_send(q, "c", 2, 1) != 0) _exit(2);
    if (mq_open("/empty", O_CREAT | O_RDONLY, 0600, &a) < 0) _exit(3);
    (void)!write(p[1], "x", 1);
    char x;
    (void)!read(back[0], &x, 1);  // dumped: are they all still there?
    char m[32];
    unsigned prio;
    if (mq_receive(q, m, sizeof m, &prio) != 2 || strcmp(m, "a") != 0 || prio != 7) _exit(4);
    if (mq_receive(q, m, sizeof m, &prio) != 2 || strcmp(m, "b") != 0) _exit(5);
    if (mq_receive(q, m, sizeof m, &prio) != 2 || strcmp(m, "c") != 0) _exit(6);
    _exit(0);
  }
  char x;
  ASSERT_EQ(read(p[0], &x, 1), 1);
  Log log;
  auto dumped = DumpMqueues(c, [](pid_t) { return true; }, log);
  (void)!write(back[1], "x", 1);
  int status;
  ASSERT_EQ(waitpid(c, &status, 0), c);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(dumped) << dumped.error().what();
  ASSERT_EQ(dumped->size(), 2u);
  const auto& w = (*dumped)[0].name() == "/work" ? (*dumped)[0] : (*dumped)[1];
  EXPECT_EQ(w.mode(), 0620u);
  EXPECT_EQ(w.maxmsg(), 4u);
  EXPECT_EQ(w.msgsize(), 32u);
  ASSERT_EQ(w.msgs_size(), 3);
  EXPECT_EQ(w.msgs(0).data(), std::string("a", 2));
  EXPECT_EQ(w.msgs(0).prio(), 7u);
  EXPECT_EQ(w.msgs(2).data(), std::string("c", 2));

  // Written and read back; then made again in a fresh namespace.
  TempDir dir;
  ASSERT_TRUE(WriteMqueues(dir.fd(), *dumped));
  auto read = ReadMqueues(dir.fd());
  ASSERT_TRUE(read) << read.error().what();
  ASSERT_EQ(read->size(), 2u);
  pid_t r = fork();
  if (r == 0) {
    umask(077);
    if (unshare(CLONE_NEWIPC) != 0) _exit(1);
    if (!RestoreMqueues(*read, 0, 0, log)) _exit(2);
    mqd_t q = mq_open("/work", O_RDONLY | O_NONBLOCK);
    struct stat st;
    mq_attr a{};
    if (q < 0 || fstat(q, &st) != 0 || (st.st_mode & 07777) != 0620 || mq_getattr(q, &a) != 0 || a.mq_curmsgs != 3 ||
        a.mq_maxmsg != 4)
      _exit(3);
    char m[32];
    unsigned prio;
    if (mq_receive(q, m, sizeof m, &prio) != 2 || strcmp(m, "a") != 0 || prio != 7) _exit(4);
    _exit(0);
  }
  ASSERT_EQ(waitpid(r, &status, 0), r);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// Written as an attacker would: each is refused with the queue named.
TEST(Mqueue, BadImagesAreRefused) {
  auto refused = [](const img::posix_mq_entry& e) {
    TempDir dir;
    if (!WriteMqueues(dir.fd(), {e})) return std::string("not written");
    auto r = ReadMqueues(dir.fd());
    return r ? std::string("accepted") : r.error().what();
  };
  img::posix_mq_entry e;
  e.set_name("/../etc");
  EXPECT_NE(refused(e).find("bad queue name"), std::string::npos);
  e.set_name("noslash");
  EXPECT_NE(refused(e).find("bad queue name"), std::string::npos);
  e.set_name("/q");
  e.set_contents(true);
  e.set_maxmsg(1);
  e.set_msgsize(4);
  e.add_msgs()->set_data("12345");
  e.mutable_msgs(0)->set_prio(0);
  EXPECT_NE(refused(e).find("a message of 5 bytes"), std::string::npos);
  e.mutable_msgs(0)->set_data("1");
  e.add_msgs()->set_data("2");
  e.mutable_msgs(1)->set_prio(0);
  EXPECT_NE(refused(e).find("2 message(s)"), std::string::npos);
}

}  // namespace
}  // namespace cryo::ns
