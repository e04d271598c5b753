#include "cli/rpc_options.h"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "engine/base/files.h"

namespace cryo {
namespace {

class RpcOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    char d[] = "/tmp/cryo-rpcopts-XXXXXX";
    ASSERT_NE(mkdtemp(d), nullptr);
    dir_ = d;
    fd_ = open(d, O_RDONLY | O_DIRECTORY);
    ASSERT_GE(fd_, 0);
    peer_.pid = getpid();
  }
  void TearDown() override {
    close(fd_);
    unlink((dir_ + "/c.conf").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
  int fd_ = -1;
  RpcPeer peer_;
  std::vector<UniqueFd> held_;
};

TEST_F(RpcOptions, ClientFdsBecomePaths) {
  rpc::criu_opts r;
  r.set_images_dir_fd(fd_);
  r.set_work_dir_fd(fd_);
  r.set_log_file("dump.log");
  r.set_pid(1234);
  r.set_leave_running(true);
  r.set_tcp_established(true);
  r.set_file_locks(true);
  r.set_log_level(4);
  auto o = OptionsFromRpc(r, "dump", peer_, held_).value();
  EXPECT_EQ(o.images_dir, dir_);
  EXPECT_EQ(o.WorkDir(), dir_);
  EXPECT_EQ(o.log_file, "dump.log");
  EXPECT_EQ(o.pid, 1234);
  EXPECT_TRUE(o.leave_running);
  EXPECT_TRUE(o.tcp_established);
  EXPECT_TRUE(o.file_locks);
  EXPECT_EQ(o.log_level, 4);
}

TEST_F(RpcOptions, NoPidDumpsTheClient) {
  rpc::criu_opts r;
  r.set_images_dir_fd(fd_);
  EXPECT_EQ(OptionsFromRpc(r, "dump", peer_, held_)->pid, getpid());
}

TEST_F(RpcOptions, CgroupsAsCriuMapsThem) {
  rpc::criu_opts r;
  r.set_images_dir_fd(fd_);
  r.set_manage_cgroups(true);
  EXPECT_EQ(OptionsFromRpc(r, "restore", peer_, held_)->manage_cgroups_mode, CgroupMode::kSoft);
  r.set_manage_cgroups(false);
  EXPECT_EQ(OptionsFromRpc(r, "restore", peer_, held_)->manage_cgroups_mode, CgroupMode::kIgnore);
  r.set_manage_cgroups_mode(rpc::FULL);
  EXPECT_EQ(OptionsFromRpc(r, "restore", peer_, held_)->manage_cgroups_mode, CgroupMode::kFull);
  auto* cg = r.add_cg_root();
  cg->set_ctrl("");
  cg->set_path("/default/x");
  auto* all = r.add_cg_root();
  all->set_path("/all");
  auto o = OptionsFromRpc(r, "restore", peer_, held_).value();
  ASSERT_EQ(o.cgroup_root.size(), 2u);
  EXPECT_EQ(o.cgroup_root[0].ctrl, std::optional<std::string>(""));
  EXPECT_FALSE(o.cgroup_root[1].ctrl.has_value());
  r.set_freeze_cgroup("/sys/fs/cgroup/freezer/x");
  EXPECT_EQ(OptionsFromRpc(r, "dump", peer_, held_)->freeze_cgroup, "/sys/fs/cgroup/freezer/x");
}

TEST_F(RpcOptions, IncrementalDumpFields) {
  rpc::criu_opts r;
  r.set_images_dir_fd(fd_);
  r.set_pid(getpid());
  r.set_track_mem(true);
  r.set_parent_img("../pre1");
  auto o = OptionsFromRpc(r, "pre-dump", peer_, held_).value();
  EXPECT_TRUE(o.track_mem);
  EXPECT_EQ(o.prev_images_dir, "../pre1");
}

TEST_F(RpcOptions, RefusesWhatItCannotDo) {
  rpc::criu_opts r;
  r.set_images_dir_fd(fd_);
  r.set_log_file("../escape.log");
  auto e = OptionsFromRpc(r, "dump", peer_, held_);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().err(), kBadRequest);
  r.clear_log_file();
  r.set_lazy_pages(true);
  r.mutable_ps()->set_port(1234);
  auto lazy = OptionsFromRpc(r, "dump", peer_, held_);
  ASSERT_TRUE(lazy) << lazy.error().what();
  EXPECT_TRUE(lazy->lazy_pages);
  EXPECT_FALSE(lazy->page_server);  // a lazy dump listens on ps, it does not connect
  EXPECT_EQ(lazy->port, 1234);
  r.clear_lazy_pages();
  r.clear_ps();
  r.set_empty_ns(CLONE_NEWPID);
  EXPECT_FALSE(OptionsFromRpc(r, "restore", peer_, held_));
  r.set_empty_ns(CLONE_NEWNET);
  EXPECT_TRUE(OptionsFromRpc(r, "restore", peer_, held_));
  rpc::criu_opts none;
  EXPECT_FALSE(OptionsFromRpc(none, "dump", peer_, held_));  // images_dir_fd -1
  rpc::criu_opts bad;
  bad.set_images_dir_fd(9999);
  EXPECT_FALSE(OptionsFromRpc(bad, "restore", peer_, held_));
}

TEST_F(RpcOptions, ServiceRefusesSwrkOnlyFields) {
  rpc::criu_opts r;
  r.set_images_dir_fd(fd_);
  r.set_rst_sibling(true);
  RpcPeer service = peer_;
  service.service = true;
  EXPECT_TRUE(OptionsFromRpc(r, "restore", peer_, held_));
  auto e = OptionsFromRpc(r, "restore", service, held_);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("swrk only"), std::string::npos);
  rpc::criu_opts i;
  i.set_images_dir_fd(fd_);
  auto* inh = i.add_inherit_fd();
  inh->set_key("pipe:[1]");
  inh->set_fd(0);
  EXPECT_TRUE(OptionsFromRpc(i, "restore", peer_, held_));
  EXPECT_FALSE(OptionsFromRpc(i, "restore", service, held_));
}

TEST_F(RpcOptions, ConfigFileUnderTheRequest) {
  ASSERT_TRUE(WriteFile(dir_ + "/c.conf", "tcp-established\nfile-locks\nlog-file from-config.log\n"));
  rpc::criu_opts r;
  r.set_images_dir_fd(fd_);
  r.set_config_file(dir_ + "/c.conf");
  r.set_log_file("from-request.log");
  auto o = OptionsFromRpc(r, "dump", peer_, held_).value();
  EXPECT_TRUE(o.tcp_established);
  EXPECT_TRUE(o.file_locks);
  EXPECT_EQ(o.log_file, "from-request.log");
  r.set_config_file(dir_ + "/missing.conf");  // runc names one whether or not it exists
  EXPECT_TRUE(OptionsFromRpc(r, "dump", peer_, held_));
}

}  // namespace
}  // namespace cryo
