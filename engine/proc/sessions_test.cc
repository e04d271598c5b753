#include "engine/proc/sessions.h"

#include <gtest/gtest.h>

namespace cryo {
namespace {

// session00's tree: 1 init (sid 1); 2 (sid 2) under it; 8 (sid 8) forked 9
// (sid 2) before its setsid; 10 and 11 (own sessions) forked 12 (sid 2)
// before theirs; 3, an orphan of 2's session, reparented to 1.
TEST(Sessions, LateSetsidAndOrphans) {
  std::vector<SessionTask> t = {{1, 1, -1}, {2, 2, 0}, {8, 8, 1}, {9, 2, 2}, {10, 10, 1},
                                {11, 11, 4}, {12, 2, 5}, {3, 2, 0}};
  auto p = PlanSessions(t);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_TRUE(p->late[2] && p->late[4] && p->late[5]);
  EXPECT_FALSE(p->late[1] || p->late[0]);
  EXPECT_TRUE(p->early[3] && p->early[5] && p->early[6]);
  EXPECT_EQ(p->via[7], 1);
  EXPECT_EQ(p->via[3], -1);
  EXPECT_EQ(p->order.size(), t.size());
}

// The orphan comes before its session's leader in the dump: it is made
// once the leader exists.
TEST(Sessions, OrphanWaitsForItsLeader) {
  std::vector<SessionTask> t = {{1, 1, -1}, {5, 4, 0}, {4, 4, 0}};
  auto p = PlanSessions(t);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->order, (std::vector<size_t>{0, 2, 1}));
  EXPECT_EQ(p->via[1], 2);
}

TEST(Sessions, ConflictingBirthSessionsRefused) {
  // 3 leads its session but has children of sessions 1 and 2 under it.
  std::vector<SessionTask> t = {{1, 1, -1}, {2, 2, 0}, {3, 3, 1}, {4, 2, 2}, {5, 1, 2}};
  EXPECT_FALSE(PlanSessions(t).has_value());
}

TEST(Sessions, LeaderNotBelowTheOrphansParentRefused) {
  // 3's session leader 2 is a sibling's child, not below 3's parent 4.
  std::vector<SessionTask> t = {{1, 1, -1}, {5, 5, 0}, {2, 2, 1}, {4, 4, 0}, {3, 2, 3}};
  EXPECT_FALSE(PlanSessions(t).has_value());
}

}  // namespace
}  // namespace cryo
