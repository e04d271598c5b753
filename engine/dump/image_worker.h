// The pages of a tree are read and written, and its per-process images
// written, on a thread of their own, on another CPU, while cryo's tracer
// thread goes on with the next process: reading pages (process_vm_readv)
// and writing files needs no ptrace, the rest of a process's dump does,
// and only the tracer thread may ptrace.
//
// Jobs run one at a time in the order posted, so a page sink sees its
// pagemaps in order. A task's memory must not change while its job is
// queued or running: the tree is frozen, and cryo does no remote call in a
// task after posting its pages (Drain first: memory tracking does).
#pragma once

#include <sched.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/base/result.h"

namespace cryo {

class ImageWorker {
 public:
  using Job = std::function<Result<>()>;
  // `cpus`: where the thread runs (null: where the caller may).
  explicit ImageWorker(const cpu_set_t* cpus);
  // Jobs not yet started are dropped; the one running finishes first.
  ~ImageWorker();
  ImageWorker(const ImageWorker&) = delete;
  ImageWorker& operator=(const ImageWorker&) = delete;

  // Queues a job; the first error of a job before it, if there was one
  // (nothing more runs after an error).
  Result<> Post(Job job);
  // Waits until every job posted has run; their first error.
  Result<> Drain();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable wake_, idle_;
  std::deque<Job> jobs_;
  bool running_ = false;  // a job is out of the queue and not finished
  bool stop_ = false;
  Result<> first_error_;
  std::thread thread_;  // last: started once the rest is set
};

// The CPUs for a page worker beside a tracer pinned to `pinned` (-1: none)
// out of `allowed`: the others, or all of them on a machine of one CPU.
cpu_set_t ImageWorkerCpus(const cpu_set_t& allowed, int pinned);

}  // namespace cryo
