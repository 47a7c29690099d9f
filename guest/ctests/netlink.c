// AF_NETLINK / NETLINK_ROUTE: socket types and protocols, bind and port ids, getsockname, the
// RTM_GETLINK and RTM_GETADDR dumps read with recv/recvfrom/recvmsg/read (MSG_PEEK, MSG_TRUNC,
// a too small buffer), a single RTM_GETLINK by index and by name with NLM_F_ACK, poll, options,
// getifaddrs agreeing with the raw dumps. Only what every Linux host shows is printed: lo with
// index 1, its flags, MTU 65536, 127.0.0.1/8 scope host; the rest is printed as agreement checks.
// `ctest netlinklinux` (not a case: the reference QEMU runs as root here, and QEMU 7.2 rejects
// some malformed messages itself) prints the answers an unprivileged user gets for route changes,
// other ports and malformed messages; test/user-netlink.test.ts checks them against Linux's rules.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "ctest.h"

#define R(expr) do { long r_ = (long)(expr); printf("%-60s = %ld%s%s\n", #expr, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)
#define YES(cond) printf("%-60s : %s\n", #cond, (cond) ? "yes" : "no")

static char buf[65536];

static int nl_open(unsigned *pid) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct sockaddr_nl a = { .nl_family = AF_NETLINK };
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) return -1;
  struct timeval tv = { 5, 0 };
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  socklen_t l = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &l);
  *pid = a.nl_pid;
  return s;
}

/** Sends a request: header + `len` bytes of body. */
static long nl_send(int s, int type, int flags, unsigned seq, const void *body, size_t len) {
  char m[512] = { 0 };
  struct nlmsghdr *h = (struct nlmsghdr *)m;
  h->nlmsg_len = NLMSG_LENGTH(len);
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  h->nlmsg_seq = seq;
  memcpy(NLMSG_DATA(h), body, len);
  struct sockaddr_nl k = { .nl_family = AF_NETLINK };
  return sendto(s, m, h->nlmsg_len, 0, (struct sockaddr *)&k, sizeof k);
}

struct link { int index; unsigned flags, type, mtu; char name[IFNAMSIZ]; };
struct addr4 { int index; unsigned char prefix, scope; unsigned char a[4]; int local; char label[IFNAMSIZ]; };
static struct link links[256];
static struct addr4 addrs[256];
static int nlinks, naddrs;

/** Reads a whole dump (seq, port pid): checks every header, collects links and IPv4 addresses.
 *  Returns the number of messages, or -1 on a bad message. */
static int nl_dump(int s, unsigned seq, unsigned pid, int *done_err, int *datagrams) {
  int n = 0;
  *datagrams = 0;
  for (;;) {
    struct sockaddr_nl from;
    socklen_t fl = sizeof from;
    long r = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (r < 0 || fl != sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0) return -1;
    (*datagrams)++;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, r); h = NLMSG_NEXT(h, r)) {
      if (h->nlmsg_seq != seq || h->nlmsg_pid != pid || !(h->nlmsg_flags & NLM_F_MULTI)) return -1;
      if (h->nlmsg_type == NLMSG_DONE) {
        *done_err = *(int *)NLMSG_DATA(h);
        return n;
      }
      n++;
      if (h->nlmsg_type == RTM_NEWLINK && nlinks < 256) {
        struct ifinfomsg *ifi = NLMSG_DATA(h);
        struct link *l = &links[nlinks++];
        memset(l, 0, sizeof *l);
        l->index = ifi->ifi_index;
        l->flags = ifi->ifi_flags;
        l->type = ifi->ifi_type;
        int al = IFLA_PAYLOAD(h);
        for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, al); a = RTA_NEXT(a, al)) {
          if (a->rta_type == IFLA_IFNAME) snprintf(l->name, sizeof l->name, "%s", (char *)RTA_DATA(a));
          if (a->rta_type == IFLA_MTU) l->mtu = *(unsigned *)RTA_DATA(a);
        }
      } else if (h->nlmsg_type == RTM_NEWADDR && naddrs < 256) {
        struct ifaddrmsg *ifa = NLMSG_DATA(h);
        if (ifa->ifa_family != AF_INET) continue;
        struct addr4 *x = &addrs[naddrs++];
        memset(x, 0, sizeof *x);
        x->index = ifa->ifa_index;
        x->prefix = ifa->ifa_prefixlen;
        x->scope = ifa->ifa_scope;
        int al = IFA_PAYLOAD(h);
        for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, al); a = RTA_NEXT(a, al)) {
          if (a->rta_type == IFA_ADDRESS) memcpy(x->a, RTA_DATA(a), 4);
          if (a->rta_type == IFA_LOCAL) x->local = 1;
          if (a->rta_type == IFA_LABEL) snprintf(x->label, sizeof x->label, "%s", (char *)RTA_DATA(a));
        }
      } else return -1;
    }
  }
}

static void sockets_and_names(void) {
  printf("-- sockets and port ids\n");
  R(socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE));
  R(socket(AF_NETLINK, SOCK_RAW, 40));
  R(socket(AF_NETLINK, SOCK_RAW, -1));
  int sv[2];
  R(socketpair(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, sv));
  int d = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
  YES(d >= 0);
  struct sockaddr_nl a;
  socklen_t l = sizeof a;
  memset(&a, 0xff, sizeof a);
  R(getsockname(d, (struct sockaddr *)&a, &l));
  printf("unbound: len %u family %u pid %u groups %u\n", l, a.nl_family, a.nl_pid, a.nl_groups);
  int v = 0;
  socklen_t vl = sizeof v;
  R(getsockopt(d, SOL_SOCKET, SO_TYPE, &v, &vl));
  printf("SO_TYPE %d\n", v);
  R(getsockopt(d, SOL_SOCKET, SO_PROTOCOL, &v, &vl));
  printf("SO_PROTOCOL %d\n", v);
  R(getsockopt(d, SOL_SOCKET, SO_DOMAIN, &v, &vl));
  printf("SO_DOMAIN %d\n", v);
  struct sockaddr_nl b = { .nl_family = AF_NETLINK };
  R(bind(d, (struct sockaddr *)&b, 8));
  b.nl_family = AF_INET;
  R(bind(d, (struct sockaddr *)&b, sizeof b));
  b.nl_family = AF_NETLINK;
  R(bind(d, (struct sockaddr *)&b, sizeof b));
  l = sizeof a;
  R(getsockname(d, (struct sockaddr *)&a, &l));
  YES(a.nl_pid == (unsigned)getpid());
  unsigned first = a.nl_pid;
  b.nl_pid = first + 1;
  R(bind(d, (struct sockaddr *)&b, sizeof b));
  b.nl_pid = first;
  R(bind(d, (struct sockaddr *)&b, sizeof b));
  int e = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  R(bind(e, (struct sockaddr *)&b, sizeof b));
  b.nl_pid = 0;
  R(bind(e, (struct sockaddr *)&b, sizeof b));
  l = sizeof a;
  getsockname(e, (struct sockaddr *)&a, &l);
  YES((int)a.nl_pid < 0);
  YES(a.nl_pid != first);
  struct sockaddr_nl p;
  l = sizeof p;
  memset(&p, 0xff, sizeof p);
  R(getpeername(e, (struct sockaddr *)&p, &l));
  printf("peer: len %u family %u pid %u groups %u\n", l, p.nl_family, p.nl_pid, p.nl_groups);
  close(e);
  // A port id freed by close can be bound again.
  e = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  b.nl_pid = first;
  close(d);
  R(bind(e, (struct sockaddr *)&b, sizeof b));
  close(e);
  // An unbound socket gets its port id at its first send.
  e = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
  R(nl_send(e, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 9, &g, sizeof g));
  l = sizeof a;
  getsockname(e, (struct sockaddr *)&a, &l);
  YES(a.nl_pid == (unsigned)getpid());
  struct pollfd pf = { .fd = e, .events = POLLIN | POLLOUT };
  R(poll(&pf, 1, 1000));
  printf("revents %#x\n", pf.revents);
  close(e);
}

static void dumps(void) {
  printf("-- dumps\n");
  unsigned pid;
  int s = nl_open(&pid);
  YES(s >= 0);
  struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
  struct pollfd pf = { .fd = s, .events = POLLIN };
  R(poll(&pf, 1, 0));
  R(nl_send(s, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 100, &g, sizeof g));
  R(poll(&pf, 1, 1000));
  int done = -1, dg;
  int n = nl_dump(s, 100, pid, &done, &dg);
  YES(n >= 1 && n == nlinks);
  printf("done error %d\n", done);
  struct link *lo = NULL;
  for (int i = 0; i < nlinks; i++) if (strcmp(links[i].name, "lo") == 0) lo = &links[i];
  YES(lo != NULL);
  if (lo) printf("lo: index %d type %u mtu %u flags up %d loopback %d running %d\n", lo->index, lo->type, lo->mtu,
                 !!(lo->flags & IFF_UP), !!(lo->flags & IFF_LOOPBACK), !!(lo->flags & IFF_RUNNING));
  int ascending = 1;
  for (int i = 1; i < nlinks; i++) if (links[i].index <= links[i - 1].index) ascending = 0;
  YES(ascending);
  // Every link's index and name agree with if_nametoindex / if_indextoname.
  int agree = 1;
  for (int i = 0; i < nlinks; i++) {
    char nm[IF_NAMESIZE];
    if (!if_indextoname(links[i].index, nm) || strcmp(nm, links[i].name)) agree = 0;
  }
  YES(agree);
  R(poll(&pf, 1, 0));

  // Addresses: IPv4 only, then IPv6 only, then both (IPv4 first).
  struct ifaddrmsg am = { .ifa_family = AF_INET };
  R(nl_send(s, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 101, &am, sizeof am));
  n = nl_dump(s, 101, pid, &done, &dg);
  YES(n >= 1 && n == naddrs);
  struct addr4 *a127 = NULL;
  for (int i = 0; i < naddrs; i++) if (addrs[i].a[0] == 127 && addrs[i].a[3] == 1) a127 = &addrs[i];
  YES(a127 != NULL);
  if (a127) printf("127.0.0.1: index %d prefix %u scope %u local %d label %s\n", a127->index, a127->prefix, a127->scope, a127->local, a127->label);
  int v4 = naddrs;
  g.rtgen_family = AF_INET6;
  R(nl_send(s, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 102, &g, sizeof g));
  naddrs = 0;
  n = nl_dump(s, 102, pid, &done, &dg);
  YES(n >= 0 && naddrs == 0);
  int v6 = n;
  g.rtgen_family = AF_UNSPEC;
  R(nl_send(s, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 103, &g, sizeof g));
  naddrs = 0;
  n = nl_dump(s, 103, pid, &done, &dg);
  YES(n == v4 + v6 && naddrs == v4);

  // getifaddrs: the same links (AF_PACKET entries) and IPv4 addresses.
  struct ifaddrs *ifa;
  R(getifaddrs(&ifa));
  int packets = 0, inet = 0, same = 1;
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_PACKET) {
      packets++;
      int found = 0;
      for (int k = 0; k < nlinks; k++) if (!strcmp(links[k].name, i->ifa_name) && links[k].flags == i->ifa_flags) found = 1;
      same &= found;
    } else if (i->ifa_addr->sa_family == AF_INET) {
      inet++;
      struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;
      int found = 0;
      for (int k = 0; k < naddrs; k++) if (!memcmp(addrs[k].a, &sin->sin_addr, 4) && !strcmp(addrs[k].label, i->ifa_name)) found = 1;
      same &= found;
      if (!strcmp(i->ifa_name, "lo")) {
        struct sockaddr_in *m = (struct sockaddr_in *)i->ifa_netmask;
        printf("getifaddrs lo: %08x/%08x flags up %d loopback %d\n", ntohl(sin->sin_addr.s_addr), ntohl(m->sin_addr.s_addr),
               !!(i->ifa_flags & IFF_UP), !!(i->ifa_flags & IFF_LOOPBACK));
      }
    }
  }
  YES(packets == nlinks && inet == v4 && same);
  freeifaddrs(ifa);
  close(s);
}

/** One datagram: its first message's type, flags, seq and (for an error) the error. */
static void show(const char *what, long r) {
  if (r < 0) {
    printf("%s: %ld %s\n", what, r, strerrorname_np(errno));
    return;
  }
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  printf("%s: type %u flags %#x seq %u", what, h->nlmsg_type, h->nlmsg_flags, h->nlmsg_seq);
  if (h->nlmsg_type == NLMSG_ERROR) {
    struct nlmsgerr *e = NLMSG_DATA(h);
    printf(" (%ld bytes) error %d (len %u) for type %u seq %u", r, e->error, h->nlmsg_len, e->msg.nlmsg_type, e->msg.nlmsg_seq);
  } else if (h->nlmsg_type == RTM_NEWLINK) {
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    printf(" index %d", ifi->ifi_index);
  }
  printf("\n");
}

static void requests(void) {
  printf("-- single requests\n");
  unsigned pid;
  int s = nl_open(&pid);
  struct { struct ifinfomsg i; struct rtattr a; char name[8]; } q = { .i = { .ifi_index = 1 } };
  R(nl_send(s, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 200, &q.i, sizeof q.i));
  show("by index", recv(s, buf, sizeof buf, 0));
  show("ack", recv(s, buf, sizeof buf, 0));
  q.i.ifi_index = 0;
  q.a.rta_type = IFLA_IFNAME;
  q.a.rta_len = RTA_LENGTH(3);
  strcpy(q.name, "lo");
  R(nl_send(s, RTM_GETLINK, NLM_F_REQUEST, 201, &q, NLMSG_ALIGN(sizeof q.i) + RTA_SPACE(3)));
  show("by name", recv(s, buf, sizeof buf, 0));
  strcpy(q.name, "no@if");
  q.a.rta_len = RTA_LENGTH(6);
  R(nl_send(s, RTM_GETLINK, NLM_F_REQUEST, 202, &q, NLMSG_ALIGN(sizeof q.i) + RTA_SPACE(6)));
  show("unknown name", recv(s, buf, sizeof buf, 0));
  q.i.ifi_index = 0x7ffffff0;
  R(nl_send(s, RTM_GETLINK, NLM_F_REQUEST, 203, &q.i, sizeof q.i));
  show("unknown index", recv(s, buf, sizeof buf, 0));
  q.i.ifi_index = 0;
  R(nl_send(s, RTM_GETLINK, NLM_F_REQUEST, 204, &q.i, sizeof q.i));
  show("no index or name", recv(s, buf, sizeof buf, 0));
  R(nl_send(s, RTM_GETLINK, NLM_F_REQUEST, 205, &q.i, 4));
  show("short ifinfomsg", recv(s, buf, sizeof buf, 0));
  // Not a request, or a control message: an ACK only when asked for.
  R(nl_send(s, RTM_GETLINK, NLM_F_ACK, 206, &q.i, sizeof q.i));
  show("no NLM_F_REQUEST", recv(s, buf, sizeof buf, 0));
  R(nl_send(s, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 207, NULL, 0));
  show("NLMSG_NOOP", recv(s, buf, sizeof buf, 0));
  R(nl_send(s, NLMSG_NOOP, NLM_F_REQUEST, 208, NULL, 0));
  R(recv(s, buf, sizeof buf, MSG_DONTWAIT));

  printf("-- receiving\n");
  q.i.ifi_index = 1;
  R(nl_send(s, RTM_GETLINK, NLM_F_REQUEST, 210, &q.i, sizeof q.i));
  long full = recv(s, buf, sizeof buf, MSG_PEEK | MSG_TRUNC);
  YES(full > 16);
  R(recv(s, buf, 8, MSG_PEEK | MSG_TRUNC) == full);
  struct iovec iov = { buf, 16 };
  struct sockaddr_nl from;
  struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
  R(recvmsg(s, &mh, MSG_PEEK));
  printf("msg_flags %#x namelen %u from pid %u\n", mh.msg_flags, mh.msg_namelen, from.nl_pid);
  R(read(s, buf, 16));
  R(recv(s, buf, sizeof buf, MSG_DONTWAIT));
  R(nl_send(s, RTM_GETLINK, NLM_F_REQUEST, 211, &q.i, sizeof q.i));
  R(write(s, buf, 0));
  R(recv(s, buf, sizeof buf, MSG_DONTWAIT) == full);
  // Two requests in one send: two replies.
  char two[2 * NLMSG_SPACE(sizeof(struct ifinfomsg))] = { 0 };
  for (int i = 0; i < 2; i++) {
    struct nlmsghdr *h = (struct nlmsghdr *)(two + i * NLMSG_SPACE(sizeof(struct ifinfomsg)));
    h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    h->nlmsg_type = RTM_GETLINK;
    h->nlmsg_flags = NLM_F_REQUEST;
    h->nlmsg_seq = 220 + i;
    ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index = 1;
  }
  R(send(s, two, sizeof two, 0));
  show("first of two", recv(s, buf, sizeof buf, 0));
  show("second of two", recv(s, buf, sizeof buf, 0));
  R(recv(s, buf, sizeof buf, MSG_DONTWAIT));

  printf("-- options\n");
  int v = 1;
  socklen_t vl = sizeof v;
  R(setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &v, sizeof v));
  R(getsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &v, &vl));
  printf("NETLINK_CAP_ACK %d\n", v);
  v = 0;
  R(setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &v, sizeof v));
  R(setsockopt(s, SOL_NETLINK, 999, &v, sizeof v));
  R(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &(int){ 65536 }, sizeof(int)));
  v = 1;
  R(setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &(int){ RTNLGRP_LINK }, sizeof(int)));
  R(setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &(int){ 0 }, sizeof(int)));
  struct sockaddr_nl a;
  socklen_t l = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &l);
  printf("groups %#x\n", a.nl_groups);
  R(setsockopt(s, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &(int){ RTNLGRP_LINK }, sizeof(int)));
  l = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &l);
  printf("groups %#x\n", a.nl_groups);
  int nv = 0;
  R(ioctl(s, FIONREAD, &nv));
  R(shutdown(s, SHUT_RDWR));
  R(listen(s, 1));
  close(s);
}

int t_netlink(int argc, char **argv) {
  (void)argc;
  (void)argv;
  setvbuf(stdout, NULL, _IOLBF, 0);
  sockets_and_names();
  dumps();
  requests();
  return 0;
}

/** What an unprivileged user gets from Linux for changes, other destinations and malformed
 *  messages (one line each). */
int t_netlinklinux(int argc, char **argv) {
  (void)argc;
  (void)argv;
  setvbuf(stdout, NULL, _IOLBF, 0);
  unsigned pid;
  int s = nl_open(&pid);
  struct ifinfomsg i = { .ifi_index = 1 };
  R(nl_send(s, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, &i, sizeof i));
  show("RTM_NEWLINK", recv(s, buf, sizeof buf, 0));
  R(nl_send(s, RTM_DELADDR, NLM_F_REQUEST, 2, &i, 8));
  show("RTM_DELADDR", recv(s, buf, sizeof buf, 0));
  R(nl_send(s, 1000, NLM_F_REQUEST, 3, &i, sizeof i));
  show("type 1000", recv(s, buf, sizeof buf, 0));
  int v = 1;
  R(setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &v, sizeof v));
  R(nl_send(s, RTM_SETLINK, NLM_F_REQUEST, 4, &i, sizeof i));
  show("RTM_SETLINK capped", recv(s, buf, sizeof buf, 0));
  struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = 4242 };
  R(sendto(s, buf, 16, 0, (struct sockaddr *)&to, sizeof to));
  to.nl_pid = 0;
  to.nl_groups = 1;
  R(sendto(s, buf, 16, 0, (struct sockaddr *)&to, sizeof to));
  R(connect(s, (struct sockaddr *)&to, sizeof to));
  R(sendto(s, buf, 16, 0, (struct sockaddr *)&to, 6));
  R(sendto(s, buf, 16, 0, (struct sockaddr *)8, sizeof to));
  R(send(s, (void *)8, 16, 0));
  R(nl_send(s, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 5, NULL, 0));
  R(recv(s, (void *)8, 16, 0));
  recv(s, buf, sizeof buf, MSG_DONTWAIT);
  // Malformed headers end the buffer without a reply.
  struct nlmsghdr h = { .nlmsg_len = 8, .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK };
  R(send(s, &h, sizeof h, 0));
  h.nlmsg_len = 0xfffffff0;
  R(send(s, &h, sizeof h, 0));
  R(send(s, &h, 10, 0));
  R(recv(s, buf, sizeof buf, MSG_DONTWAIT));
  static char big[300000];
  R(send(s, big, sizeof big, 0));
  close(s);
  return 0;
}

/** `ctest netlinkshow` (rvisor only: the host's interfaces): every link and address of the
 *  RTM_GETLINK and RTM_GETADDR dumps, one line each, for test/user-netlink.test.ts to compare
 *  with the host's own view. */
int t_netlinkshow(int argc, char **argv) {
  (void)argc;
  (void)argv;
  unsigned pid;
  int s = nl_open(&pid);
  struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
  for (int type = RTM_GETLINK; type <= RTM_GETADDR; type += RTM_GETADDR - RTM_GETLINK) {
    if (nl_send(s, type, NLM_F_REQUEST | NLM_F_DUMP, type, &g, sizeof g) < 0) return 1;
    for (int done = 0; !done;) {
      long r = recv(s, buf, sizeof buf, 0);
      if (r <= 0) return 1;
      for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, r); h = NLMSG_NEXT(h, r)) {
        if (h->nlmsg_type == NLMSG_DONE) done = 1;
        else if (h->nlmsg_type == RTM_NEWLINK) {
          struct ifinfomsg *ifi = NLMSG_DATA(h);
          printf("link %d", ifi->ifi_index);
          int al = IFLA_PAYLOAD(h);
          for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, al); a = RTA_NEXT(a, al)) {
            if (a->rta_type == IFLA_IFNAME) printf(" %s", (char *)RTA_DATA(a));
            if (a->rta_type == IFLA_MTU) printf(" mtu %u", *(unsigned *)RTA_DATA(a));
            if (a->rta_type == IFLA_ADDRESS) {
              printf(" addr ");
              for (unsigned i = 0; i < RTA_PAYLOAD(a); i++) printf("%s%02x", i ? ":" : "", ((unsigned char *)RTA_DATA(a))[i]);
            }
          }
          printf(" type %u flags %#x\n", ifi->ifi_type, ifi->ifi_flags);
        } else if (h->nlmsg_type == RTM_NEWADDR) {
          struct ifaddrmsg *ifa = NLMSG_DATA(h);
          int al = IFA_PAYLOAD(h);
          for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, al); a = RTA_NEXT(a, al)) {
            if (a->rta_type != IFA_ADDRESS) continue;
            char txt[64];
            inet_ntop(ifa->ifa_family, RTA_DATA(a), txt, sizeof txt);
            printf("addr %u %s %s/%u scope %u\n", ifa->ifa_index, ifa->ifa_family == AF_INET ? "inet" : "inet6", txt, ifa->ifa_prefixlen, ifa->ifa_scope);
          }
        } else return 1;
      }
    }
  }
  return 0;
}

#ifdef NATIVE_MAIN
const char *ctest_argv0;
int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "linux")) return t_netlinklinux(argc, argv);
  return argc > 1 && !strcmp(argv[1], "show") ? t_netlinkshow(argc, argv) : t_netlink(argc, argv);
}
#endif
