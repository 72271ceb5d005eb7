/*
 * nfq-delay: hold packets from an NFQUEUE for a delay (+ uniform jitter), then accept them.
 * The quicmesh lab's stand-in for `tc netem delay` on kernels without sch_netem.
 * Usage: nfq-delay -q QUEUE -d DELAY_US [-j JITTER_US] [-s SEED]
 * Prints "ready" on stdout once bound to the queue (then closes stdout); messages go to stderr.
 * Packets are verdicted by id when due; a min-heap keeps release times. Runs until SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <libnfnetlink/libnfnetlink.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

struct held { uint64_t due_ns; uint32_t id; };

static struct held *heap;
static size_t heap_len, heap_cap;
static uint64_t delay_ns, jitter_ns;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: jitter only needs to be cheap and seedable */
static uint64_t next_rand(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}

static void heap_push(struct held h) {
  if (heap_len == heap_cap) {
    heap_cap = heap_cap ? heap_cap * 2 : 1024;
    heap = realloc(heap, heap_cap * sizeof *heap);
    if (!heap) { perror("realloc"); exit(1); }
  }
  size_t i = heap_len++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (heap[p].due_ns <= h.due_ns) break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = h;
}

static struct held heap_pop(void) {
  struct held top = heap[0], last = heap[--heap_len];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= heap_len) break;
    if (c + 1 < heap_len && heap[c + 1].due_ns < heap[c].due_ns) c++;
    if (last.due_ns <= heap[c].due_ns) break;
    heap[i] = heap[c];
    i = c;
  }
  if (heap_len) heap[i] = last;
  return top;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
  (void)qh; (void)msg; (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint64_t d = delay_ns;
  if (jitter_ns) {
    /* uniform in [-jitter, +jitter], never below zero */
    int64_t j = (int64_t)(next_rand() % (2 * jitter_ns + 1)) - (int64_t)jitter_ns;
    d = (int64_t)d + j < 0 ? 0 : (uint64_t)((int64_t)d + j);
  }
  heap_push((struct held){ now_ns() + d, ntohl(ph->packet_id) });
  return 0;
}

static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  int qnum = -1, opt;
  while ((opt = getopt(argc, argv, "q:d:j:s:")) != -1) {
    switch (opt) {
      case 'q': qnum = atoi(optarg); break;
      case 'd': delay_ns = strtoull(optarg, NULL, 10) * 1000ULL; break;
      case 'j': jitter_ns = strtoull(optarg, NULL, 10) * 1000ULL; break;
      case 's': rng_state = strtoull(optarg, NULL, 10) | 1ULL; break;
      default:
        fprintf(stderr, "usage: %s -q QUEUE -d DELAY_US [-j JITTER_US] [-s SEED]\n", argv[0]);
        return 2;
    }
  }
  if (qnum < 0 || qnum > 65535) { fprintf(stderr, "nfq-delay: -q QUEUE (0..65535) is required\n"); return 2; }
  if (jitter_ns > delay_ns) jitter_ns = delay_ns;

  struct nfq_handle *h = nfq_open();
  if (!h) { perror("nfq_open"); return 1; }
  struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)qnum, on_packet, NULL);
  if (!qh) { perror("nfq_create_queue"); return 1; }
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) { perror("nfq_set_mode"); return 1; }
  nfq_set_queue_maxlen(qh, 20000);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 8 * 1024 * 1024);
  int fd = nfq_fd(h);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  fprintf(stderr, "nfq-delay: queue %d, delay %llu us, jitter %llu us\n", qnum,
          (unsigned long long)(delay_ns / 1000), (unsigned long long)(jitter_ns / 1000));

  /* tell the lab we are bound, then let go of stdout so it can close its end of the pipe */
  signal(SIGPIPE, SIG_IGN);
  fputs("ready\n", stdout);
  fflush(stdout);
  fclose(stdout);

  char buf[65536] __attribute__((aligned));
  while (!stop) {
    uint64_t now = now_ns();
    while (heap_len && heap[0].due_ns <= now) {
      struct held p = heap_pop();
      nfq_set_verdict(qh, p.id, NF_ACCEPT, 0, NULL);
    }
    struct timespec ts, *tsp = NULL;
    if (heap_len) {
      uint64_t wait = heap[0].due_ns - now;
      ts.tv_sec = (time_t)(wait / 1000000000ULL);
      ts.tv_nsec = (long)(wait % 1000000000ULL);
      tsp = &ts;
    }
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int r = ppoll(&pfd, 1, tsp, NULL);
    if (r < 0) { if (errno == EINTR) continue; perror("ppoll"); break; }
    if (r > 0) {
      for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
          if (errno == ENOBUFS) continue; /* kernel dropped some: keep serving */
          break;
        }
        nfq_handle_packet(h, buf, (int)n);
      }
    }
  }
  /* release what we hold so no flow stalls on exit */
  while (heap_len) nfq_set_verdict(qh, heap_pop().id, NF_ACCEPT, 0, NULL);
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
