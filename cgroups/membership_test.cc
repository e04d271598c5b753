#include "cgroups/membership.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace cryo::cgroups {
namespace {

TEST(Membership, ParsesHybridFileSortedByName) {
  auto set = ParseCgroupFile("9:name=systemd:/\n4:memory:/a/b\n1:cpu,cpuacct:/c\n0::/d\n").value();
  ASSERT_EQ(set.size(), 4u);
  EXPECT_EQ(set[0].name, "");
  EXPECT_EQ(set[0].path, "/d");
  EXPECT_EQ(set[1].name, "cpu,cpuacct");
  EXPECT_EQ(set[2].name, "memory");
  EXPECT_EQ(set[2].path, "/a/b");
  EXPECT_EQ(set[3].name, "name=systemd");
}

TEST(Membership, KeepFiltersLines) {
  auto set = ParseCgroupFile("4:memory:/a\n8:pids:/b\n", [](std::string_view n) { return n == "pids"; }).value();
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0].path, "/b");
}

TEST(Membership, RejectsGarbage) {
  EXPECT_FALSE(ParseCgroupFile("nonsense\n"));
  EXPECT_FALSE(ParseCgroupFile("4:memory:relative\n"));
}

TEST(Membership, ReadsOwnCgroups) {
  auto set = ReadTaskCgroups(getpid(), getpid()).value();
  EXPECT_FALSE(set.empty());
}

TEST(Membership, HierarchyNames) {
  EXPECT_TRUE(NamesHierarchy({"cpu", "cpuacct"}, "cpu,cpuacct"));
  EXPECT_FALSE(NamesHierarchy({"cpu", "cpuacct"}, "cpu"));
  EXPECT_TRUE(NamesHierarchy({""}, ""));
  EXPECT_FALSE(NamesHierarchy({"memory"}, ""));
  EXPECT_TRUE(NamesHierarchy({"name=systemd"}, "name=systemd"));
  EXPECT_TRUE(NamesAnyOf({"cpu", "cpuacct"}, "cpu"));
  EXPECT_FALSE(NamesAnyOf({"cpu"}, ""));
  EXPECT_EQ(YardName({"cpu", "cpuacct"}), "cpu,cpuacct");
  EXPECT_EQ(YardName({"name=systemd"}), "systemd");
  EXPECT_EQ(YardName({""}), "unified");
}

TEST(Membership, NamespacePrefix) {
  CgSet outside = ParseCgroupFile("4:memory:/lxc/c1/inner\n3:cpu:/lxc/c1\n2:pids:/x\n").value();
  CgSet inside = ParseCgroupFile("4:memory:/inner\n3:cpu:/\n2:pids:/x\n").value();
  ASSERT_TRUE(SetNamespacePrefixes(outside, inside));
  EXPECT_EQ(outside[0].name, "cpu");
  EXPECT_EQ(outside[0].cgns_prefix, 7u);  // "/lxc/c1"
  EXPECT_EQ(outside[1].cgns_prefix, 7u);
  EXPECT_EQ(outside[2].cgns_prefix, 0u);
  CgSet wrong = ParseCgroupFile("4:memory:/other\n").value();
  CgSet out2 = ParseCgroupFile("4:memory:/a/b\n").value();
  EXPECT_FALSE(SetNamespacePrefixes(out2, wrong));
}

}  // namespace
}  // namespace cryo::cgroups
