// A long shell-like pipeline: 20 children (stages 0..19) joined by 19
// pipes. Stage 0 generates a stream of 16-byte records (sequence number,
// checksum, payload); stages 1..18 pass each record on, adding their index
// to its checksum; stage 19 checks every record. At dump time each stage
// has forwarded only part of the stream, so most pipes hold records in
// flight (pipe i holds inflight(i) records; every fifth is empty). After
// restore the stream goes on to the end: stage 19 checks that records
// come in order with their payload and the checksum 1+2+...+18 (each
// record passed every stage exactly once), and that EOF comes after
// exactly the whole stream; each stage checks it forwarded the rest.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "prog.h"

#define NSTAGE 20
#define NPIPE (NSTAGE - 1)
#define TOTAL (64 * 1024)                   // records: 1 MiB
#define FIRST0 3000                         // records stage 0 writes before the dump
#define CHUNK 256                           // records per read/write
#define WANT_SUM (NPIPE * (NPIPE - 1) / 2)  // 1 + ... + 18

struct rec {
  uint32_t seq;
  uint32_t sum;
  uint32_t pay[2];
};

static int pipes[NPIPE][2];  // pipe i: stage i -> stage i+1

static uint32_t pay(uint32_t seq, int k) { return seq * 2654435761u ^ (uint32_t)(k + 1) * 0x85ebca6bu; }

// Records left in pipe i at dump time.
static unsigned inflight(int i) { return i % 5 == 4 ? 0 : 20 + 7 * (unsigned)i; }

// Records stage s has forwarded (or, for 19, consumed) before the dump.
static unsigned first(int s) {
  unsigned n = FIRST0;
  for (int i = 0; i < s; i++) n -= inflight(i);
  return n;
}

static void write_all(int fd, const void* buf, size_t len) {
  const char* p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    PROG_CHECK(n > 0, "write");
    p += n, len -= (size_t)n;
  }
}

// Reads up to len bytes, fewer only at EOF; returns how many.
static size_t read_full(int fd, void* buf, size_t len) {
  char* p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, p + got, len - got);
    PROG_CHECK(n >= 0, "read");
    if (n == 0) break;
    got += (size_t)n;
  }
  return got;
}

// Stage 0: writes records [from, to).
static void generate(int out, unsigned from, unsigned to) {
  struct rec buf[CHUNK];
  while (from < to) {
    unsigned n = to - from < CHUNK ? to - from : CHUNK;
    for (unsigned k = 0; k < n; k++) {
      uint32_t seq = from + k;
      buf[k] = (struct rec){seq, 0, {pay(seq, 0), pay(seq, 1)}};
    }
    write_all(out, buf, n * sizeof *buf);
    from += n;
  }
}

// Stage s (1..19): handles up to `limit` records (or to EOF); stages
// 1..18 add s and forward, stage 19 checks from position *pos on.
// Returns how many records it handled.
static unsigned pass_on(int s, int in, int out, unsigned* pos, unsigned limit) {
  struct rec buf[CHUNK];
  unsigned done = 0;
  while (done < limit) {
    unsigned want = limit - done < CHUNK ? limit - done : CHUNK;
    size_t got = read_full(in, buf, want * sizeof *buf);
    PROG_CHECK(got % sizeof *buf == 0, "stage %d: EOF inside a record", s);
    unsigned n = (unsigned)(got / sizeof *buf);
    if (s < NSTAGE - 1) {
      for (unsigned k = 0; k < n; k++) buf[k].sum += (uint32_t)s;
      write_all(out, buf, n * sizeof *buf);
    } else {
      for (unsigned k = 0; k < n; k++, (*pos)++) {
        const struct rec* r = &buf[k];
        PROG_CHECK(r->seq == *pos, "record %u has sequence number %u", *pos, r->seq);
        PROG_CHECK(r->pay[0] == pay(*pos, 0) && r->pay[1] == pay(*pos, 1), "record %u: wrong payload", *pos);
        PROG_CHECK(r->sum == WANT_SUM, "record %u: checksum %u, want %u", *pos, r->sum, WANT_SUM);
      }
    }
    done += n;
    if (n < want) break;  // EOF
  }
  return done;
}

static unsigned records_in(int fd) {
  int n = -1;
  PROG_CHECK(ioctl(fd, FIONREAD, &n) == 0, "FIONREAD");
  return (unsigned)n / sizeof(struct rec);
}

static _Noreturn void stage(int s) {
  int in = s > 0 ? pipes[s - 1][0] : -1, out = s < NPIPE ? pipes[s][1] : -1;
  for (int i = 0; i < NPIPE; i++) {
    if (pipes[i][0] != in) close(pipes[i][0]);
    if (pipes[i][1] != out) close(pipes[i][1]);
  }
  unsigned pos = 0;
  if (s == 0) {
    generate(out, 0, FIRST0);
  } else {
    PROG_CHECK(pass_on(s, in, out, &pos, first(s)) == first(s), "stage %d: short first part", s);
    // Once stage s-1 is done with its part, what is left is in flight.
    char prev[32];
    snprintf(prev, sizeof prev, "ready-%d", s - 1);
    prog_wait_mark(prev);
    PROG_CHECK(records_in(in) == inflight(s - 1), "stage %d: %u records in its input, want %u", s, records_in(in),
               inflight(s - 1));
  }
  prog_child_ready(s);
  prog_wait_go();
  if (s == 0) {
    generate(out, FIRST0, TOTAL);
  } else {
    unsigned rest = pass_on(s, in, out, &pos, TOTAL);
    PROG_CHECK(rest == TOTAL - first(s), "stage %d: %u records after go, want %u", s, rest, TOTAL - first(s));
  }
  if (out >= 0) close(out);
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  for (int i = 0; i < NPIPE; i++) PROG_CHECK(pipe(pipes[i]) == 0, "pipe %d", i);
  pid_t kids[NSTAGE];
  for (int s = 0; s < NSTAGE; s++) {
    kids[s] = prog_fork_child(s);
    if (kids[s] == 0) stage(s);
  }
  for (int i = 0; i < NPIPE; i++) close(pipes[i][0]), close(pipes[i][1]);
  prog_wait_children_ready(NSTAGE);
  prog_ready();
  prog_wait_go();
  // The last first: when it fails, the others die of SIGPIPE and it has
  // the reason.
  for (int s = NSTAGE - 1; s >= 0; s--) prog_check_child(kids[s], s);
  prog_pass();
}
