#include "engine/dump/image_worker.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(ImageWorker, RunsJobsInOrderOnAnotherThread) {
  ImageWorker w(nullptr);
  std::vector<int> order;  // touched by the worker only until Drain
  pid_t caller = static_cast<pid_t>(::syscall(SYS_gettid));
  std::atomic<bool> other_thread{true};
  for (int i = 0; i < 100; i++)
    ASSERT_TRUE(w.Post([&, i]() -> Result<> {
      order.push_back(i);
      if (::syscall(SYS_gettid) == caller) other_thread = false;
      return {};
    }));
  ASSERT_TRUE(w.Drain());
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; i++) EXPECT_EQ(order[i], i);
  EXPECT_TRUE(other_thread);
}

TEST(ImageWorker, StopsAtTheFirstErrorAndReportsIt) {
  ImageWorker w(nullptr);
  std::atomic<int> ran{0};
  ASSERT_TRUE(w.Post([&]() -> Result<> { ran++; return {}; }));
  ASSERT_TRUE(w.Post([&]() -> Result<> { ran++; return MakeError(EIO, "job two"); }));
  // Posted before or after the failure is seen: it does not run.
  (void)w.Post([&]() -> Result<> { ran += 100; return {}; });
  auto r = w.Drain();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("job two"), std::string::npos);
  EXPECT_EQ(ran.load(), 2);
  // Later posts give the error back at once.
  auto again = w.Post([&]() -> Result<> { ran += 100; return {}; });
  ASSERT_FALSE(again);
  ASSERT_FALSE(w.Drain());
  EXPECT_EQ(ran.load(), 2);
}

TEST(ImageWorker, DestroyedWithJobsQueuedDropsThem) {
  std::atomic<int> ran{0};
  std::atomic<bool> started{false}, release{false};
  std::thread releaser;
  {
    ImageWorker w(nullptr);
    ASSERT_TRUE(w.Post([&]() -> Result<> {
      started = true;
      while (!release) ::usleep(1000);
      ran++;
      return {};
    }));
    for (int i = 0; i < 10; i++) ASSERT_TRUE(w.Post([&]() -> Result<> { ran += 100; return {}; }));
    while (!started) ::usleep(1000);
    // Released only once the destructor is waiting for the running job.
    releaser = std::thread([&] {
      ::usleep(50 * 1000);
      release = true;
    });
  }
  releaser.join();
  EXPECT_EQ(ran.load(), 1);
}

TEST(ImageWorker, CpusLeaveThePinnedOneOut) {
  cpu_set_t all;
  CPU_ZERO(&all);
  CPU_SET(0, &all);
  CPU_SET(1, &all);
  cpu_set_t c = ImageWorkerCpus(all, 0);
  EXPECT_FALSE(CPU_ISSET(0, &c));
  EXPECT_TRUE(CPU_ISSET(1, &c));
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(3, &one);
  c = ImageWorkerCpus(one, 3);
  EXPECT_TRUE(CPU_ISSET(3, &c));
  c = ImageWorkerCpus(all, -1);
  EXPECT_EQ(CPU_COUNT(&c), 2);
}

}  // namespace
}  // namespace cryo
