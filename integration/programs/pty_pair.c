// A pseudo-terminal pair held by a tree: the root holds the master (from
// posix_openpt), child 0 the slave it opened by name. The slave is in raw
// mode with a custom VINTR character and 9600 baud, the window size is
// 33x111 (set on the master), and at dump time 20 bytes the child wrote
// to the slave are unread on the master. After restore:
//   - the master reads exactly those 20 bytes, then nothing more;
//   - the master's ptsname and the slave's ttyname are as before;
//   - the slave's termios is as it was (flags, VINTR, VMIN, VTIME, speed)
//     and both ends report the 33x111 window;
//   - data flows both ways: master -> slave, then slave -> master.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "prog.h"

#define NUNREAD 20
static const unsigned char kUnread[NUNREAD] = {'p', 't', 'y',  0x03, 0x0a, 0x0d, 0x7f, 0xff, 0x00, 0x1b,
                                               '[', 'A', 0x0b, 0x04, 'e',  'n',  'd',  0x80, 0x11, '!'};
static const char kToSlave[] = "master->slave 0123";
static const char kToMaster[] = "slave->master 4567";
#define VINTR_CHAR 0x0b  // ^K instead of ^C

// Reads exactly len bytes from fd, each read waiting at most 5 s.
static void read_exact(int fd, void* buf, size_t len, const char* what) {
  size_t got = 0;
  while (got < len) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    PROG_CHECK(poll(&p, 1, 5000) == 1, "%s: only %zu of %zu bytes came", what, got, len);
    ssize_t n = read(fd, (char*)buf + got, len - got);
    PROG_CHECK(n > 0, "%s: read after %zu bytes", what, got);
    got += (size_t)n;
  }
}

static void write_all(int fd, const void* buf, size_t len, const char* what) {
  PROG_CHECK(write(fd, buf, len) == (ssize_t)len, "%s: write", what);
}

static int unread(int fd) {
  int n = -1;
  PROG_CHECK(ioctl(fd, FIONREAD, &n) == 0, "FIONREAD");
  return n;
}

static void check_winsize(int fd, const char* end) {
  struct winsize ws;
  PROG_CHECK(ioctl(fd, TIOCGWINSZ, &ws) == 0, "%s: TIOCGWINSZ", end);
  PROG_CHECK(ws.ws_row == 33 && ws.ws_col == 111 && ws.ws_xpixel == 777 && ws.ws_ypixel == 555,
             "%s: window %ux%u (%ux%u pixels), want 33x111 (777x555)", end, ws.ws_row, ws.ws_col, ws.ws_xpixel,
             ws.ws_ypixel);
}

static _Noreturn void slave_side(const char* name) {
  int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  PROG_CHECK(s >= 0, "open the slave %s", name);
  struct termios t;
  PROG_CHECK(tcgetattr(s, &t) == 0, "tcgetattr");
  cfmakeraw(&t);
  t.c_cc[VINTR] = VINTR_CHAR;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  PROG_CHECK(cfsetispeed(&t, B9600) == 0 && cfsetospeed(&t, B9600) == 0, "cfsetspeed");
  PROG_CHECK(tcsetattr(s, TCSANOW, &t) == 0, "tcsetattr");
  struct termios want;  // as the kernel keeps it
  PROG_CHECK(tcgetattr(s, &want) == 0, "tcgetattr");
  PROG_CHECK(want.c_cc[VINTR] == VINTR_CHAR && !(want.c_lflag & (ICANON | ECHO | ISIG)) && cfgetospeed(&want) == B9600,
             "before the dump: the termios did not take");
  write_all(s, kUnread, NUNREAD, "slave: the unread bytes");
  prog_child_ready(0);
  prog_wait_go();

  struct termios now;
  PROG_CHECK(tcgetattr(s, &now) == 0, "slave: tcgetattr");
  PROG_CHECK(now.c_iflag == want.c_iflag && now.c_oflag == want.c_oflag && now.c_cflag == want.c_cflag &&
                 now.c_lflag == want.c_lflag,
             "slave: flags iflag %#x oflag %#x cflag %#x lflag %#x, were %#x %#x %#x %#x", now.c_iflag, now.c_oflag,
             now.c_cflag, now.c_lflag, want.c_iflag, want.c_oflag, want.c_cflag, want.c_lflag);
  PROG_CHECK(memcmp(now.c_cc, want.c_cc, sizeof now.c_cc) == 0,
             "slave: control characters changed (VINTR %#x, want %#x)", now.c_cc[VINTR], want.c_cc[VINTR]);
  PROG_CHECK(cfgetospeed(&now) == B9600 && cfgetispeed(&now) == B9600, "slave: speed changed");
  check_winsize(s, "slave");
  PROG_CHECK(isatty(s) && ttyname(s) != NULL && strcmp(ttyname(s), name) == 0, "slave: ttyname %s, want %s",
             ttyname(s) ? ttyname(s) : "(none)", name);
  char buf[sizeof kToSlave];
  read_exact(s, buf, sizeof kToSlave, "slave: data from the master");
  PROG_CHECK(memcmp(buf, kToSlave, sizeof kToSlave) == 0, "slave: wrong data from the master");
  write_all(s, kToMaster, sizeof kToMaster, "slave: reply");
  prog_wait_mark("master-got-reply");  // the slave stays open until then
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  PROG_CHECK(m >= 0, "posix_openpt");
  PROG_CHECK(grantpt(m) == 0 && unlockpt(m) == 0, "grantpt/unlockpt");
  char name[64];
  PROG_CHECK(ptsname_r(m, name, sizeof name) == 0, "ptsname_r");
  struct winsize ws = {.ws_row = 33, .ws_col = 111, .ws_xpixel = 777, .ws_ypixel = 555};
  PROG_CHECK(ioctl(m, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ");
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    close(m);
    slave_side(name);
  }
  prog_wait_children_ready(1);
  // The bytes reach the master's input asynchronously: wait for all 20.
  for (int i = 0; unread(m) != NUNREAD; i++) {
    PROG_CHECK(i < 1000, "before the dump: %d bytes unread on the master, want %d", unread(m), NUNREAD);
    usleep(5000);
  }
  prog_ready();
  prog_wait_go();

  unsigned char got[NUNREAD];
  read_exact(m, got, NUNREAD, "master: the unread bytes");
  for (int i = 0; i < NUNREAD; i++)
    PROG_CHECK(got[i] == kUnread[i], "master: unread byte %d is %#x, want %#x", i, got[i], kUnread[i]);
  struct pollfd p = {.fd = m, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 100) == 0, "master: more than the %d unread bytes (%d more)", NUNREAD, unread(m));
  char now[64];
  PROG_CHECK(ptsname_r(m, now, sizeof now) == 0 && strcmp(now, name) == 0, "master: ptsname %s, want %s", now, name);
  check_winsize(m, "master");
  write_all(m, kToSlave, sizeof kToSlave, "master: data");
  char buf[sizeof kToMaster];
  read_exact(m, buf, sizeof kToMaster, "master: the reply");
  PROG_CHECK(memcmp(buf, kToMaster, sizeof kToMaster) == 0, "master: wrong reply");
  prog_mark("master-got-reply");
  prog_check_child(c, 0);
  prog_pass();
}
