// Loopback TCP and UDP endpoints for the socket programs, on ports the
// kernel picks; every failure fails the program (PROG_CHECK).
#pragma once

#include <stddef.h>
#include <sys/socket.h>

// A socket of `type` bound to the loopback address of `family` (127.0.0.1
// or ::1, v6only) at a port the kernel picks.
int inet_bound(int family, int type);
int inet_bound_proto(int family, int type, int proto);
int inet_listener(int family, int backlog);
// A TCP client connected to the listener `l` (by its address).
int inet_connect_to(int l);
// A TCP client and the server end the listener accepted for it.
void inet_tcp_pair(int l, int* client, int* server);
// The port `fd` is bound to, and its peer's (0 if none).
int inet_port(int fd);
int inet_peer_port(int fd);
void inet_send_all(int fd, const void* data, size_t len);
void inet_recv_all(int fd, void* buf, size_t len);
// `len` bytes of a pattern that differs per `seed`, from offset `off`.
void inet_pattern(unsigned char* buf, size_t len, int seed, size_t off);
// Checks `buf` holds the pattern; names `what` if not.
void inet_check_pattern(const unsigned char* buf, size_t len, int seed, size_t off, const char* what);
