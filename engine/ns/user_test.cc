#include "engine/ns/user.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "engine/base/files.h"
#include "engine/ns/probe.h"

namespace cryo::ns {
namespace {

TEST(IdMap, ParsesAndMapsInside) {
  auto m = ParseIdMap("         0     100000      65536\n    70000     200000         10\n");
  ASSERT_TRUE(m) << m.error().what();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[1].first, 70000u);
  EXPECT_EQ(ToInside(*m, 100000), 0u);
  EXPECT_EQ(ToInside(*m, 101000), 1000u);
  EXPECT_EQ(ToInside(*m, 200009), 70009u);
  EXPECT_EQ(ToInside(*m, 200010), 65534u);  // unmapped: the overflow id
  EXPECT_EQ(ToInside(*m, 0), 65534u);
  EXPECT_FALSE(ParseIdMap("0 1\n"));
}

TEST(IdMap, FormatsImageExtents) {
  img::userns_entry e;
  auto* x = e.add_uid_map();
  x->set_first(0);
  x->set_lower_first(100000);
  x->set_count(65536);
  EXPECT_EQ(FormatIdMap(e.uid_map()), "0 100000 65536\n");
}

uint64_t Ino(int fd) {
  struct stat st{};
  return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// The helper makes the namespace with the maps, and the namespaces it is
// asked for owned by it; cryo (this test) stays in its own.
TEST(UserNamespace, MakesMapsAndOwnedNamespaces) {
  img::userns_entry e;
  for (auto* x : {e.add_uid_map(), e.add_gid_map()}) {
    x->set_first(0);
    x->set_lower_first(100000);
    x->set_count(65536);
  }
  uint64_t mine = NsInode(0, "user");
  auto u = UserNamespace::Make(e, -1, CLONE_NEWUTS | CLONE_NEWNS);
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(NsInode(0, "user"), mine);
  int user = u->Made(CLONE_NEWUSER), uts = u->Made(CLONE_NEWUTS);
  ASSERT_GE(user, 0);
  ASSERT_GE(uts, 0);
  ASSERT_GE(u->Made(CLONE_NEWNS), 0);
  EXPECT_EQ(u->Made(CLONE_NEWNET), -1);
  EXPECT_NE(Ino(user), mine);
  UniqueFd owner(::ioctl(uts, NS_GET_USERNS));
  ASSERT_TRUE(owner);
  EXPECT_EQ(Ino(owner.get()), Ino(user));
  UniqueFd mnt_owner(::ioctl(u->Made(CLONE_NEWNS), NS_GET_USERNS));
  EXPECT_EQ(Ino(mnt_owner.get()), Ino(user));
  auto map = ReadFile(u->UserPath().substr(0, u->UserPath().size() - 8) + "/uid_map");
  ASSERT_TRUE(map);
  auto parsed = ParseIdMap(*map);
  ASSERT_TRUE(parsed && parsed->size() == 1);
  EXPECT_EQ((*parsed)[0].lower, 100000u);
  EXPECT_EQ((*parsed)[0].count, 65536u);
}

TEST(UserNamespace, JoinsAnExistingOne) {
  img::userns_entry e;
  for (auto* x : {e.add_uid_map(), e.add_gid_map()}) {
    x->set_first(0);
    x->set_lower_first(200000);
    x->set_count(1000);
  }
  auto first = UserNamespace::Make(e, -1, 0);
  ASSERT_TRUE(first) << first.error().what();
  auto second = UserNamespace::Make(img::userns_entry(), first->Made(CLONE_NEWUSER), CLONE_NEWIPC);
  ASSERT_TRUE(second) << second.error().what();
  EXPECT_EQ(Ino(second->Made(CLONE_NEWUSER)), Ino(first->Made(CLONE_NEWUSER)));
  UniqueFd owner(::ioctl(second->Made(CLONE_NEWIPC), NS_GET_USERNS));
  EXPECT_EQ(Ino(owner.get()), Ino(first->Made(CLONE_NEWUSER)));
}

TEST(UserNamespace, BadMapIsAClearError) {
  img::userns_entry e;
  auto* x = e.add_uid_map();
  x->set_first(0);
  x->set_lower_first(100000);
  x->set_count(0);  // the kernel refuses a zero count
  e.add_gid_map()->CopyFrom(*x);
  auto u = UserNamespace::Make(e, -1, 0);
  ASSERT_FALSE(u);
  EXPECT_NE(std::string(u.error().what()).find("uid map"), std::string::npos) << u.error().what();
}

}  // namespace
}  // namespace cryo::ns
