// See udp_core.h.
#include "udp_core.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "records.h"
#include "udp_socket.h"

namespace {

// The kernel's receive time of a datagram, from its SCM_TIMESTAMPNS control message; 0 without one.
uint64_t ArrivalNs(msghdr* h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
      timespec t;
      memcpy(&t, CMSG_DATA(c), sizeof t);
      return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
    }
  }
  return 0;
}

}  // namespace

// One recvmmsg's worth of datagrams and what the stages decide for each; the socket's thread's own.
struct UdpCore::Batch {
  std::vector<uint8_t> data = std::vector<uint8_t>(kBatch * kMaxQuery);
  std::vector<uint8_t> hitData = std::vector<uint8_t>(kBatch * AnswerCache::kMaxAnswer);  // the repeats' answers
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  sockaddr_storage from[kBatch];
  alignas(cmsghdr) uint8_t control[kBatch][CMSG_SPACE(sizeof(timespec))];
  uint64_t arrival[kBatch];
  bool answered[kBatch];  // sent from the cache (or dropped): not queued, unless a refresh
  bool refresh[kBatch];
  unsigned tally[kBatch];
  unsigned hits = 0;  // repeats to send, below
  mmsghdr hitMsgs[kBatch];
  iovec hitIov[kBatch];
  uint64_t hitArrival[kBatch];
};

std::unique_ptr<UdpCore> UdpCore::Open(UdpCoreOptions o, std::string* error, int* errnum) {
  std::unique_ptr<UdpCore> core(new UdpCore(std::move(o)));
  auto fail = [&](const std::string& what) {
    *errnum = errno;
    *error = what + ": " + strerror(errno);
    return nullptr;
  };
  std::string what;
  core->fd_ = OpenUdpSocket(core->o_.host, core->o_.port, core->o_.reusePort, &core->family_, &core->port_, &what);
  if (core->fd_ < 0) return fail(what);
  core->stop_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (core->stop_ < 0) return fail("eventfd");
  core->sojourn_ = std::make_unique<std::atomic<uint64_t>[]>(core->o_.sojournBoundsNs.size() + 1);
  return core;
}

UdpCore::~UdpCore() {
  Stop();
  if (stop_ >= 0) ::close(stop_);
}

void UdpCore::Start() {
  // The thread takes no signals: they stay with the main thread (node handles them there).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  io_ = std::thread([this] { Serve(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void UdpCore::Stop() {
  if (io_.joinable()) {
    stopping_.store(true);
    uint64_t one = 1;
    if (write(stop_, &one, sizeof one) < 0) {
      // An eventfd write fails only when its count would overflow: it has been written to already.
    }
    io_.join();
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::lock_guard<std::mutex> lock(cacheMu_);
  cache_.Clear();
}

void UdpCore::Serve() {
  pthread_setname_np(pthread_self(), "rkvdns-udp");
  auto batch = std::make_unique<Batch>();
  pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_, POLLIN, 0}};
  while (!stopping_.load(std::memory_order_relaxed)) {
    int timeoutMs = -1;
    if (refreshesSinceNs_ != 0) {
      uint64_t due = refreshesSinceNs_ + kRefreshGatherNs, now = WallClockNs();
      timeoutMs = now >= due ? 0 : static_cast<int>((due - now + 999'999) / 1'000'000);
    }
    int ready = poll(fds, 2, timeoutMs);
    if (ready < 0) {
      if (errno == EINTR) continue;
      // Only a fault of this code (EFAULT, EINVAL) or ENOMEM gets here: the main thread is told, and logs it.
      threadError_.store(errno);
      o_.wake();
      return;
    }
    if (ready > 0 && fds[1].revents != 0) return;
    // A flood keeps every batch full: the stop flag is checked between batches, so Stop() never waits on it.
    if (ready > 0 && fds[0].revents != 0)
      while (ReceiveBatch(*batch) == kBatch && !stopping_.load(std::memory_order_relaxed)) {
      }
    if (refreshesSinceNs_ != 0 && WallClockNs() >= refreshesSinceNs_ + kRefreshGatherNs) WakeMainThread();
  }
}

// One recvmmsg: repeats answered, the rest queued. Returns how many datagrams it read.
unsigned UdpCore::ReceiveBatch(Batch& b) {
  unsigned n = Receive(b);
  if (n == 0) return 0;
  b.hits = LookUp(b, n);
  // Repeats leave first: they wait for nothing.
  if (b.hits > 0) SendAll(b.hitMsgs, b.hits, b.hitArrival);
  Queue(b, n);
  return n;
}

unsigned UdpCore::Receive(Batch& b) {
  for (unsigned i = 0; i < kBatch; i++) {
    b.iov[i] = {b.data.data() + i * kMaxQuery, kMaxQuery};
    msghdr& h = b.msgs[i].msg_hdr;
    h = {};
    h.msg_name = &b.from[i];
    h.msg_namelen = sizeof b.from[i];
    h.msg_iov = &b.iov[i];
    h.msg_iovlen = 1;
    h.msg_control = b.control[i];
    h.msg_controllen = sizeof b.control[i];
    b.msgs[i].msg_len = 0;
  }
  int n = recvmmsg(fd_, b.msgs, kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;  // EAGAIN: drained; other errors (ICMP reports) are left to the next wakeup
  for (int i = 0; i < n; i++) {
    b.arrival[i] = ArrivalNs(&b.msgs[i].msg_hdr);
    b.refresh[i] = false;
    b.answered[i] = (b.msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || b.msgs[i].msg_len > kMaxQuery;
    if (b.answered[i]) oversize_++;
  }
  return static_cast<unsigned>(n);
}

// Finds the repeats among the batch's queries and writes their answers into hitData; returns how many.
unsigned UdpCore::LookUp(Batch& b, unsigned n) {
  unsigned hit = 0;
  std::lock_guard<std::mutex> lock(cacheMu_);
  if (cache_.size() == 0) return 0;
  uint64_t now = WallClockNs();
  for (unsigned i = 0; i < n; i++) {
    if (b.answered[i]) continue;
    uint8_t client[records::kClientBytes];
    if (byClient_) records::ClientBytes(b.from[i], client);
    uint8_t* out = b.hitData.data() + hit * AnswerCache::kMaxAnswer;
    size_t alen = cache_.Get({client, byClient_ ? sizeof client : 0, b.data.data() + i * kMaxQuery, b.msgs[i].msg_len}, now, out, &b.tally[i], &b.refresh[i]);
    if (alen == 0) continue;
    if (!b.refresh[i]) CountCached(b.tally[i]);
    b.hitIov[hit] = {out, alen};
    msghdr& h = b.hitMsgs[hit].msg_hdr;
    h = {};
    h.msg_name = &b.from[i];
    h.msg_namelen = b.msgs[i].msg_hdr.msg_namelen;
    h.msg_iov = &b.hitIov[hit];
    h.msg_iovlen = 1;
    b.hitArrival[hit] = b.arrival[i];
    hit++;
    b.answered[i] = true;
  }
  return hit;
}

// Queues the queries not answered, and the refreshes, for the main thread.
void UdpCore::Queue(Batch& b, unsigned n) {
  bool queued = false, refreshes = false;
  {
    std::lock_guard<std::mutex> lock(waitMu_);
    for (unsigned i = 0; i < n; i++) {
      if (b.answered[i] && !b.refresh[i]) continue;
      if (waitingCount_ >= kMaxWaiting) {
        // A refresh that cannot wait was still answered: it is counted here instead, and its flight simply ends.
        if (b.refresh[i]) CountCached(b.tally[i]);
        else queueDropped_++;
        continue;
      }
      size_t len = b.msgs[i].msg_len;
      size_t at = waiting_.size();
      waiting_.resize(at + records::kHeader + len);
      uint8_t* p = waiting_.data() + at;
      records::PutHeader(p, b.from[i], len, b.arrival[i]);
      if (b.refresh[i]) p[records::kFamily] |= records::kRefresh;
      (b.refresh[i] ? refreshes : queued) = true;
      memcpy(p + records::kHeader, b.data.data() + i * kMaxQuery, len);
      waitingCount_++;
    }
  }
  if (queued) WakeMainThread();
  else if (refreshes && refreshesSinceNs_ == 0) refreshesSinceNs_ = WallClockNs();
}

// The socket's thread is the only writer; the main thread reads the count without a call, so it is stored whole.
void UdpCore::CountCached(unsigned tally) {
  std::atomic_ref<double> count(o_.cacheCounts[tally]);
  count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Wakes the main thread, which takes every record waiting, refreshes included.
void UdpCore::WakeMainThread() {
  refreshesSinceNs_ = 0;
  o_.wake();
}

unsigned UdpCore::Take(std::vector<uint8_t>* out) {
  out->clear();  // its room is kept for the next swap
  std::lock_guard<std::mutex> lock(waitMu_);
  out->swap(waiting_);
  unsigned count = waitingCount_;
  waitingCount_ = 0;
  return count;
}

bool UdpCore::CacheAnswer(const uint8_t* client, const uint8_t* query, size_t qlen, const uint8_t* answer, size_t alen, double untilMs, double agesAtMs,
                       double refreshAtMs, int64_t tally) {
  uint64_t now = WallClockNs();
  // At most an hour ahead: a flight lasts seconds, so anything else is a mistake, not an answer to keep.
  double nowMs = static_cast<double>(now) / 1e6;
  bool sane = untilMs > nowMs && untilMs <= nowMs + 3600e3 && agesAtMs >= 0 && agesAtMs <= untilMs && refreshAtMs >= 0 && refreshAtMs <= untilMs &&
              tally >= 0;
  if (fd_ < 0) return false;
  std::lock_guard<std::mutex> lock(cacheMu_);
  AnswerCache::Key key{client, byClient_ ? records::kClientBytes : 0, query, qlen};
  // Not sane: offered as already ended, which the cache refuses (and counts), dropping what it kept for the query.
  if (!sane) return cache_.Put(key, answer, alen, now, 0, 0, 0, 0);
  return cache_.Put(key, answer, alen, now, static_cast<uint64_t>(untilMs * 1e6), static_cast<uint64_t>(agesAtMs * 1e6),
                    static_cast<uint64_t>(refreshAtMs * 1e6), static_cast<unsigned>(tally));
}

void UdpCore::CacheByClient(bool on) {
  std::lock_guard<std::mutex> lock(cacheMu_);
  byClient_ = on;
  cache_.Clear();
}

UdpCoreStats UdpCore::Stats() {
  UdpCoreStats s{};
  s.oversize = oversize_;
  s.sendDropped = dropped_;
  s.queueDropped = queueDropped_;
  for (unsigned i = 0; i < kSendFailures; i++) s.sendFailed[i] = sendFailed_[i];
  for (size_t i = 0; i <= o_.sojournBoundsNs.size(); i++) s.sojourn.push_back(sojourn_[i].load(std::memory_order_relaxed));
  s.sojournSeconds = static_cast<double>(sojournNs_) / 1e9;
  std::lock_guard<std::mutex> lock(cacheMu_);
  s.cached = cache_.size();
  s.cacheRefused = cache_.refused();
  s.cacheEvicted = cache_.evicted();
  return s;
}
