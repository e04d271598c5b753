#include "cgroups/properties.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "engine/base/files.h"

namespace cryo::cgroups {
namespace {

TEST(Properties, BuiltinsFollowCriu) {
  auto p = PropertyLists::Make("", "").value();
  auto cpu = p.For({"cpu"});
  EXPECT_NE(std::find(cpu.begin(), cpu.end(), "cpu.shares"), cpu.end());
  EXPECT_NE(std::find(cpu.begin(), cpu.end(), "tasks"), cpu.end());
  auto v2 = p.For({""});
  EXPECT_NE(std::find(v2.begin(), v2.end(), "cgroup.subtree_control"), v2.end());
  EXPECT_EQ(std::find(v2.begin(), v2.end(), "tasks"), v2.end());
}

TEST(Properties, StreamReplacesAndMerges) {
  auto p = PropertyLists::Make(
               "\"cpu\":\n - \"strategy\": \"replace\"\n - \"properties\": [\"cpu.shares\"]\n"
               "\"pids\":\n - \"strategy\": \"merge\"\n - \"properties\": [ \"pids.extra\", \"pids.max\" ]\n"
               "\"hugetlb\":\n - \"strategy\": \"merge\"\n - \"properties\": []\n",
               "")
               .value();
  EXPECT_EQ(*p.Of("cpu"), std::vector<std::string>{"cpu.shares"});
  EXPECT_EQ(*p.Of("pids"), (std::vector<std::string>{"pids.max", "pids.extra"}));
  EXPECT_TRUE(p.Of("hugetlb")->empty());
}

TEST(Properties, StreamErrorsNameTheProblem) {
  auto bad = PropertyLists::Make("\"cpu\":\n - \"strategy\": \"sideways\"\n - \"properties\": []\n", "");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("sideways"), std::string::npos);
  EXPECT_FALSE(PropertyLists::Make("\"cpu\": - \"strategy\": \"merge\" - \"properties\": [\"a\"", ""));
  EXPECT_FALSE(PropertyLists::Make("", "/nonexistent/props"));
}

TEST(Properties, ReadsValuesAsCriuRecordsThem) {
  char dir[] = "/tmp/cryo-cgprop-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string d = dir;
  ASSERT_TRUE(WriteFile(d + "/memory.limit_in_bytes", "9223372036854775807\n"));
  ASSERT_TRUE(WriteFile(d + "/memory.oom_control", "oom_kill_disable 1\nunder_oom 0\n"));
  ASSERT_TRUE(WriteFile(d + "/cgroup.procs", "1\n2\n"));
  UniqueFd fd(open(dir, O_RDONLY | O_DIRECTORY));
  EXPECT_EQ(ReadProperty(fd.get(), "memory.limit_in_bytes")->value, "-1");
  EXPECT_EQ(ReadProperty(fd.get(), "memory.oom_control")->value, "1");
  EXPECT_EQ(ReadProperty(fd.get(), "cgroup.procs")->value, "");
  auto missing = ReadProperty(fd.get(), "cpu.shares");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().err(), ENOENT);
  for (const char* f : {"memory.limit_in_bytes", "memory.oom_control", "cgroup.procs"})
    unlink((d + "/" + f).c_str());
  rmdir(dir);
}

TEST(Properties, SpecialAndFreezer) {
  EXPECT_TRUE(IsSpecialProperty("cpuset.cpus"));
  EXPECT_FALSE(IsSpecialProperty("cpu.shares"));
  EXPECT_TRUE(IsFreezerProperty("freezer.state"));
  EXPECT_TRUE(IsFreezerProperty("cgroup.freeze"));
}

}  // namespace
}  // namespace cryo::cgroups
