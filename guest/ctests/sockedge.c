// Socket behaviour programs meet at the edges: getpeername of a connection to a named AF_UNIX
// listener before accept; recvmsg's msg_flags with MSG_CMSG_CLOEXEC (and MSG_CMSG_COMPAT
// refused); splice between sockets and pipes (AF_UNIX and TCP, SPLICE_F_NONBLOCK, offsets,
// a file kind splice cannot take); a TCP connection reset by its peer (SO_LINGER {1, 0}, or
// a close with unread bytes): poll bits, ECONNRESET once from read or SO_ERROR, then EOF,
// and EPIPE on write; TCP recv MSG_TRUNC (discards, NULL buffer), connect after a failed
// non-blocking attempt (the error or ECONNABORTED, then a new attempt); the local address of
// a UDP socket after connect (the route's source).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "ctest.h"

#define R(expr) do { errno = 0; long r_ = (long)(expr); printf("%-62s = %ld%s%s\n", #expr, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static const char *pollbits(int ev) {
  static char b[128];
  b[0] = 0;
  if (ev & POLLIN) strcat(b, "IN ");
  if (ev & POLLOUT) strcat(b, "OUT ");
  if (ev & POLLERR) strcat(b, "ERR ");
  if (ev & POLLHUP) strcat(b, "HUP ");
  if (ev & POLLRDHUP) strcat(b, "RDHUP ");
  return b;
}

static void unix_names(const char *dir) {
  printf("-- AF_UNIX names before accept\n");
  struct sockaddr_un sa = { .sun_family = AF_UNIX }, me = { .sun_family = AF_UNIX }, got;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/srv", dir);
  snprintf(me.sun_path, sizeof me.sun_path, "%s/cli", dir);
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  R(bind(ls, (struct sockaddr *)&sa, sizeof sa));
  R(listen(ls, 2));
  for (int bound = 0; bound < 2; bound++) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bound) R(bind(c, (struct sockaddr *)&me, sizeof me));
    R(connect(c, (struct sockaddr *)&sa, sizeof sa));
    socklen_t l = sizeof got;
    memset(&got, 0, sizeof got);
    R(getpeername(c, (struct sockaddr *)&got, &l));
    printf("peer len %d is the listener's path: %d\n", (int)l, strcmp(got.sun_path, sa.sun_path) == 0);
    l = sizeof got;
    memset(&got, 0, sizeof got);
    R(getsockname(c, (struct sockaddr *)&got, &l));
    printf("own len %d is its path: %d\n", (int)l, strcmp(got.sun_path, me.sun_path) == 0);
    int s = accept(ls, NULL, NULL);
    l = sizeof got;
    memset(&got, 0, sizeof got);
    R(getpeername(s, (struct sockaddr *)&got, &l));
    printf("accepted's peer len %d is the client's path: %d\n", (int)l, strcmp(got.sun_path, me.sun_path) == 0);
    close(s);
    close(c);
  }
  close(ls);
}

static void cmsg_flags(void) {
  printf("-- recvmsg msg_flags\n");
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  char b[8];
  struct iovec iov = { b, sizeof b };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
  send(sv[0], "abc", 3, 0);
  mh.msg_flags = 0x7777;
  R(recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC));
  printf("msg_flags %#x\n", mh.msg_flags);
  send(sv[0], "abcdefghijk", 11, 0);
  mh.msg_flags = 0;
  R(recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC));
  printf("msg_flags %#x\n", mh.msg_flags);
  send(sv[0], "abc", 3, 0);
  mh.msg_flags = 0x7777;
  R(recvmsg(sv[1], &mh, 0));
  printf("msg_flags %#x\n", mh.msg_flags);
  R(recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT));
  R(recvmsg(-1, &mh, 0x80000000u));
  R(sendmsg(-1, &mh, 0x80000000u));
  R(recvmsg(sv[1], &mh, 0x80000000u | MSG_DONTWAIT));
  close(sv[0]);
  close(sv[1]);
}

static int tcp_pair(int *srv, int *cli) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t l = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4) < 0) return -1;
  getsockname(ls, (struct sockaddr *)&a, &l);
  *cli = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(*cli, (struct sockaddr *)&a, sizeof a) < 0) return -1;
  *srv = accept(ls, NULL, NULL);
  close(ls);
  return *srv < 0 ? -1 : 0;
}

/** Waits (at most 5 s) for events on fd, lets the rest of the news arrive, and reports. */
static const char *settle(int fd) {
  struct pollfd p = { fd, POLLIN | POLLRDHUP, 0 };
  poll(&p, 1, 5000);
  usleep(200000);
  p.revents = 0;
  poll(&p, 1, 0);
  return pollbits(p.revents);
}

static void splices(void) {
  printf("-- splice with sockets\n");
  int a[2], b[2], p[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, a);
  socketpair(AF_UNIX, SOCK_STREAM, 0, b);
  pipe(p);
  char buf[64] = { 0 };
  R(splice(a[1], NULL, p[1], NULL, 100, SPLICE_F_NONBLOCK));
  write(a[0], "hello through a pipe", 20);
  R(splice(a[1], NULL, p[1], NULL, 5, 0));
  R(splice(a[1], NULL, p[1], NULL, 100, SPLICE_F_MOVE));
  R(splice(p[0], NULL, b[0], NULL, 8, 0));
  R(splice(p[0], NULL, b[0], NULL, 100, 0));
  R(read(b[1], buf, sizeof buf));
  printf("'%s'\n", buf);
  loff_t off = 0;
  R(splice(a[1], &off, p[1], NULL, 10, 0));
  R(splice(p[0], NULL, b[0], &off, 10, 0));
  R(splice(a[1], NULL, b[0], NULL, 10, 0));
  int e = eventfd(0, 0);
  R(splice(e, NULL, p[1], NULL, 8, 0));
  close(e);
  shutdown(a[0], SHUT_WR);
  R(splice(a[1], NULL, p[1], NULL, 100, 0));
  // A socket whose receiver is gone: EPIPE (SIGPIPE ignored here).
  write(p[1], "x", 1);
  close(b[1]);
  R(splice(p[0], NULL, b[0], NULL, 1, 0));
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(p[0]);
  close(p[1]);

  int s, c;
  if (tcp_pair(&s, &c) < 0) {
    printf("tcp pair failed %s\n", strerrorname_np(errno));
    return;
  }
  pipe(p);
  static char big[100000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
  size_t sent = 0, got = 0;
  uint64_t h1 = FNV0, h2 = FNV0;
  h1 = fnv(h1, big, sizeof big);
  static char in[100000];
  while (got < sizeof big) {
    if (sent < sizeof big) {
      ssize_t w = write(c, big + sent, sizeof big - sent > 30000 ? 30000 : sizeof big - sent);
      if (w > 0) sent += (size_t)w;
    }
    ssize_t n = splice(s, NULL, p[1], NULL, 65536, 0);
    if (n <= 0) break;
    ssize_t m = splice(p[0], NULL, s, NULL, (size_t)n, 0);
    if (m != n) break;
    while (m > 0) {
      ssize_t r = read(c, in + got, (size_t)m);
      if (r <= 0) break;
      got += (size_t)r;
      m -= r;
    }
  }
  // s echoed through the pipe: what c wrote came back to c.
  h2 = fnv(h2, in, got);
  printf("tcp spliced %zu bytes, same %d\n", got, h1 == h2 && got == sizeof big);
  close(p[0]);
  close(p[1]);
  close(s);
  close(c);
}

static void resets(void) {
  printf("-- connection reset by the peer\n");
  int s, c;
  if (tcp_pair(&s, &c) < 0) return;
  struct linger lg = { 1, 0 };
  R(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  close(s);
  printf("poll after reset: %s\n", settle(c));
  char b[8];
  R(read(c, b, sizeof b));
  printf("poll after the error: %s\n", settle(c));
  R(read(c, b, sizeof b));
  R(write(c, "x", 1));
  close(c);

  if (tcp_pair(&s, &c) < 0) return;
  R(write(c, "unread", 6));
  struct pollfd p = { s, POLLIN, 0 };
  poll(&p, 1, 5000);
  close(s);
  settle(c);
  int v = -1;
  socklen_t l = sizeof v;
  R(getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &l));
  printf("SO_ERROR %s\n", v ? strerrorname_np(v) : "0");
  R(recv(c, b, sizeof b, 0));
  close(c);

  // An orderly close stays an EOF.
  if (tcp_pair(&s, &c) < 0) return;
  close(s);
  printf("poll after close: %s\n", settle(c));
  R(read(c, b, sizeof b));
  close(c);
}

static void tcp_misc(void) {
  printf("-- TCP: MSG_TRUNC discards, connect after a failed attempt\n");
  int s, c;
  if (tcp_pair(&s, &c) < 0) return;
  char b[16] = { 0 };
  write(c, "abcdefgh", 8);
  struct pollfd p = { s, POLLIN, 0 };
  poll(&p, 1, 5000);
  usleep(100000);
  R(recv(s, NULL, 3, MSG_TRUNC | MSG_DONTWAIT));
  R(recv(s, b, sizeof b, MSG_DONTWAIT));
  printf("'%s'\n", b);
  close(s);
  close(c);
  // A port nobody listens on: a listener's port after it closed.
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t l = sizeof a;
  bind(ls, (struct sockaddr *)&a, sizeof a);
  listen(ls, 1);
  getsockname(ls, (struct sockaddr *)&a, &l);
  close(ls);
  int d = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  R(connect(d, (struct sockaddr *)&a, sizeof a));
  struct pollfd q = { d, POLLOUT, 0 };
  poll(&q, 1, 5000);
  int e = -1;
  l = sizeof e;
  R(getsockopt(d, SOL_SOCKET, SO_ERROR, &e, &l));
  printf("SO_ERROR %s\n", e ? strerrorname_np(e) : "0");
  R(connect(d, (struct sockaddr *)&a, sizeof a));
  R(write(d, "x", 1));
  close(d);
  d = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  R(connect(d, (struct sockaddr *)&a, sizeof a));
  q.fd = d;
  poll(&q, 1, 5000);
  R(connect(d, (struct sockaddr *)&a, sizeof a));
  R(connect(d, (struct sockaddr *)&a, sizeof a));
  close(d);
}

static void addr_text(int s, char *out, size_t n) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(s, (struct sockaddr *)&ss, &l) < 0) {
    snprintf(out, n, "%s", strerrorname_np(errno));
    return;
  }
  if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)n);
  else inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)n);
}

static void udp_connect(void) {
  printf("-- UDP connect and the local address\n");
  char t[64];
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  R(connect(u, (struct sockaddr *)&a, sizeof a));
  addr_text(u, t, sizeof t);
  printf("udp4 local after connect: %s\n", t);
  struct sockaddr un = { .sa_family = AF_UNSPEC };
  R(connect(u, &un, sizeof un));
  addr_text(u, t, sizeof t);
  printf("udp4 local after AF_UNSPEC: %s\n", t);
  close(u);
  u = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 b = { .sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  R(connect(u, (struct sockaddr *)&b, sizeof b));
  addr_text(u, t, sizeof t);
  printf("udp6 local after connect: %s\n", t);
  close(u);
  u = socket(AF_INET6, SOCK_DGRAM, 0);
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &b.sin6_addr);
  R(connect(u, (struct sockaddr *)&b, sizeof b));
  addr_text(u, t, sizeof t);
  printf("udp6 local after connect to a v4-mapped address: %s\n", t);
  close(u);
  // Bound to loopback explicitly: connect does not change it.
  u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in lo = { .sin_family = AF_INET };
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  R(bind(u, (struct sockaddr *)&lo, sizeof lo));
  R(connect(u, (struct sockaddr *)&a, sizeof a));
  addr_text(u, t, sizeof t);
  printf("bound udp4 local after connect: %s\n", t);
  close(u);
}

int t_sockedge(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return 2;
  signal(SIGPIPE, SIG_IGN);
  unix_names(argv[1]);
  cmsg_flags();
  splices();
  resets();
  tcp_misc();
  udp_connect();
  return 0;
}
