#include "engine/ns/namespaces.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "engine/base/files.h"
#include "engine/ns/ipc.h"
#include "engine/ns/sysv.h"
#include "engine/ns/uts.h"

namespace cryo::ns {
namespace {

bool LoUp() {
  int sk = socket(AF_INET, SOCK_DGRAM, 0);
  ifreq r{};
  std::strcpy(r.ifr_name, "lo");
  bool up = ioctl(sk, SIOCGIFFLAGS, &r) == 0 && (r.ifr_flags & IFF_UP);
  close(sk);
  return up;
}

// A child in new UTS, IPC and network namespaces set up by hand.
class OwnNamespaces : public ::testing::Test {
 protected:
  void SetUp() override {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    child_ = fork();
    if (child_ == 0) {
      if (unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) != 0) _exit(1);
      sethostname("cryo-ns-test", 12);
      setdomainname("cryo.test", 9);
      (void)WriteFile("/proc/sys/kernel/msgmax", "12345", 0644);
      (void)WriteFile("/proc/sys/fs/mqueue/msg_max", "33", 0644);
      int sk = socket(AF_INET, SOCK_DGRAM, 0);
      ifreq r{};
      std::strcpy(r.ifr_name, "lo");
      ioctl(sk, SIOCGIFFLAGS, &r);
      r.ifr_flags |= IFF_UP;
      ioctl(sk, SIOCSIFFLAGS, &r);
      (void)!write(p[1], "x", 1);
      pause();
      _exit(0);
    }
    char c;
    ASSERT_EQ(read(p[0], &c, 1), 1);
    close(p[0]);
    close(p[1]);
  }
  void TearDown() override {
    kill(child_, SIGKILL);
    waitpid(child_, nullptr, 0);
  }
  pid_t child_ = -1;
};

TEST_F(OwnNamespaces, ReadFromInside) {
  auto u = DumpUts(child_);
  ASSERT_TRUE(u) << u.error().what();
  auto i = DumpIpcVar(child_);
  ASSERT_TRUE(i) << i.error().what();
  auto uts = DumpUts(child_).value();
  EXPECT_EQ(uts.nodename(), "cryo-ns-test");
  EXPECT_EQ(uts.domainname(), "cryo.test");
  auto ipc = DumpIpcVar(child_).value();
  EXPECT_EQ(ipc.msg_ctlmax(), 12345u);
  EXPECT_EQ(ipc.mq_msg_max(), 33u);
  EXPECT_EQ(ipc.sem_ctls_size(), 4);
}

TEST_F(OwnNamespaces, AppliedInNewOnesComeBackTheSame) {
  auto uts = DumpUts(child_).value();
  auto ipc = DumpIpcVar(child_).value();
  pid_t t = fork();
  if (t == 0) {
    if (unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) != 0) _exit(1);
    if (!LoUp() == false) _exit(2);  // a new netns starts with lo down
    if (!ApplyUts(uts) || !ApplyIpcVar(ipc)) _exit(3);
    utsname u;
    uname(&u);
    if (std::string(u.nodename) != "cryo-ns-test" || std::string(u.domainname) != "cryo.test") _exit(4);
    if (ReadFile("/proc/sys/kernel/msgmax").value_or("") != "12345\n") _exit(5);
    _exit(0);
  }
  int status;
  ASSERT_EQ(waitpid(t, &status, 0), t);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(OwnNamespaces, DumperChecksAndNumbers) {
  Options opts;
  auto d = NamespaceDumper::Make(child_, opts).value();
  img::task_kobj_ids_entry ids;
  ASSERT_TRUE(d.Check(child_, ids));
  EXPECT_EQ(ids.uts_ns_id(), kUtsId);
  EXPECT_EQ(ids.net_ns_id(), kNetId);
  // cryo's own process is not in the root's namespaces.
  auto other = d.Check(getpid(), ids);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().what().find("another uts namespace"), std::string::npos) << other.error().what();
}

// SysV objects of one IPC namespace, dumped from outside it and made
// again in another: same ids, keys, modes, contents, values, messages.
TEST(Namespaces, SysvObjectsComeBack) {
  char tmpl[] = "/tmp/cryo-sysv-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  int dir = open(tmpl, O_RDONLY | O_DIRECTORY);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t c = fork();
  if (c == 0) {
    if (unshare(CLONE_NEWIPC) != 0) _exit(1);
    int shm = shmget(0x5eed, 10000, IPC_CREAT | 0640);
    char* m = static_cast<char*>(shmat(shm, nullptr, 0));
    strcpy(m + 9000, "segment tail");
    shmdt(m);
    int sem = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    unsigned short v[3] = {7, 0, 32767};  // SEMVMX is the most
    semctl(sem, 0, SETALL, v);
    msgget(0x1111, IPC_CREAT | 0600);  // an empty queue first: ids differ per kind
    int q = msgget(0x2222, IPC_CREAT | 0666);
    struct {
      long type;
      char text[16];
    } a{5, "first"}, b{9, "second one"};
    msgsnd(q, &a, 6, 0);
    msgsnd(q, &b, 11, 0);
    (void)!write(p[1], "x", 1);
    pause();
    _exit(0);
  }
  char x;
  ASSERT_EQ(read(p[0], &x, 1), 1);
  Log log;
  auto dumped = DumpSysvObjects(c, dir, 2, log);
  kill(c, SIGKILL);
  waitpid(c, nullptr, 0);
  ASSERT_TRUE(dumped) << dumped.error().what();
  pid_t r = fork();
  if (r == 0) {
    if (unshare(CLONE_NEWIPC) != 0) _exit(1);
    if (!RestoreSysvObjects(dir, 2, log)) _exit(2);
    int shm = shmget(0x5eed, 0, 0);
    shmid_ds sd{};
    if (shm < 0 || shmctl(shm, IPC_STAT, &sd) != 0 || sd.shm_segsz != 10000 || (sd.shm_perm.mode & 0777) != 0640) _exit(3);
    char* m = static_cast<char*>(shmat(shm, nullptr, SHM_RDONLY));
    if (m == reinterpret_cast<char*>(-1) || strcmp(m + 9000, "segment tail") != 0) _exit(4);
    unsigned short v[3] = {};
    semid_ds ss{};
    if (semctl(0, 0, IPC_STAT, &ss) != 0 || ss.sem_nsems != 3 || semctl(0, 0, GETALL, v) != 0 || v[0] != 7 ||
        v[2] != 32767)
      _exit(5);
    int q = msgget(0x2222, 0);
    struct {
      long type;
      char text[16];
    } got{};
    if (q != 1 || msgrcv(q, &got, sizeof got.text, 0, IPC_NOWAIT) != 6 || got.type != 5 || strcmp(got.text, "first") != 0)
      _exit(6);
    if (msgrcv(q, &got, sizeof got.text, 0, IPC_NOWAIT) != 11 || got.type != 9 || strcmp(got.text, "second one") != 0)
      _exit(7);
    _exit(0);
  }
  int status;
  ASSERT_EQ(waitpid(r, &status, 0), r);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  for (const char* f : {"ipcns-shm-2.img", "ipcns-sem-2.img", "ipcns-msg-2.img"}) {
    std::string cmd = std::string("crit decode -i ") + tmpl + "/" + f + " >/dev/null 2>&1";
    EXPECT_EQ(system(cmd.c_str()), 0) << "crit cannot decode " << f;
  }
  std::string rm = std::string("rm -rf ") + tmpl;
  (void)!system(rm.c_str());
  close(dir);
}

}  // namespace
}  // namespace cryo::ns
