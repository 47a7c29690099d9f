// Raw IP sockets (raw(7)) as root: an ICMP echo to 127.0.0.1 comes back with its IPv4 header
// (version, protocol, addresses), the sender's address without a port, getsockname's port is the
// protocol number, bind to an address that is not local fails, a connected raw socket sends
// without an address and getpeername shows the peer, poll sees the reply, MSG_PEEK keeps it,
// IP_HDRINCL and ICMP6_FILTER-level options reach the socket, ICMPv6 echo to ::1; and, after
// dropping to uid 65534, socket(SOCK_RAW) is EPERM. Only fields that do not vary are printed
// (no IP ids, checksums or times).
#define _GNU_SOURCE
#include "ctest.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerror(errno) : "ok"; }

static unsigned short csum(const unsigned char *p, size_t n) {
  unsigned long s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  if (n & 1) s += p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (unsigned short)~s;
}

/** An ICMP echo request (type 8) with id, seq and a payload. */
static size_t echo(unsigned char *b, int type, int id, int seq) {
  memset(b, 0, 24);
  b[0] = type;
  b[4] = id >> 8; b[5] = id & 0xff; b[6] = seq >> 8; b[7] = seq & 0xff;
  memcpy(b + 8, "rvisor raw test!", 16);
  if (type == 8) { unsigned short c = csum(b, 24); b[2] = c >> 8; b[3] = c & 0xff; }
  return 24;
}

/** Reads until an ICMP echo reply with `id` arrives (other ICMP traffic on lo is skipped). */
static void reply4(int s, int id) {
  unsigned char b[256];
  for (int i = 0; i < 50; i++) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) { printf("recvfrom: %s\n", strerror(errno)); return; }
    int ihl = (b[0] & 15) * 4;
    if (n < ihl + 8 || b[ihl] != 0 || ((b[ihl + 4] << 8) | b[ihl + 5]) != id) continue;
    char src[16], dst[16];
    inet_ntop(AF_INET, b + 12, src, sizeof src);
    inet_ntop(AF_INET, b + 16, dst, sizeof dst);
    printf("reply: %zd bytes, IPv%d ihl %d proto %d %s -> %s, icmp type %d seq %d payload \"%.16s\"; from %s port %d len %u\n",
           n, b[0] >> 4, ihl, b[9], src, dst, b[ihl], (b[ihl + 6] << 8) | b[ihl + 7], (char *)b + ihl + 8,
           inet_ntoa(from.sin_addr), ntohs(from.sin_port), fl);
    return;
  }
  printf("no reply\n");
}

static void v4(void) {
  int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  printf("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): %s\n", err(s));
  if (s < 0) return;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1234)};
  inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
  printf("bind 192.0.2.1: %s\n", err(bind(s, (struct sockaddr *)&a, sizeof a)));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  printf("bind 127.0.0.1: %s\n", err(bind(s, (struct sockaddr *)&a, sizeof a)));
  struct sockaddr_in me;
  socklen_t ml = sizeof me;
  getsockname(s, (struct sockaddr *)&me, &ml);
  printf("getsockname: %s port %d\n", inet_ntoa(me.sin_addr), ntohs(me.sin_port));
  printf("getpeername before connect: %s\n", err(getpeername(s, (struct sockaddr *)&me, &ml)));
  unsigned char b[64];
  size_t n = echo(b, 8, 0x5157, 1);
  printf("send without an address: %s\n", err(send(s, b, n, 0)));
  printf("sendto: %zd\n", sendto(s, b, n, 0, (struct sockaddr *)&a, sizeof a));
  struct pollfd pf = {s, POLLIN, 0};
  printf("poll: %d revents %#x\n", poll(&pf, 1, 5000), pf.revents);
  char peek[8];
  printf("MSG_PEEK: %zd\n", recv(s, peek, sizeof peek, MSG_PEEK));
  reply4(s, 0x5157);
  a.sin_port = htons(7);
  printf("connect: %s\n", err(connect(s, (struct sockaddr *)&a, sizeof a)));
  struct sockaddr_in peer;
  socklen_t pl = sizeof peer;
  getpeername(s, (struct sockaddr *)&peer, &pl);
  printf("getpeername: %s port %d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
  n = echo(b, 8, 0x5157, 2);
  printf("send: %zd\n", send(s, b, n, 0));
  reply4(s, 0x5157);
  int one = 1, v = -1;
  socklen_t vl = sizeof v;
  printf("IP_HDRINCL set: %s\n", err(setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof one)));
  getsockopt(s, IPPROTO_IP, IP_HDRINCL, &v, &vl);
  printf("IP_HDRINCL: %d\n", v);
  close(s);
  s = socket(AF_INET, SOCK_RAW, 0);
  printf("socket(AF_INET, SOCK_RAW, 0): %s\n", err(s));
  if (s >= 0) close(s);
}

static void v6(void) {
  int s = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  printf("socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6): %s\n", err(s));
  if (s < 0) return;
  struct icmp6_filter f;
  ICMP6_FILTER_SETBLOCKALL(&f);
  ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
  printf("ICMP6_FILTER: %s\n", err(setsockopt(s, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f)));
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  unsigned char b[64];
  size_t n = echo(b, 128, 0x5158, 1);
  printf("sendto ::1: %zd\n", sendto(s, b, n, 0, (struct sockaddr *)&a, sizeof a));
  for (int i = 0; i < 50; i++) {
    struct sockaddr_in6 from;
    socklen_t fl = sizeof from;
    ssize_t r = recvfrom(s, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
    if (r < 0) { printf("recvfrom: %s\n", strerror(errno)); break; }
    if (r < 8 || ((b[4] << 8) | b[5]) != 0x5158) continue;
    char src[64];
    inet_ntop(AF_INET6, &from.sin6_addr, src, sizeof src);
    printf("reply: %zd bytes, icmp6 type %d seq %d payload \"%.16s\"; from %s port %d\n", r, b[0], (b[6] << 8) | b[7], (char *)b + 8, src, ntohs(from.sin6_port));
    break;
  }
  close(s);
}

int t_rawsock(int argc, char **argv) {
  (void)argc; (void)argv;
  if (getuid() != 0) { printf("run as root\n"); return 0; }
  v4();
  v6();
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    if (setgid(65534) || setuid(65534)) _exit(3);
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    printf("as uid 65534: %s\n", err(s));
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  return 0;
}
