#include "engine/dump/event_files.h"

#include <gtest/gtest.h>

#include "engine/image/proto/event.pb.h"

namespace cryo {
namespace {

TEST(FdInfoValue, FindsKeysAndNotPrefixes) {
  std::string_view text = "pos:\t0\nflags:\t02004002\neventfd-count:    3039\neventfd-id: 12\n";
  EXPECT_EQ(FdInfoValue(text, "eventfd-count"), "3039");
  EXPECT_EQ(FdInfoValue(text, "flags"), "02004002");
  EXPECT_EQ(FdInfoValue(text, "eventfd"), "");
  EXPECT_EQ(FdInfoValue(text, "missing"), "");
}

TEST(EventfdEntry, CounterIsHexAndSemaphoreRidesInFlags) {
  auto e = EventfdEntry(7, 02 | 04000, "eventfd-count:     3039\neventfd-semaphore: 1\n");
  ASSERT_TRUE(e) << e.error().what();
  EXPECT_EQ(e->type(), img::EVENTFD);
  EXPECT_EQ(e->efd().counter(), 0x3039u);
  EXPECT_EQ(e->efd().flags(), 02u | 04000u | 1u);
  EXPECT_FALSE(EventfdEntry(7, 02, "pos:\t0\n"));
}

TEST(TimerfdEntry, ParsesClockTicksFlagsAndTimes) {
  std::string_view text =
      "clockid: 1\nticks: 4\nsettime flags: 01\nit_value: (2, 500000000)\nit_interval: (1, 0)\n";
  auto e = TimerfdEntry(3, 02, text);
  ASSERT_TRUE(e) << e.error().what();
  const auto& t = e->tfd();
  EXPECT_EQ(t.clockid(), 1u);
  EXPECT_EQ(t.ticks(), 4u);
  EXPECT_EQ(t.settime_flags(), 1u);
  EXPECT_EQ(t.vsec(), 2u);
  EXPECT_EQ(t.vnsec(), 500000000u);
  EXPECT_EQ(t.isec(), 1u);
  EXPECT_EQ(t.insec(), 0u);
  EXPECT_FALSE(TimerfdEntry(3, 02, "clockid: 1\nticks: 0\nsettime flags: 0\nit_value: 2, 5\nit_interval: (0, 0)\n"));
}

TEST(EpollEntry, OneTargetPerTfdLine) {
  std::string_view text =
      "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n"
      "tfd:        4 events:       19 data:             1111  pos:0 ino:d56d sdev:f\n"
      "tfd:        9 events: 80000001 data: ffffffffffffffff  pos:0 ino:d56e sdev:f\n";
  auto e = EpollEntry(5, 02, text);
  ASSERT_TRUE(e) << e.error().what();
  ASSERT_EQ(e->epfd().tfd_size(), 2);
  EXPECT_EQ(e->epfd().tfd(0).tfd(), 4u);
  EXPECT_EQ(e->epfd().tfd(0).events(), 0x19u);
  EXPECT_EQ(e->epfd().tfd(0).data(), 0x1111u);
  EXPECT_EQ(e->epfd().tfd(1).tfd(), 9u);
  EXPECT_EQ(e->epfd().tfd(1).events(), 0x80000001u);
  EXPECT_EQ(e->epfd().tfd(1).data(), ~uint64_t{0});
  auto empty = EpollEntry(5, 02, "pos:\t0\n");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->epfd().tfd_size(), 0);
}

TEST(SignalfdEntry, MaskIsHex) {
  auto e = SignalfdEntry(2, 02, "pos:\t0\nsigmask:\t0000000000000a00\n");
  ASSERT_TRUE(e) << e.error().what();
  EXPECT_EQ((e->sgfd().sigmask)(), 0xa00u);  // parenthesized: <signal.h> has a sigmask() macro
}

TEST(PidfdEntry, AnExitedProcessIsMinusOne) {
  auto e = PidfdEntry(1, 02, 99, "Pid:\t1234\nNSpid:\t1234\n");
  ASSERT_TRUE(e) << e.error().what();
  EXPECT_EQ(e->pidfd().nspid(), 1234);
  EXPECT_EQ(e->pidfd().ino(), 99u);
  auto gone = PidfdEntry(1, 02, 98, "Pid:\t-1\nNSpid:\t-1\n");
  ASSERT_TRUE(gone) << gone.error().what();
  EXPECT_EQ(gone->pidfd().nspid(), -1);
  EXPECT_EQ(gone->pidfd().ino(), 98u);
  EXPECT_FALSE(PidfdEntry(1, 02, 99, "NSpid:\t7\n"));
}

}  // namespace
}  // namespace cryo
