// Leases (F_SETLEASE, dumped with --file-locks): a read lease on an
// O_RDONLY fd, a write lease on an O_WRONLY fd, and two leases being
// broken (a read lease broken by an opener for write, to F_UNLCK; a write
// lease on an O_RDWR fd broken by an opener for read, to F_RDLCK), each
// with F_SETSIG SIGUSR1. After restore:
//   - F_GETLEASE says F_RDLCK, F_WRLCK, F_UNLCK, F_RDLCK;
//   - no break signal came while the tree was away (one per break before);
//   - the read lease still works: an open for write with O_NONBLOCK fails
//     with EWOULDBLOCK and SIGUSR1 comes to this process with si_fd of it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static volatile sig_atomic_t g_signals, g_last_fd = -1;

static void on_break(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)ctx;
  g_signals++;
  g_last_fd = si->si_fd;
}

static int leased(const char* name, int mode, int type) {
  int fd = open(name, mode | O_CREAT, 0644);
  PROG_CHECK(fd >= 0, "open %s", name);
  PROG_CHECK(fcntl(fd, F_SETLEASE, type) == 0, "F_SETLEASE %s", name);
  PROG_CHECK(fcntl(fd, F_SETSIG, SIGUSR1) == 0, "F_SETSIG %s", name);
  return fd;
}

static void break_with(const char* name, int mode) {
  int other = open(name, mode | O_NONBLOCK);
  PROG_CHECK(other < 0 && errno == EWOULDBLOCK, "open of %s did not start a break", name);
}

static void wait_signals(int n) {
  for (int i = 0; i < 1000 && g_signals < n; i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sigaction sa = {.sa_sigaction = on_break, .sa_flags = SA_SIGINFO | SA_RESTART};
  sigemptyset(&sa.sa_mask);
  PROG_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
  int rd = leased("rd", O_RDONLY, F_RDLCK);
  int wr = leased("wr", O_WRONLY, F_WRLCK);
  int to_unlck = leased("to-unlck", O_RDONLY, F_RDLCK);
  int to_rdlck = leased("to-rdlck", O_RDWR, F_WRLCK);
  break_with("to-unlck", O_WRONLY);
  break_with("to-rdlck", O_RDONLY);
  wait_signals(2);
  PROG_CHECK(g_signals == 2, "%d break signals before the dump", (int)g_signals);
  PROG_CHECK(fcntl(to_unlck, F_GETLEASE) == F_UNLCK && fcntl(to_rdlck, F_GETLEASE) == F_RDLCK, "breaking before");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(fcntl(rd, F_GETLEASE) == F_RDLCK, "read lease: %d", fcntl(rd, F_GETLEASE));
  PROG_CHECK(fcntl(wr, F_GETLEASE) == F_WRLCK, "write lease: %d", fcntl(wr, F_GETLEASE));
  PROG_CHECK(fcntl(to_unlck, F_GETLEASE) == F_UNLCK, "lease breaking to F_UNLCK: %d", fcntl(to_unlck, F_GETLEASE));
  PROG_CHECK(fcntl(to_rdlck, F_GETLEASE) == F_RDLCK, "lease breaking to F_RDLCK: %d", fcntl(to_rdlck, F_GETLEASE));
  PROG_CHECK(g_signals == 2, "%d break signals, want 2 (one came from the restore)", (int)g_signals);
  // Still breaking: a new opener conflicts with them too.
  int again = open("to-unlck", O_WRONLY | O_NONBLOCK);
  PROG_CHECK(again < 0 && errno == EWOULDBLOCK, "the breaking lease is gone");
  break_with("rd", O_WRONLY);
  wait_signals(3);
  PROG_CHECK(g_signals == 3 && g_last_fd == rd, "break signal: %d signals, last for fd %d (want fd %d)",
             (int)g_signals, (int)g_last_fd, rd);
  prog_pass();
}
