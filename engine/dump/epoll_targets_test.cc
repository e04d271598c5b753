#include "engine/dump/epoll_targets.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "engine/base/unique_fd.h"

namespace cryo {
namespace {

struct Pipe {
  Pipe() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    r = UniqueFd(p[0]);
    w = UniqueFd(p[1]);
  }
  UniqueFd r, w;
};

void Watch(int ep, int fd, uint64_t data, img::eventpoll_file_entry& e) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = data;
  ASSERT_EQ(::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
  auto* t = e.add_tfd();
  t->set_id(1);
  t->set_tfd(static_cast<uint32_t>(fd));
  t->set_events(EPOLLIN);
  t->set_data(data);
}

TEST(ResolveEpollTargets, AClosedFdIsNamedByAnotherOfTheSameFile) {
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  Pipe a, b;
  img::eventpoll_file_entry e;
  int dup = ::fcntl(a.r.get(), F_DUPFD_CLOEXEC, 900);
  ASSERT_GE(dup, 900);
  Watch(ep.get(), dup, 1, e);
  ::close(dup);
  Watch(ep.get(), b.r.get(), 2, e);
  auto r = ResolveEpollTargets(::getpid(), ep.get(), ::getpid(), &e);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(e.tfd(0).tfd(), static_cast<uint32_t>(a.r.get()));
  EXPECT_EQ(e.tfd(1).tfd(), static_cast<uint32_t>(b.r.get()));
}

// A file only in flight (no fd of the task's) is still watched.
TEST(ResolveEpollTargets, AFileNoFdHoldsIsRefused) {
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd s0(sv[0]), s1(sv[1]);
  img::eventpoll_file_entry e;
  Pipe a;
  Watch(ep.get(), a.r.get(), 1, e);
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  char byte = 'x';
  iovec iov{&byte, 1};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int fd = a.r.get();
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ASSERT_EQ(::sendmsg(s0.get(), &m, 0), 1);
  a.r.reset();
  auto r = ResolveEpollTargets(::getpid(), ep.get(), ::getpid(), &e);
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.error().what()).find("holds no other fd"), std::string::npos) << r.error().what();
}

TEST(ResolveEpollTargets, OneFileLeftOnOneFdTwiceIsRefused) {
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  Pipe a;
  img::eventpoll_file_entry e;
  int x = ::fcntl(a.r.get(), F_DUPFD_CLOEXEC, 900), y = ::fcntl(a.r.get(), F_DUPFD_CLOEXEC, 901);
  Watch(ep.get(), x, 1, e);
  Watch(ep.get(), y, 2, e);
  ::close(x);
  ::close(y);
  auto r = ResolveEpollTargets(::getpid(), ep.get(), ::getpid(), &e);
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.error().what()).find("twice"), std::string::npos) << r.error().what();
}

}  // namespace
}  // namespace cryo
