#!/usr/bin/env python3
"""pipe_launch.py DIR -- CMD...: runs CMD (runc run -d, runc restore -d)
with stdin, stdout and stderr on anonymous pipes, as containerd's shim
and conmon do, and stays behind holding the other ends: it copies the
container's output to DIR/out and keeps stdin open. Writes its own pid to
DIR/pid and CMD's exit status to DIR/rc; exits when the container's
output pipes close (or on SIGTERM)."""
import os
import sys


def main():
    d = sys.argv[1]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    os.makedirs(d, exist_ok=True)
    r0, w0 = os.pipe()
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    if os.fork() > 0:
        # The caller waits for the rc file, not for us.
        os._exit(0)
    os.setsid()
    with open(os.path.join(d, "pid"), "w") as f:
        f.write(str(os.getpid()))
    pid = os.fork()
    if pid == 0:
        os.dup2(r0, 0)
        os.dup2(w1, 1)
        os.dup2(w2, 2)
        os.closerange(3, 65536)
        os.execvp(cmd[0], cmd)
    for fd in (r0, w1, w2):
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    with open(os.path.join(d, "rc.tmp"), "w") as f:
        f.write(str(os.waitstatus_to_exitcode(status)))
    os.rename(os.path.join(d, "rc.tmp"), os.path.join(d, "rc"))
    out = os.open(os.path.join(d, "out"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    # stdout and stderr into one file until both close; stdin stays open.
    import select
    live = [r1, r2]
    while live:
        ready, _, _ = select.select(live, [], [])
        for fd in ready:
            data = os.read(fd, 65536)
            if not data:
                live.remove(fd)
            else:
                os.write(out, data)
    os._exit(0)


if __name__ == "__main__":
    main()
