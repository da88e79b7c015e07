// Evenly paced small TCP connections as Ethernet frames on an interface (AF_PACKET).
// usage: inject IFACE PPS SECONDS  -- prints frames sent.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { PKTS = 9, SPREAD = 50, BATCH = 25, FRAME = 14 + 20 + 20 + 40 };
static uint8_t frames[BATCH][FRAME];
static const uint32_t CADDR = 0x0a4d0001, SADDR = 0x0a4d0002; // 10.77.0.1, 10.77.0.2

static uint16_t csum(const uint8_t *p, int n, uint32_t s) {
  for (int i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  if (n & 1) s += p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

// Packet j of connection c; returns its length.
static int build(uint8_t *f, long c, int j) {
  static const int fromClient[PKTS] = {1, 0, 1, 1, 0, 0, 1, 1, 0};
  static const uint8_t flags[PKTS] = {0x02, 0x12, 0x10, 0x18, 0x18, 0x11, 0x10, 0x11, 0x10};
  static const int len[PKTS] = {0, 0, 0, 20, 40, 0, 0, 0, 0};
  uint16_t cport = 1024 + c % 60000, sport = 10000 + (c / 60000) % 50000;
  uint32_t ciss = (uint32_t)(c * 2654435761u), siss = (uint32_t)(c * 40503u + 12345);
  // seq/ack of each packet (client data 20 bytes, server data 40 bytes)
  uint32_t cseq[PKTS] = {ciss, 0, ciss + 1, ciss + 1, 0, 0, ciss + 21, ciss + 21, 0};
  uint32_t sseq[PKTS] = {0, siss, 0, 0, siss + 1, siss + 41, 0, 0, siss + 42};
  uint32_t cack[PKTS] = {0, 0, siss + 1, siss + 1, 0, 0, siss + 42, siss + 42, 0};
  uint32_t sack[PKTS] = {0, ciss + 1, 0, 0, ciss + 21, ciss + 21, 0, 0, ciss + 22};
  int fc = fromClient[j], l = len[j];
  memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
  uint8_t *ip = f + 14, *tcp = ip + 20;
  memset(ip, 0, 40);
  ip[0] = 0x45; put16(ip + 2, 40 + l); put16(ip + 4, (uint16_t)c); ip[6] = 0x40; ip[8] = 64; ip[9] = 6;
  put32(ip + 12, fc ? CADDR : SADDR); put32(ip + 16, fc ? SADDR : CADDR);
  put16(ip + 10, csum(ip, 20, 0));
  put16(tcp, fc ? cport : sport); put16(tcp + 2, fc ? sport : cport);
  put32(tcp + 4, fc ? cseq[j] : sseq[j]); put32(tcp + 8, fc ? cack[j] : sack[j]);
  tcp[12] = 5 << 4; tcp[13] = flags[j]; put16(tcp + 14, 64240);
  if (j == 0) put32(tcp + 8, 0);
  memset(tcp + 20, 'x', l);
  uint32_t ps = (CADDR >> 16) + (CADDR & 0xffff) + (SADDR >> 16) + (SADDR & 0xffff) + 6 + 20 + l;
  put16(tcp + 16, csum(tcp, 20 + l, ps));
  return 14 + 40 + l;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: inject IFACE PPS SECONDS\n"); return 2; }
  double pps = atof(argv[2]), secs = atof(argv[3]);
  int s = socket(AF_PACKET, SOCK_RAW, 0);
  struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_ifindex = if_nametoindex(argv[1]), .sll_halen = 6 };
  if (s < 0 || !a.sll_ifindex) { perror("socket/iface"); return 1; }
  int one = 1; setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  struct mmsghdr m[BATCH]; struct iovec v[BATCH];
  long total = (long)(pps * secs), slot = 0, sent = 0, conns = 0;
  long period = (long)(1e9 * BATCH / pps);
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  while (slot < total + (long)PKTS * SPREAD * PKTS) {
    int n = 0;
    while (n < BATCH) {
      long j = slot % PKTS, c = slot / PKTS - j * SPREAD;
      slot++;
      if (c < 0 || c * PKTS >= total) { if (slot >= total + (long)PKTS * SPREAD * PKTS) break; continue; }
      if (j == 0) conns++;
      int l = build(frames[n], c, (int)j);
      v[n] = (struct iovec){ frames[n], (size_t)l };
      m[n] = (struct mmsghdr){ .msg_hdr = { .msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &v[n], .msg_iovlen = 1 } };
      n++;
    }
    for (int done = 0; done < n;) { int r = sendmmsg(s, m + done, n - done, 0); if (r < 0) { perror("sendmmsg"); return 1; } done += r; }
    sent += n;
    t.tv_nsec += period; while (t.tv_nsec >= 1000000000) { t.tv_nsec -= 1000000000; t.tv_sec++; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
  }
  printf("sent %ld frames, %ld connections\n", sent, conns);
  return 0;
}
