#!/usr/bin/python3
"""Checks cryo's .proto definitions against the descriptors compiled into
Debian's crit (pycriu, CRIU 3.17): every message and enum crit knows must be
in ours with the same field numbers, names, types, labels, defaults and
display options. Ours may add fields (CRIU 4.x), never change one.

usage: compare_with_crit.py DESCRIPTOR_SET
"""
import importlib
import pkgutil
import sys

try:
    import pycriu.images as crit_images
    import pycriu.rpc_pb2 as crit_rpc
except ImportError:
    print("SKIP: pycriu (package criu) is not installed")
    sys.exit(77)

from google.protobuf import descriptor_pb2, descriptor_pool

# Register architectures cryo does not implement.
OTHER_ARCH = ("aarch64", "_arm", "arm_", "ppc64", "s390", "mips")


def other_arch(name):
    return any(a in name for a in OTHER_ARCH)


def load_ours(path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as f:
        fds.ParseFromString(f.read())
    msgs, enums = {}, {}

    def walk_msg(m, prefix):
        msgs[m.name] = m
        for n in m.nested_type:
            walk_msg(n, prefix + m.name + ".")
        for e in m.enum_type:
            enums[m.name + "." + e.name] = e

    for fd in fds.file:
        if not fd.package.startswith("cryo."):
            continue
        for m in fd.message_type:
            walk_msg(m, "")
        for e in fd.enum_type:
            enums[e.name] = e
    return msgs, enums


def crit_files():
    for mod in pkgutil.iter_modules(crit_images.__path__):
        if mod.name.endswith("_pb2"):
            yield importlib.import_module("pycriu.images." + mod.name).DESCRIPTOR
    yield crit_rpc.DESCRIPTOR


def criu_opts(field_proto):
    """The (criu) option of a field as a plain dict, from its raw bytes."""
    opts = field_proto.options
    out = {}
    # Extension 1018 is unknown to a bare descriptor_pb2: read its raw bytes.
    raw = opts.SerializeToString()
    i = 0

    def varint(b, i):
        v = s = 0
        while True:
            c = b[i]
            i += 1
            v |= (c & 0x7F) << s
            s += 7
            if not c & 0x80:
                return v, i

    while i < len(raw):
        key, i = varint(raw, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            _, i = varint(raw, i)
        elif wt == 2:
            ln, i = varint(raw, i)
            body = raw[i:i + ln]
            i += ln
            if num == 1018:
                j = 0
                while j < len(body):
                    k, j = varint(body, j)
                    n, w = k >> 3, k & 7
                    if w == 0:
                        v, j = varint(body, j)
                        out[n] = bool(v)
                    else:
                        l2, j = varint(body, j)
                        out[n] = body[j:j + l2].decode()
                        j += l2
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
    return out


def main():
    ours_msgs, ours_enums = load_ours(sys.argv[1])
    errors = []
    checked = 0
    for fd in crit_files():
        fdp = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(fdp)

        def check_enum(e, key):
            mine = ours_enums.get(key)
            if mine is None:
                errors.append("enum %s: missing" % key)
                return
            have = {v.name: v.number for v in mine.value}
            for v in e.value:
                if have.get(v.name) != v.number:
                    errors.append("enum %s: %s should be %d, is %s" % (key, v.name, v.number, have.get(v.name)))

        def check_msg(m):
            nonlocal checked
            if other_arch(m.name) or m.name == "CRIU_Opts" and False:
                return
            mine = ours_msgs.get(m.name)
            if mine is None:
                errors.append("message %s: missing" % m.name)
                return
            checked += 1
            for e in m.enum_type:
                check_enum(e, m.name + "." + e.name)
            for n in m.nested_type:
                check_msg(n)
            byno = {f.number: f for f in mine.field}
            for f in m.field:
                if other_arch(f.type_name) or other_arch(f.name):
                    continue
                g = byno.get(f.number)
                where = "%s.%s (field %d)" % (m.name, f.name, f.number)
                if g is None:
                    errors.append(where + ": missing")
                    continue
                if g.name != f.name:
                    errors.append(where + ": named %s" % g.name)
                if g.type != f.type:
                    errors.append(where + ": type %d, crit has %d" % (g.type, f.type))
                if g.label != f.label:
                    errors.append(where + ": label %d, crit has %d" % (g.label, f.label))
                if f.type_name and g.type_name.split(".")[-1] != f.type_name.split(".")[-1]:
                    errors.append(where + ": of %s, crit has %s" % (g.type_name, f.type_name))
                if g.default_value != f.default_value:
                    # 4.2 gave images_dir_fd a default of -1; 3.17 had none.
                    if not (m.name == "criu_opts" and f.name == "images_dir_fd"):
                        errors.append(where + ": default %r, crit has %r" % (g.default_value, f.default_value))
                if criu_opts(g) != criu_opts(f):
                    errors.append(where + ": options %r, crit has %r" % (criu_opts(g), criu_opts(f)))

        for e in fdp.enum_type:
            check_enum(e, e.name)
        for m in fdp.message_type:
            check_msg(m)
    for e in errors:
        print("MISMATCH", e)
    print("%d messages compared with crit's, %d mismatches" % (checked, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
