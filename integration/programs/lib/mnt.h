// Helpers for the mount programs (mnt_*.c), which run in the ns flavor
// only: they mount things, and must never do so on the host.
#pragma once

#include <stdbool.h>
#include <stddef.h>

// Fails unless this is a container ct_start made (CRYO_FLAVOR=ns).
void mnt_require_container(void);
// mount(2) or fail the program.
void mnt_mount(const char* src, const char* dst, const char* type, unsigned long flags, const char* data);
void mnt_mkdirs(const char* path);
void mnt_write(const char* path, const char* text);
// The whole file, NUL-terminated, into buf (fails if it cannot be read).
void mnt_read(const char* path, char* buf, size_t n);
// The mountinfo line of the topmost mount at `mountpoint`, or false.
bool mnt_line(const char* mountpoint, char* line, size_t n);
// The mountinfo of this process without what changes from one
// namespace instance to the next: mount ids, device numbers, peer group
// numbers (kept as their order of first appearance).
void mnt_snapshot(char* out, size_t n);
