// See udp_core.h.
#include "udp_core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "records.h"

const char* const kSendFailureNames[kSendFailures] = {"msgsize", "access", "unreachable", "permission", "invalid", "family", "other"};

namespace {

uint64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);  // the clock SO_TIMESTAMPNS stamps with
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

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

SendFailure FailureOf(int e) {
  switch (e) {
    case EMSGSIZE: return kMsgSize;
    case EACCES: return kAccess;
    case EHOSTUNREACH: case ENETUNREACH: case ECONNREFUSED: case EHOSTDOWN: case ENETDOWN: return kUnreachable;
    case EPERM: return kPermission;
    case EINVAL: case EDESTADDRREQ: return kInvalid;
    case EAFNOSUPPORT: return kFamily;
    default: return kOtherFailure;
  }
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
  auto fail = [&](const char* what) {
    *errnum = errno;
    *error = std::string(what) + ": " + strerror(errno);
    return nullptr;
  };
  const UdpCoreOptions& opts = core->o_;
  if (opts.port < 0 || opts.port > 65535) {
    errno = EINVAL;
    return fail("port");
  }
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, opts.host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(opts.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, opts.host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(opts.port);
    len = sizeof(sockaddr_in6);
  } else {
    errno = EINVAL;
    return fail(("not a literal IP address: " + opts.host).c_str());
  }
  core->family_ = addr.ss_family;
  core->fd_ = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (core->fd_ < 0) return fail("socket");
  int fd = core->fd_, one = 1, zero = 0;
  // Dual stack, as node:dgram binds: `::` takes IPv4 clients too (records.h writes them as IPv4).
  if (addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (opts.reusePort && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) return fail("SO_REUSEPORT");
  // Without receive timestamps the arrival stays 0 and no sojourn is counted; serving goes on. A larger send
  // buffer lets a burst of answers leave without waiting; the kernel caps it, which is no error.
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  int sndbuf = kSendBufferBytes;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) return fail("bind");
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  core->port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
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
      uint64_t due = refreshesSinceNs_ + kRefreshGatherNs, now = NowNs();
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
    if (refreshesSinceNs_ != 0 && NowNs() >= refreshesSinceNs_ + kRefreshGatherNs) WakeMainThread();
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
  uint64_t now = NowNs();
  for (unsigned i = 0; i < n; i++) {
    if (b.answered[i]) continue;
    uint8_t client[records::kClientBytes];
    if (byClient_) records::ClientBytes(b.from[i], client);
    uint8_t* out = b.hitData.data() + hit * AnswerCache::kMaxAnswer;
    size_t alen = cache_.Get({client, byClient_ ? sizeof client : 0, b.data.data() + i * kMaxQuery, b.msgs[i].msg_len}, now, out, &b.tally[i], &b.refresh[i]);
    if (alen == 0) continue;
    if (!b.refresh[i]) CountRepeat(b.tally[i]);
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
        if (b.refresh[i]) CountRepeat(b.tally[i]);
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
  else if (refreshes && refreshesSinceNs_ == 0) refreshesSinceNs_ = NowNs();
}

// The socket's thread is the only writer; the main thread reads the count without a call, so it is stored whole.
void UdpCore::CountRepeat(unsigned tally) {
  std::atomic_ref<double> count(o_.repeats[tally]);
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

int64_t UdpCore::Send(const uint8_t* data, size_t size, int64_t count) {
  if (fd_ < 0) return 0;
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  sockaddr_storage to[kBatch];
  uint64_t arrival[kBatch];
  size_t off = 0;
  int64_t sent = 0;
  while (count > 0) {
    unsigned n = 0;
    bool malformed = false;
    while (n < kBatch && count > 0) {
      if (size - off < records::kHeader || size - off - records::kHeader < records::GetU16(data + off)) {
        malformed = true;
        break;
      }
      const uint8_t* record = data + off;
      size_t len = records::GetU16(record);
      off += records::kHeader + len;
      count--;
      socklen_t alen = records::Destination(record, family_, &to[n]);
      if (alen == 0) {
        // A family this socket cannot reach (an IPv6 client of an IPv4 socket: a record not made from a query).
        sendFailed_[kFamily]++;
        continue;
      }
      arrival[n] = records::GetU64(record + records::kArrival);
      iov[n] = {const_cast<uint8_t*>(record + records::kHeader), len};
      msgs[n].msg_hdr = {};
      msgs[n].msg_hdr.msg_name = &to[n];
      msgs[n].msg_hdr.msg_namelen = alen;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      n++;
    }
    sent += SendAll(msgs, n, arrival);
    if (malformed) break;  // what came before it was sent
  }
  return sent;
}

// Sends the n messages, skipping (and counting) each the kernel refuses for itself; waits briefly for a full send
// buffer, then drops what is left. Counts each sent message's sojourn from its query's arrival; returns how many left.
unsigned UdpCore::SendAll(mmsghdr* msgs, unsigned n, const uint64_t* arrival) {
  unsigned done = 0, sent = 0;
  int waitedMs = 0;
  uint64_t now = 0;
  while (done < n) {
    int r = sendmmsg(fd_, msgs + done, n - done, MSG_DONTWAIT);
    if (r > 0) {
      now = NowNs();
      for (int i = 0; i < r; i++) CountSojourn(arrival[done + i], now);
      done += r;
      sent += r;
      continue;
    }
    int e = r < 0 ? errno : EAGAIN;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
      pollfd p = {fd_, POLLOUT, 0};
      if (waitedMs < kSendWaitMs && poll(&p, 1, 1) >= 0) {
        waitedMs++;
        continue;
      }
      dropped_ += n - done;
      break;
    }
    // The first message left refused this one alone: skip it, the others still go.
    sendFailed_[FailureOf(e)]++;
    done++;
  }
  return sent;
}

// The kernel stamps with the wall clock, so a step of it (NTP) between receipt and send can misplace one answer:
// one stepped back is not counted, one stepped forward lands in a late bucket.
void UdpCore::CountSojourn(uint64_t arrival, uint64_t now) {
  if (arrival == 0 || now < arrival) return;
  uint64_t ns = now - arrival;
  size_t b = 0;
  while (b < o_.sojournBoundsNs.size() && ns > o_.sojournBoundsNs[b]) b++;
  sojourn_[b].fetch_add(1, std::memory_order_relaxed);
  sojournNs_.fetch_add(ns, std::memory_order_relaxed);
}

bool UdpCore::Remember(const uint8_t* client, const uint8_t* query, size_t qlen, const uint8_t* answer, size_t alen, double untilMs, double agesAtMs,
                       double refreshAtMs, int64_t tally) {
  uint64_t now = NowNs();
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

void UdpCore::KeyByClient(bool on) {
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
  s.remembered = cache_.size();
  s.cacheRefused = cache_.refused();
  s.cacheEvicted = cache_.evicted();
  return s;
}
