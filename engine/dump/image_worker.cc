#include "engine/dump/image_worker.h"

#include <pthread.h>

namespace cryo {

ImageWorker::ImageWorker(const cpu_set_t* cpus) : thread_([this] { Run(); }) {
  if (cpus) (void)::pthread_setaffinity_np(thread_.native_handle(), sizeof *cpus, cpus);
}

ImageWorker::~ImageWorker() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    jobs_.clear();
  }
  wake_.notify_all();
  thread_.join();
}

Result<> ImageWorker::Post(Job job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!first_error_) return first_error_;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return {};
}

Result<> ImageWorker::Drain() {
  std::unique_lock<std::mutex> l(mu_);
  idle_.wait(l, [this] { return (jobs_.empty() && !running_) || !first_error_; });
  return first_error_;
}

void ImageWorker::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    wake_.wait(l, [this] { return stop_ || !jobs_.empty(); });
    if (stop_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    running_ = true;
    l.unlock();
    Result<> r = job();
    l.lock();
    running_ = false;
    if (!r) {
      first_error_ = std::move(r);
      jobs_.clear();
    }
    if (jobs_.empty()) idle_.notify_all();
  }
}

cpu_set_t ImageWorkerCpus(const cpu_set_t& allowed, int pinned) {
  cpu_set_t others = allowed;
  if (pinned >= 0 && pinned < CPU_SETSIZE) CPU_CLR(pinned, &others);
  return CPU_COUNT(&others) > 0 ? others : allowed;
}

}  // namespace cryo
