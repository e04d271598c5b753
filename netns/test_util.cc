#include "netns/test_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

namespace cryo::netns::testing {

int ShStatus(const std::string& cmd, std::string* out) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof buf, p)) > 0) s.append(buf, n);
  int st = ::pclose(p);
  if (out) *out = s;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

std::string Sh(const std::string& cmd) {
  std::string out;
  int st = ShStatus(cmd, &out);
  EXPECT_EQ(st, 0) << cmd << "\n" << out;
  return out;
}

TestNetns::TestNetns(const std::string& tag) : name_(fmt::format("cryo-t{}-{}", ::getpid(), tag)) {
  Sh(fmt::format("ip netns add {}", name_));
  fd_.reset(::open(fmt::format("/run/netns/{}", name_).c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(fd_.valid()) << name_;
}

TestNetns::~TestNetns() {
  fd_.reset();
  (void)ShStatus(fmt::format("ip netns del {} 2>/dev/null", name_));
}

void TestNetns::Drop() {
  fd_.reset();
  (void)ShStatus(fmt::format("ip netns del {} 2>/dev/null", name_));
}

std::string TestNetns::In(const std::string& cmd) const {
  return Sh(fmt::format("ip netns exec {} sh -c '{}' 2>&1", name_, cmd));
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/cryo-netns-test.XXXXXX";
  path_ = ::mkdtemp(tmpl);
  fd_.reset(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

TempDir::~TempDir() {
  fd_.reset();
  (void)ShStatus(fmt::format("rm -rf {}", path_));
}

}  // namespace cryo::netns::testing
