// `cryo restore --new-pidns` (what CRIU's criu-ns wrapper is for): the
// dumped pids are taken on this host, so the tree comes back in a new pid
// namespace where they are free. Its PID 1 is a small init of cryo's that
// reaps orphans and ends when the restored tree is gone; cryo creates the
// root inside (setns to it for its children) with its dumped pid.
#pragma once

#include <sys/types.h>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

#include <utility>

namespace cryo {

class PidnsInit {
 public:
  // Starts the init; cryo's next children are born in its namespace.
  static Result<PidnsInit> Start();
  PidnsInit(PidnsInit&& o) noexcept
      : pid_(std::exchange(o.pid_, 0)), tell_(std::move(o.tell_)), own_ns_(std::move(o.own_ns_)),
        watching_(o.watching_) {}
  PidnsInit& operator=(PidnsInit&&) = delete;
  // Unless Watch() ran: the init (and so its namespace) is ended.
  ~PidnsInit();

  // cryo's children are born in its own pid namespace again.
  Result<> Leave();
  // The tree's root (its pid inside): the init ends once it is gone and
  // every orphan is reaped.
  Result<> Watch(pid_t root_inside);

 private:
  PidnsInit() = default;
  pid_t pid_ = 0;  // the init, in cryo's namespace
  UniqueFd tell_;  // write end: the root's pid goes here
  UniqueFd own_ns_;
  bool watching_ = false;
};

}  // namespace cryo
