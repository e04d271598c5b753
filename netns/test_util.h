// Test helpers: named network namespaces (`ip netns add`) that go away
// with the test, and shell commands run inside them.
#pragma once

#include <string>
#include <vector>

#include "engine/base/unique_fd.h"

namespace cryo::netns::testing {

// Runs `cmd` with sh; returns its stdout; fails the test on a non-zero exit.
std::string Sh(const std::string& cmd);
// The same, returning the exit status instead (stdout into *out).
int ShStatus(const std::string& cmd, std::string* out = nullptr);

class TestNetns {
 public:
  explicit TestNetns(const std::string& tag);
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;
  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }
  // Gone before the object is: name and fd dropped (the kernel frees the
  // namespace and its devices a little later).
  void Drop();
  // `cmd` run inside (sh -c).
  std::string In(const std::string& cmd) const;

 private:
  std::string name_;
  UniqueFd fd_;
};

// A fresh images directory, removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

 private:
  std::string path_;
  UniqueFd fd_;
};

}  // namespace cryo::netns::testing
