#include "cli/parse.h"

#include <gtest/gtest.h>

namespace cryo {
namespace {

Result<Options> Parse(std::vector<std::string> args, std::vector<ConfigText> configs = {}) {
  return ParseCommandLine(args, configs);
}

TEST(Parse, DumpWithShortAndLongOptions) {
  auto o = Parse({"dump", "-t", "42", "-D", "/img", "--work-dir=/w", "-o", "dump.log", "-v4",
                  "--leave-running", "--tcp-established", "-j"})
               .value();
  EXPECT_EQ(o.command, "dump");
  EXPECT_EQ(o.pid, 42);
  EXPECT_EQ(o.images_dir, "/img");
  EXPECT_EQ(o.work_dir, "/w");
  EXPECT_EQ(o.log_file, "dump.log");
  EXPECT_EQ(o.log_level, 4);
  EXPECT_TRUE(o.leave_running);
  EXPECT_TRUE(o.tcp_established);
  EXPECT_TRUE(o.shell_job);
  EXPECT_TRUE(ValidateOptions(o));
}

TEST(Parse, OptionsBeforeTheCommandAndAttachedValues) {
  auto o = Parse({"-v4", "-t123", "dump"}).value();
  EXPECT_EQ(o.command, "dump");
  EXPECT_EQ(o.pid, 123);
  EXPECT_EQ(o.log_level, 4);
}

TEST(Parse, VerbosityForms) {
  EXPECT_EQ(Parse({"check", "-v"}).value().log_level, 3);
  EXPECT_EQ(Parse({"check", "-vv"}).value().log_level, 4);
  EXPECT_EQ(Parse({"check", "-v0"}).value().log_level, 0);
  // CRIU reads any other attached value as atoi does; levels past 4 mean 4.
  EXPECT_EQ(Parse({"check", "-v9"}).value().log_level, 4);
  EXPECT_EQ(Parse({"check", "-verbosity=0", "--feature", "x"}).value().log_level, 0);
  EXPECT_EQ(Parse({"check", "-vx"}).value().log_level, 0);
  EXPECT_EQ(Parse({"check", "-v3x"}).value().log_level, 3);
  EXPECT_EQ(Parse({"check", "--verbosity=1"}).value().log_level, 1);
  EXPECT_EQ(Parse({"check", "-vvv"}).value().log_level, 4);
}

TEST(Parse, NegationTurnsBooleansOff) {
  ConfigText cfg{"default.conf", "tcp-established\nfile-locks\n"};
  auto o = Parse({"dump", "-t", "1", "--no-tcp-established"}, {cfg}).value();
  EXPECT_FALSE(o.tcp_established);
  EXPECT_TRUE(o.file_locks);
  auto e = Parse({"dump", "--no-tree", "1"});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), "dump: --tree cannot be negated");
}

TEST(Parse, OptionalArgumentsNeedEquals) {
  auto o = Parse({"dump", "-t", "1", "--manage-cgroups=full"}).value();
  EXPECT_TRUE(o.manage_cgroups);
  EXPECT_EQ(o.manage_cgroups_mode, CgroupMode::kFull);
  // Without '=', the next word is not its value: here it is an unexpected word.
  auto bare = Parse({"dump", "-t", "1", "--manage-cgroups", "full"});
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->manage_cgroups_mode, CgroupMode::kSoft);
  EXPECT_FALSE(ValidateOptions(*bare));
  auto ino = Parse({"dump", "-t", "1", "--ext-unix-sk=77"}).value();
  EXPECT_TRUE(ino.ext_unix_sk);
  ASSERT_EQ(ino.unix_sk_ino.size(), 1u);
  EXPECT_EQ(ino.unix_sk_ino[0], 77u);
}

TEST(Parse, RepeatedOptionsAccumulate) {
  auto o = Parse({"restore", "--inherit-fd", "fd[0]:pipe:[1]", "--inherit-fd", "fd[1]:pipe:[2]",
                  "--external", "mnt[a]:b", "--external", "net[5]:k", "-d", "-S"})
               .value();
  ASSERT_EQ(o.inherit_fd.size(), 2u);
  EXPECT_EQ(o.inherit_fd[1].key, "pipe:[2]");
  EXPECT_EQ(o.external.size(), 2u);
  EXPECT_TRUE(o.restore_detached);
  EXPECT_TRUE(o.restore_sibling);
}

TEST(Parse, LxcDumpCommandLine) {
  auto o = Parse({"dump", "--tcp-established", "--file-locks", "--link-remap",
                  "--manage-cgroups=full", "--ext-mount-map", "auto", "--enable-external-sharing",
                  "--enable-external-masters", "--enable-fs", "hugetlbfs", "--enable-fs",
                  "tracefs", "-D", "/d", "-o", "/d/dump.log", "--cgroup-root",
                  "name=systemd:/lxc.payload.c", "--cgroup-root", "pids:/lxc.payload.c", "-v4",
                  "--ext-mount-map", "/lib:lib", "-t", "77", "--skip-in-flight",
                  "--freeze-cgroup", "/sys/fs/cgroup/freezer//lxc.payload.c", "--force-irmap",
                  "--leave-running"})
               .value();
  EXPECT_TRUE(o.auto_ext_mnt);
  ASSERT_EQ(o.ext_mnt.size(), 1u);
  EXPECT_EQ(o.ext_mnt[0].val, "lib");
  EXPECT_EQ(o.cgroup_root.size(), 2u);
  EXPECT_EQ(o.enable_fs.size(), 2u);
  EXPECT_EQ(o.freeze_cgroup, "/sys/fs/cgroup/freezer//lxc.payload.c");
  EXPECT_TRUE(ValidateOptions(o));
}

// What LXC 5.0.2 ran for `lxc-checkpoint -r` of a container with no
// console, net type empty and an unconfined AppArmor profile.
TEST(Parse, LxcRestoreCommandLine) {
  auto o = Parse({"restore", "--tcp-established", "--file-locks", "--link-remap", "--manage-cgroups=full",
                  "--ext-mount-map", "auto", "--enable-external-sharing", "--enable-external-masters",
                  "--enable-fs", "hugetlbfs", "--enable-fs", "tracefs", "-D", "/d", "-o", "/d/restore.log",
                  "--cgroup-root", "name=systemd:/lxc.payload.c", "--cgroup-root", "hugetlb:/lxc.payload.c",
                  "-v4", "--ext-mount-map", "lib:/lib", "--ext-mount-map", "sys/kernel/security:/sys/kernel/security",
                  "--root", "/usr/lib/x86_64-linux-gnu/lxc/rootfs", "--restore-detached", "--restore-sibling",
                  "--ext-mount-map", "console:", "--lsm-profile", "apparmor:unconfined", "--external",
                  "apparmor:unconfined"})
               .value();
  EXPECT_TRUE(o.auto_ext_mnt);
  ASSERT_EQ(o.ext_mnt.size(), 3u);
  EXPECT_EQ(o.ext_mnt[0].key, "lib");
  EXPECT_EQ(o.ext_mnt[0].val, "/lib");
  EXPECT_EQ(o.ext_mnt[2].key, "console");
  EXPECT_EQ(o.ext_mnt[2].val, "");
  EXPECT_TRUE(o.restore_detached);
  EXPECT_TRUE(o.restore_sibling);
  EXPECT_EQ(o.root, "/usr/lib/x86_64-linux-gnu/lxc/rootfs");
  EXPECT_TRUE(ValidateOptions(o));
}

TEST(Parse, ClearErrors) {
  EXPECT_EQ(Parse({"dump", "--frobnicate"}).error().message(), "dump: unknown option --frobnicate");
  EXPECT_EQ(Parse({"dump", "-t"}).error().message(), "dump: -t/--tree needs a value");
  EXPECT_EQ(Parse({"dump", "-t", "abc"}).error().message(), "dump: --tree: 'abc' is not a number");
  EXPECT_EQ(Parse({"dump", "-t", "-5"}).error().message(),
            "dump: --tree: '-5' is not a valid pid");
  EXPECT_EQ(Parse({"frob"}).error().message(), "unknown command 'frob' (see cryo --help)");
  EXPECT_EQ(Parse({}).error().message(), "no command given (see cryo --help)");
  EXPECT_EQ(Parse({"dump", "--leave-running=yes"}).error().message(),
            "dump: --leave-running takes no value");
  EXPECT_EQ(Parse({"dump", "-Q"}).error().message(), "dump: unknown option -Q");
  EXPECT_EQ(ValidateOptions(Parse({"dump"}).value()).error().message(),
            "dump: -t/--tree PID is required");
  EXPECT_EQ(ValidateOptions(Parse({"dump", "-t", "1", "-R", "-s"}).value()).error().message(),
            "dump: --leave-running and --leave-stopped exclude each other");
}

TEST(Parse, GhostOptionsAsCriuTakesThem) {
  auto o = Parse({"dump", "-t", "1", "--ghost-limit", "8M", "--no-ghost-fiemap"}).value();
  EXPECT_EQ(o.ghost_limit, 8u << 20);
  EXPECT_FALSE(o.ghost_fiemap);
  EXPECT_TRUE(Parse({"dump", "-t", "1", "--ghost-fiemap"}).value().ghost_fiemap);
  EXPECT_TRUE(Parse({"dump", "-t", "1"}).value().ghost_fiemap);
}

TEST(Parse, ConfigFileFormat) {
  ConfigText cfg{"/etc/criu/default.conf",
                 "# comment\n\n  tcp-established  \nlog-file /tmp/x.log # trailing\n"
                 "--ghost-limit 2M\nmanage-cgroups=strict\nlsm-profile \"apparmor:x\"\n"};
  auto o = Parse({"dump", "-t", "1"}, {cfg}).value();
  EXPECT_TRUE(o.tcp_established);
  EXPECT_EQ(o.log_file, "/tmp/x.log");
  EXPECT_EQ(o.ghost_limit, 2u << 20);
  EXPECT_EQ(o.manage_cgroups_mode, CgroupMode::kStrict);
  EXPECT_EQ(o.lsm_profile, "apparmor:x");
  auto bad = Parse({"dump"}, {{"my.conf", "tcp-established\nbogus-option\n"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "my.conf:2: unknown option --bogus-option");
  // The command line wins over the config file.
  auto o2 = Parse({"dump", "-t", "1", "-o", "cli.log"}, {cfg}).value();
  EXPECT_EQ(o2.log_file, "cli.log");
}

TEST(Parse, ConfigFilesToRead) {
  EXPECT_EQ(ConfigFilesFor({"dump"}, nullptr, "/root"),
            (std::vector<std::string>{"/etc/criu/default.conf", "/root/.criu/default.conf"}));
  EXPECT_EQ(ConfigFilesFor({"dump", "--no-default-config", "--config", "/a.conf"}, "/env.conf",
                           "/root"),
            (std::vector<std::string>{"/env.conf", "/a.conf"}));
}

TEST(Parse, VersionAndHelp) {
  EXPECT_EQ(Parse({"-V"}).value().command, "version");
  EXPECT_EQ(Parse({"--version"}).value().command, "version");
  EXPECT_EQ(Parse({"-h"}).value().command, "help");
}

TEST(Parse, PositionalArguments) {
  EXPECT_EQ(Parse({"swrk", "3"}).value().arguments, std::vector<std::string>{"3"});
  EXPECT_FALSE(ValidateOptions(Parse({"swrk"}).value()));
  EXPECT_TRUE(ValidateOptions(Parse({"show", "/tmp"}).value()));
  EXPECT_FALSE(ValidateOptions(Parse({"show"}).value()));
  EXPECT_FALSE(ValidateOptions(Parse({"cpuinfo", "frob"}).value()));
}

}  // namespace
}  // namespace cryo
