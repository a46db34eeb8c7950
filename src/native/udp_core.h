// The batched UDP socket without JavaScript: one socket read by a thread of its own with recvmmsg and written
// with sendmmsg, an answer cache for repeats, and a queue of the other queries for the main thread. udp_batch.cc
// puts it behind N-API; test/native/core_threads.cc drives it from two threads under ThreadSanitizer, as node does.
//
// The socket's thread (named rkvdns-udp) waits for datagrams, or the word to stop, and takes each recvmmsg batch
// through four stages: Receive, LookUp (repeats of a cached answer), SendRepeats, Queue (the rest, as records,
// see records.h). It wakes the main thread (`wake`) when queries wait. At most kMaxWaiting queries wait; beyond
// that a query is dropped and counted, as the kernel drops one when the socket's queue is full.
//
// Repeats: the main thread may hand an answer back with CacheAnswer() (answer_cache.h); until it ends, a datagram
// with the same bytes (its ID apart) is answered by the socket's thread and never queued, but for a refresh: the
// first repeat from the answer's refresh point on is also queued, flagged (records::kRefresh), and not counted
// here (the main thread counts it as it runs it); refreshes alone wake the main thread only after
// kRefreshGatherNs, together. Each other such answer is counted under the tally the main thread gave, in
// `cacheCounts` (read without a call: the thread stores each count whole, atomically). After CacheByClient(true) an
// answer is kept for the client it was given to only.
//
// Sending: a message the kernel refuses for itself (EMSGSIZE, EACCES, unreachable, ...) is skipped and counted by
// cause, and the rest of its batch still goes; a full send buffer (EAGAIN, ENOBUFS) is waited for briefly, then
// what is left of the batch is dropped and counted.
#pragma once

#include <sys/socket.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "answer_cache.h"

// The clock SO_TIMESTAMPNS stamps arrivals with, in nanoseconds.
inline uint64_t WallClockNs() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

// Why the kernel refused one message of a batch.
enum SendFailure : unsigned { kMsgSize, kAccess, kUnreachable, kPermission, kInvalid, kFamily, kOtherFailure, kSendFailures };
extern const char* const kSendFailureNames[kSendFailures];

struct UdpCoreOptions {
  std::string host;  // a literal address; `::` serves IPv4 clients too
  int port = 0;
  bool reusePort = false;
  std::vector<uint64_t> sojournBoundsNs;  // the sojourn histogram's upper bounds, ascending
  double* cacheCounts = nullptr;              // AnswerCache::kTallies counts, written by the socket's thread only
  std::function<void()> wake;             // called on the socket's thread: queries wait, or the thread ended
};

struct UdpCoreStats {
  uint64_t oversize, sendDropped, queueDropped, cacheRefused, cacheEvicted;
  uint64_t sendFailed[kSendFailures];
  std::vector<uint64_t> sojourn;
  double sojournSeconds;
  size_t cached;
};

class UdpCore {
 public:
  static constexpr unsigned kBatch = 64;        // datagrams per recvmmsg / sendmmsg
  static constexpr size_t kMaxQuery = 4096;     // a query datagram longer than this is dropped (and counted)
  static constexpr unsigned kMaxWaiting = 4096;  // queries queued for the main thread at most
  // How long refreshes alone wait before the main thread is woken for them, so that it takes them together (their
  // answers have been sent; only their flights' renewal waits, and a flight's prefetch point is 1-2 s before its end).
  static constexpr uint64_t kRefreshGatherNs = 50'000'000;
  static constexpr int kSendWaitMs = 5;        // a full send buffer is waited for this long per Send, at most

  // Opens and binds the socket; null on failure, with `error` ("bind: Address already in use") and `errnum` set.
  static std::unique_ptr<UdpCore> Open(UdpCoreOptions o, std::string* error, int* errnum);
  ~UdpCore();

  void Start();  // starts the socket's thread
  void Stop();   // stops it (whatever traffic arrives) and closes the socket; idempotent
  int port() const { return port_; }

  // The main thread's side.
  unsigned Take(std::vector<uint8_t>* records);  // the queries waiting, swapped into `records`; how many
  int64_t Send(const uint8_t* data, size_t size, int64_t count);  // answer records; how many left
  bool CacheAnswer(const uint8_t* client, const uint8_t* query, size_t qlen, const uint8_t* answer, size_t alen, double untilMs, double agesAtMs,
                double refreshAtMs, int64_t tally);
  void CacheByClient(bool on);
  UdpCoreStats Stats();
  int ThreadError() const { return threadError_.load(); }  // the errno that ended the socket's thread, 0 if none

 private:
  explicit UdpCore(UdpCoreOptions o) : o_(std::move(o)) {}
  struct Batch;
  void Serve();
  unsigned ReceiveBatch(Batch& b);
  unsigned Receive(Batch& b);
  unsigned LookUp(Batch& b, unsigned n);
  void Queue(Batch& b, unsigned n);
  void CountCached(unsigned tally);
  void WakeMainThread();
  unsigned SendAll(mmsghdr* msgs, unsigned n, const uint64_t* arrival);
  void CountSojourn(uint64_t arrival, uint64_t now);

  // Fixed once open.
  UdpCoreOptions o_;
  int fd_ = -1;
  int family_ = 0;
  int port_ = 0;
  int stop_ = -1;  // an eventfd: written once, it wakes the thread to stop
  std::unique_ptr<std::atomic<uint64_t>[]> sojourn_;  // answers per bound, the last beyond every bound

  // The socket's thread's own.
  std::thread io_;
  uint64_t refreshesSinceNs_ = 0;  // when refreshes alone began to wait (0: none do)

  // Shared, each under its lock or atomic.
  std::atomic<bool> stopping_{false};
  std::atomic<int> threadError_{0};
  std::mutex waitMu_;  // guards waiting_ and waitingCount_: the thread fills them, Take() swaps them out
  std::vector<uint8_t> waiting_;
  unsigned waitingCount_ = 0;
  std::mutex cacheMu_;  // guards cache_ and byClient_: the thread looks up, the main thread caches
  AnswerCache cache_;
  bool byClient_ = false;
  // Both threads send, so these counts are atomic.
  std::atomic<uint64_t> oversize_{0}, dropped_{0}, queueDropped_{0}, sojournNs_{0};
  std::atomic<uint64_t> sendFailed_[kSendFailures] = {};
};
