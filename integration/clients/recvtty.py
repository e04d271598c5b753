#!/usr/bin/env python3
"""recvtty.py SOCKET OUT: the console side of a terminal container. Listens
on the unix socket SOCKET (runc --console-socket), takes the pty master
each connection passes (SCM_RIGHTS) and copies what the container writes
on its terminal to OUT, for as long as a master is open. Daemonizes;
writes its pid to SOCKET.pid once listening."""
import array
import os
import select
import socket
import sys


def main():
    path, out_path = sys.argv[1], sys.argv[2]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    for fd in range(3):
        os.dup2(os.open("/dev/null", os.O_RDWR), fd)
    with open(path + ".pid.tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(path + ".pid.tmp", path + ".pid")
    out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    masters = []
    while True:
        ready, _, _ = select.select([srv] + masters, [], [])
        for r in ready:
            if r is srv:
                conn, _ = srv.accept()
                fds = array.array("i")
                _, anc, _, _ = conn.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
                for level, kind, data in anc:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
                masters.extend(fds)
                conn.close()
                continue
            try:
                data = os.read(r, 65536)
            except OSError:
                data = b""
            if not data:
                masters.remove(r)
                os.close(r)
            else:
                os.write(out, data)


if __name__ == "__main__":
    main()
