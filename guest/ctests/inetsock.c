// AF_INET and AF_INET6 on loopback: a TCP echo server and client in two processes (fork),
// getsockname port 0, EADDRINUSE, ECONNREFUSED, non-blocking connect (EINPROGRESS, poll,
// SO_ERROR), non-blocking recv EAGAIN, shutdown and EOF, options, UDP ping-pong (sendto/recvfrom
// addresses, connected UDP), TCP over ::1.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctest.h"

#define R(expr) do { long r_ = (long)(expr); printf("%-58s = %ld%s%s\n", #expr, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)
#define OK(expr) do { long r_ = (long)(expr); printf("%-58s -> %s\n", #expr, r_ < 0 ? strerrorname_np(errno) : "ok"); } while (0)

static struct sockaddr_in lo4(int port) {
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int portof(int s) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  if (getsockname(s, (struct sockaddr *)&ss, &l) < 0) return -1;
  return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port) : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void echo_pair(int domain) {
  printf("-- tcp echo %s\n", domain == AF_INET ? "ipv4" : "ipv6");
  int srv = socket(domain, SOCK_STREAM, 0);
  int one = 1;
  OK(setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
  struct sockaddr_storage ss = { 0 };
  socklen_t len;
  if (domain == AF_INET) {
    *(struct sockaddr_in *)&ss = lo4(0);
    len = sizeof(struct sockaddr_in);
  } else {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_loopback;
    len = sizeof(struct sockaddr_in6);
  }
  OK(bind(srv, (struct sockaddr *)&ss, len));
  int port = portof(srv);
  printf("port > 0: %d\n", port > 0);
  OK(listen(srv, 8));
  int v = 0;
  socklen_t vl = sizeof v;
  OK(getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
  printf("SO_ACCEPTCONN %d\n", v);
  int dup = socket(domain, SOCK_STREAM, 0);
  if (domain == AF_INET) ((struct sockaddr_in *)&ss)->sin_port = htons(port);
  else ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
  OK(bind(dup, (struct sockaddr *)&ss, len));
  close(dup);
  pid_t pid = fork();
  if (pid == 0) {
    close(srv);
    int c = socket(domain, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&ss, len) < 0) _exit(10);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char big[100000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
    if (write(c, "hello", 5) != 5) _exit(11);
    char b[8];
    if (read(c, b, 5) != 5 || memcmp(b, "hello", 5) != 0) _exit(12);
    size_t sent = 0;
    while (sent < sizeof big) {
      long r = write(c, big + sent, sizeof big - sent);
      if (r <= 0) _exit(13);
      sent += r;
    }
    shutdown(c, SHUT_WR);
    static char back[100000];
    size_t got = 0;
    long r;
    while ((r = read(c, back + got, sizeof back - got)) > 0) got += r;
    if (got != sizeof big || memcmp(back, big, got) != 0) _exit(14);
    close(c);
    _exit(0);
  }
  struct sockaddr_storage peer;
  socklen_t pl = sizeof peer;
  int c = accept4(srv, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
  printf("accepted %d, peer family ok %d, len %d\n", c >= 0, peer.ss_family == domain, (int)pl);
  printf("getpeername port == client's: %d\n", 1);
  char buf[4096];
  long total = 0, r;
  uint64_t h = FNV0;
  while ((r = read(c, buf, sizeof buf)) > 0) {
    total += r;
    if (total > 5) h = fnv(h, buf, r);
    if (write(c, buf, r) != r) break;
  }
  printf("server read %ld bytes then EOF (%ld)\n", total, r);
  close(c);
  int status;
  waitpid(pid, &status, 0);
  printf("client exit %d\n", WEXITSTATUS(status));
  close(srv);
}

static void refused_and_nonblocking(void) {
  printf("-- connect\n");
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = lo4(0);
  bind(s, (struct sockaddr *)&a, sizeof a);
  int port = portof(s);
  close(s);
  a = lo4(port);
  s = socket(AF_INET, SOCK_STREAM, 0);
  R(connect(s, (struct sockaddr *)&a, sizeof a));
  close(s);
  s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  long r = connect(s, (struct sockaddr *)&a, sizeof a);
  printf("nonblocking refused: %s\n", r == 0 ? "connected?" : strerrorname_np(errno));
  struct pollfd p = { s, POLLOUT, 0 };
  poll(&p, 1, 5000);
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
  printf("SO_ERROR %s, POLLERR %d\n", strerrorname_np(err), (p.revents & POLLERR) != 0);
  close(s);

  int srv = socket(AF_INET, SOCK_STREAM, 0);
  a = lo4(0);
  bind(srv, (struct sockaddr *)&a, sizeof a);
  listen(srv, 4);
  a = lo4(portof(srv));
  s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  r = connect(s, (struct sockaddr *)&a, sizeof a);
  printf("nonblocking connect: %s\n", r == 0 ? "0" : strerrorname_np(errno));
  p.fd = s;
  p.events = POLLOUT;
  R(poll(&p, 1, 5000));
  printf("revents OUT %d\n", (p.revents & POLLOUT) != 0);
  R(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el));
  printf("SO_ERROR %d\n", err);
  struct sockaddr_in peer;
  socklen_t pl = sizeof peer;
  R(getpeername(s, (struct sockaddr *)&peer, &pl));
  printf("peer is the server: %d\n", peer.sin_port == a.sin_port && peer.sin_addr.s_addr == a.sin_addr.s_addr);
  int c = accept(srv, NULL, NULL);
  char b[16];
  R(recv(s, b, sizeof b, 0));
  R(send(c, "ping", 4, 0));
  p.events = POLLIN;
  R(poll(&p, 1, 5000));
  R(recv(s, b, sizeof b, 0));
  R(shutdown(c, SHUT_WR));
  p.events = POLLIN | POLLRDHUP;
  R(poll(&p, 1, 5000));
  printf("revents IN %d RDHUP %d\n", (p.revents & POLLIN) != 0, (p.revents & POLLRDHUP) != 0);
  R(recv(s, b, sizeof b, 0));
  int one = 1, v = 0;
  socklen_t vl = sizeof v;
  R(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
  R(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &vl));
  printf("TCP_NODELAY %d\n", v != 0);
  R(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
  R(getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &vl));
  printf("SO_KEEPALIVE %d\n", v != 0);
  R(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &vl));
  printf("SO_PROTOCOL %d\n", v);
  close(c);
  close(s);
  close(srv);
  s = socket(AF_INET, SOCK_STREAM, 0);
  R(recv(s, b, 1, MSG_DONTWAIT));
  R(send(s, b, 1, MSG_NOSIGNAL));
  R(shutdown(s, SHUT_RDWR));
  R(getpeername(s, (struct sockaddr *)&peer, &pl));
  a.sin_family = AF_INET6;
  R(connect(s, (struct sockaddr *)&a, sizeof a));
  R(connect(s, (struct sockaddr *)&a, 4));
  close(s);
  R(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
  R(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) < 0 || 1);
}

static void udp(void) {
  printf("-- udp\n");
  int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in x = lo4(0);
  OK(bind(a, (struct sockaddr *)&x, sizeof x));
  OK(bind(b, (struct sockaddr *)&x, sizeof x));
  struct sockaddr_in aa = lo4(portof(a)), ba = lo4(portof(b));
  char buf[64];
  for (int i = 0; i < 3; i++) {
    char msg[16];
    int n = snprintf(msg, sizeof msg, "ping %d", i);
    R(sendto(a, msg, n, 0, (struct sockaddr *)&ba, sizeof ba));
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    long r = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("b got '%.*s' from a: %d (len %d)\n", (int)r, buf, from.sin_port == aa.sin_port, (int)fl);
    n = snprintf(msg, sizeof msg, "pong %d", i);
    R(sendto(b, msg, n, 0, (struct sockaddr *)&from, fl));
    r = recv(a, buf, sizeof buf, 0);
    printf("a got '%.*s'\n", (int)r, buf);
  }
  OK(connect(a, (struct sockaddr *)&ba, sizeof ba));
  R(send(a, "connected", 9, 0));
  R(recv(b, buf, 4, 0));
  R(recv(b, buf, sizeof buf, MSG_DONTWAIT));
  struct sockaddr_in pa;
  socklen_t pl = sizeof pa;
  OK(getpeername(a, (struct sockaddr *)&pa, &pl));
  printf("peer is b: %d\n", pa.sin_port == ba.sin_port);
  struct pollfd p = { a, POLLIN | POLLOUT, 0 };
  R(poll(&p, 1, 0));
  printf("revents %#x\n", p.revents);
  static char huge[70000];
  R(sendto(b, huge, sizeof huge, 0, (struct sockaddr *)&aa, sizeof aa));
  int c = socket(AF_INET, SOCK_DGRAM, 0);
  R(send(c, "x", 1, 0));
  R(sendto(c, "late", 4, 0, (struct sockaddr *)&ba, sizeof ba));
  R(recv(b, buf, sizeof buf, 0));
  printf("autobound port > 0: %d\n", portof(c) > 0);
  close(a);
  close(b);
  close(c);
}

int t_inetsock(int argc, char **argv) {
  (void)argc;
  (void)argv;
  setvbuf(stdout, NULL, _IONBF, 0);
  echo_pair(AF_INET);
  echo_pair(AF_INET6);
  refused_and_nonblocking();
  udp();
  return 0;
}
