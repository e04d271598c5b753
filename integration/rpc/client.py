#!/usr/bin/python3
"""A CRIU RPC client for the rpc suite, built on the messages Debian's criu
package compiles (pycriu.rpc_pb2), driving cryo the way libcriu and go-criu
do: a SOCK_SEQPACKET socketpair, `cryo swrk N` on an arbitrary fd number N
(or a `cryo service` socket), one message per packet, NOTIFY answered.
Prints one JSON object: what came back, and cryo's exit status."""
import argparse
import json
import os
import socket
import sys

from pycriu import rpc_pb2 as rpc


def connect(args):
    if args.address:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(args.address)
        return s, None
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        a.close()
        os.dup2(b.fileno(), args.fd)
        # Nothing else of ours: stdio and the socket.
        os.closerange(3, args.fd)
        os.closerange(args.fd + 1, 65536)
        os.execv(args.cryo, [args.cryo, "swrk", str(args.fd)])
    b.close()
    return a, pid


def recv(s):
    data = s.recv(1 << 20)
    if not data:
        return None
    r = rpc.criu_resp()
    r.ParseFromString(data)
    return r


def opts_for(args, images_fd):
    o = rpc.criu_opts()
    o.images_dir_fd = images_fd
    if args.pid:
        o.pid = args.pid
    o.log_file = args.log
    o.log_level = 4
    o.notify_scripts = args.notify
    if args.leave_running:
        o.leave_running = True
    if args.sibling:
        o.rst_sibling = True
    if args.ps_port:
        o.ps.address = "127.0.0.1"
        o.ps.port = args.ps_port
    return o


def exchange(s, args, out):
    """Answers NOTIFYs until the final reply of a request; returns it."""
    while True:
        r = recv(s)
        if r is None:
            return None
        if r.type == rpc.NOTIFY:
            out["notifies"].append([r.notify.script, r.notify.pid])
            ack = rpc.criu_req()
            ack.type = rpc.NOTIFY
            ack.notify_success = r.notify.script != args.refuse
            s.send(ack.SerializeToString())
            continue
        f = {"type": rpc.criu_req_type.Name(r.type), "success": r.success}
        if r.HasField("cr_errno"):
            f["errno"] = r.cr_errno
        if r.HasField("cr_errmsg"):
            f["errmsg"] = r.cr_errmsg
        if r.HasField("version"):
            f["version"] = [r.version.major_number, r.version.minor_number]
        if r.HasField("features"):
            f["features"] = {k: getattr(r.features, k) for k in ("mem_track", "lazy_pages", "pidfd_store")
                             if r.features.HasField(k)}
        if r.HasField("restore"):
            f["pid"] = r.restore.pid
            if r.restore.pid > 0:
                # With rst_sibling the restored root is this client's child.
                try:
                    f["our_child"] = os.waitpid(r.restore.pid, os.WNOHANG) == (0, 0)
                except ChildProcessError:
                    f["our_child"] = False
        if r.HasField("dump"):
            f["restored"] = r.dump.restored
        if r.HasField("ps"):
            f["ps"] = {"pid": r.ps.pid, "port": r.ps.port}
        return f


def main():
    p = argparse.ArgumentParser()
    p.add_argument("op", choices=["version", "features", "dump", "pre-dump", "restore", "raw", "type", "cpuinfo-dump",
                                  "cpuinfo-check", "page-server"])
    p.add_argument("--cryo", default=os.environ.get("CRYO"))
    p.add_argument("--fd", type=int, default=9)
    p.add_argument("--address")
    p.add_argument("--images")
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--log", default="rpc.log")
    p.add_argument("--notify", action="store_true")
    p.add_argument("--refuse", default="")
    p.add_argument("--leave-running", action="store_true")
    p.add_argument("--sibling", action="store_true")
    p.add_argument("--hex", default="")
    p.add_argument("--type", type=int, default=0)
    # pre-dump: then DUMP in the same session into this dir, its parent
    # images the pre-dump's.
    p.add_argument("--then-dump")
    # dump: send the pages to the page server on this port of 127.0.0.1.
    p.add_argument("--ps-port", type=int, default=0)
    args = p.parse_args()

    s, child = connect(args)
    out = {"notifies": []}
    req = rpc.criu_req()
    images_fd = -1
    if args.op == "version":
        req.type = rpc.VERSION
    elif args.op == "features":
        req.type = rpc.FEATURE_CHECK
        req.features.mem_track = True
        req.features.lazy_pages = True
    elif args.op in ("dump", "restore", "pre-dump"):
        images_fd = os.open(args.images, os.O_RDONLY | os.O_DIRECTORY)
        req.type = {"dump": rpc.DUMP, "restore": rpc.RESTORE, "pre-dump": rpc.PRE_DUMP}[args.op]
        req.opts.CopyFrom(opts_for(args, images_fd))
    elif args.op == "page-server":
        images_fd = os.open(args.images, os.O_RDONLY | os.O_DIRECTORY)
        req.type = rpc.PAGE_SERVER
        req.opts.images_dir_fd = images_fd
        req.opts.log_file = args.log
        req.opts.ps.port = 0
    elif args.op.startswith("cpuinfo-"):
        images_fd = os.open(args.images, os.O_RDONLY | os.O_DIRECTORY)
        req.type = rpc.CPUINFO_DUMP if args.op == "cpuinfo-dump" else rpc.CPUINFO_CHECK
        req.opts.images_dir_fd = images_fd
    elif args.op == "type":
        req.type = args.type
        req.opts.images_dir_fd = -1
    if args.op == "raw":
        s.send(bytes.fromhex(args.hex))
    else:
        s.send(req.SerializeToString())
    out["final"] = exchange(s, args, out)
    if args.op == "pre-dump" and args.then_dump and out["final"] and out["final"]["success"]:
        out["pre"] = out["final"]
        final_fd = os.open(args.then_dump, os.O_RDONLY | os.O_DIRECTORY)
        req = rpc.criu_req()
        req.type = rpc.DUMP
        req.opts.CopyFrom(opts_for(args, final_fd))
        req.opts.track_mem = True
        req.opts.parent_img = os.path.relpath(args.images, args.then_dump)
        s.send(req.SerializeToString())
        out["final"] = exchange(s, args, out)
    s.shutdown(socket.SHUT_WR)
    if child:
        _, status = os.waitpid(child, 0)
        out["exit"] = os.waitstatus_to_exitcode(status)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
