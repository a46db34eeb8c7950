// Batched UDP for rkvdns on Linux: one socket read with recvmmsg and written with sendmmsg, so JavaScript gets
// every datagram waiting in one Buffer per call, and the answers of a batch leave in one system call. No
// per-packet JavaScript objects cross this boundary.
//
// Threads: the socket is read by a thread of this addon's own (named rkvdns-udp), not by the event loop. It
// answers repeats (below) itself and queues the other queries for JavaScript, waking the loop with a uv_async
// handle; JavaScript sends its answers from the main thread. So a repeat never waits for JavaScript: not for a
// garbage collection, not for a burst of Redis replies being parsed. At most kMaxWaiting queries wait for
// JavaScript; beyond that a query is dropped and counted, as the kernel drops one when the socket's queue is full.
//
// Records, in both directions, packed one after another (little-endian):
//   u16 length of the payload | u16 port | u8 family (4 or 6) | 16 bytes address (IPv4 in the first 4)
//   | u64 arrival (the kernel's receive time, ns since the epoch; 0 when unknown) | payload
// A query record whose family byte has kRefresh set was answered here already (a refresh, below): JavaScript
// runs it only so that its flight moves on, and sends nothing for it.
// An answer's record carries its query's arrival, so the send can count how long the query spent in the
// server, from the kernel's receipt (socket queue included) to the answer leaving: the sojourn histogram.
// Every length read from JavaScript is checked against the buffer before use.
//
// Repeats: JavaScript may hand an answer back with remember() (answer_cache.h); until it ends, a datagram with
// the same bytes (its ID apart) is answered by the socket's thread, in one sendmmsg with the rest of its
// recvmmsg's repeats, and never reaches JavaScript, but for a refresh: the first repeat from the answer's refresh
// point on is also queued for JavaScript, flagged, and not counted here (JavaScript counts it as it runs it);
// refreshes alone wake JavaScript only after kRefreshGatherNs, together.
// Each other such answer is counted under the tally JavaScript gave, in a Float64Array JavaScript reads without
// a call (the thread stores each count whole, atomically). After
// keyByClient(true) an answer is kept for the client it was given to only (its family and address lead the
// key), for when the client decides whether it is answered at all.
#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "answer_cache.h"

namespace {

constexpr size_t kHeader = 29;        // length, port, family, address, arrival
constexpr size_t kArrival = 21;       // offset of the arrival time in a record
constexpr unsigned kBatch = 64;       // datagrams per recvmmsg / sendmmsg
constexpr size_t kMaxQuery = 4096;    // a DNS query datagram longer than this is dropped (and counted)
constexpr unsigned kMaxWaiting = 4096;  // queries queued for JavaScript at most (far more than a socket's queue holds)
constexpr uint8_t kRefresh = 0x80;     // in a query record's family byte: answered already, for JavaScript to run only
// How long refreshes alone wait before the main thread is woken for them, so that it takes them together (one wakeup,
// one write of their Redis reads) rather than one wakeup each: their answers have been sent, only their flights'
// renewal waits, and a flight's prefetch point is 1-2 s before its end.
constexpr uint64_t kRefreshGatherNs = 50'000'000;

void PutU16(uint8_t* p, uint16_t v) {
  p[0] = v & 0xff;
  p[1] = v >> 8;
}
uint16_t GetU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
uint64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);  // the clock SO_TIMESTAMPNS stamps with
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

class UdpBatch : public Napi::ObjectWrap<UdpBatch> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "UdpBatch",
                                   {InstanceMethod("port", &UdpBatch::Port), InstanceMethod("send", &UdpBatch::Send),
                                    InstanceMethod("remember", &UdpBatch::Remember), InstanceMethod("keyByClient", &UdpBatch::KeyByClient),
                                    InstanceMethod("close", &UdpBatch::Close), InstanceMethod("stats", &UdpBatch::Stats)});
    exports.Set("UdpBatch", f);
    return exports;
  }

  // new UdpBatch(host: string (a literal address), port: number, reusePort: boolean, onBatch(buffer, count),
  //              sojournBounds: number[] (seconds, ascending: the histogram's upper bounds),
  //              repeats: Float64Array (at least AnswerCache::kTallies long: answers sent from the cache, per tally))
  UdpBatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpBatch>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsBoolean() || !info[3].IsFunction() || !info[4].IsArray() ||
        !info[5].IsTypedArray() || info[5].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[5].As<Napi::Float64Array>().ElementLength() < AnswerCache::kTallies) {
      Napi::TypeError::New(env, "UdpBatch(host, port, reusePort, onBatch, sojournBounds, repeats: Float64Array(64))").ThrowAsJavaScriptException();
      return;
    }
    // Held so its memory stays where repeats_ points.
    repeatsRef_ = Napi::Persistent(info[5].As<Napi::Float64Array>());
    repeats_ = repeatsRef_.Value().Data();
    Napi::Array bounds = info[4].As<Napi::Array>();
    for (uint32_t i = 0; i < bounds.Length() && i < 64; i++) {
      Napi::Value b = bounds.Get(i);
      if (b.IsNumber()) sojournBoundsNs_.push_back(static_cast<uint64_t>(b.As<Napi::Number>().DoubleValue() * 1e9));
    }
    sojourn_ = std::make_unique<std::atomic<uint64_t>[]>(sojournBoundsNs_.size() + 1);
    std::string host = info[0].As<Napi::String>();
    int port = info[1].As<Napi::Number>().Int32Value();
    if (port < 0 || port > 65535) {
      Napi::RangeError::New(env, "port out of range").ThrowAsJavaScriptException();
      return;
    }
    sockaddr_storage addr{};
    socklen_t len = 0;
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
      a4->sin_family = AF_INET;
      a4->sin_port = htons(port);
      len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons(port);
      len = sizeof(sockaddr_in6);
    } else {
      Napi::Error::New(env, "not a literal IP address: " + host).ThrowAsJavaScriptException();
      return;
    }
    fd_ = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) { ThrowErrno(env, "socket"); return; }
    int one = 1;
    if (addr.ss_family == AF_INET6) setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (info[2].As<Napi::Boolean>() && setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) { ThrowErrno(env, "SO_REUSEPORT"); return; }
    // Without receive timestamps the arrival stays 0 and no sojourn is counted; serving goes on.
    setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) < 0) { ThrowErrno(env, "bind"); return; }
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
    port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                              : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    onBatch_ = Napi::Persistent(info[3].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_ < 0) { ThrowErrno(env, "eventfd"); return; }
    async_ = new uv_async_t;
    async_->data = this;
    if (uv_async_init(loop, async_, OnWaiting) != 0) {
      delete async_;
      async_ = nullptr;
      ThrowErrno(env, "uv_async_init");
      return;
    }
    // The thread takes no signals: they stay with the main thread, where node handles them.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    io_ = std::thread([this] { Serve(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    // At the environment's end (a worker thread's, or the process's) without close(), the thread is stopped
    // before anything it uses goes away.
    napi_add_env_cleanup_hook(env, Cleanup, this);
    // Kept alive by its thread until close(): JavaScript may drop its reference to the socket object.
    Ref();
  }

  ~UdpBatch() {
    Shut();
    if (wake_ >= 0) ::close(wake_);
  }

 private:
  void ThrowErrno(Napi::Env env, const char* what) {
    int e = errno;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    Napi::Error err = Napi::Error::New(env, std::string(what) + ": " + strerror(e));
    err.Set("code", Napi::String::New(env, e == EADDRINUSE ? "EADDRINUSE" : e == EACCES ? "EACCES" : "E" + std::to_string(e)));
    err.ThrowAsJavaScriptException();
  }

  // The socket's thread: waits for datagrams (or the word to stop) and reads them while any wait.
  void Serve() {
    pthread_setname_np(pthread_self(), "rkvdns-udp");
    std::vector<uint8_t> recvData(kBatch * kMaxQuery);
    std::vector<uint8_t> hitData(kBatch * AnswerCache::kMaxAnswer);  // the answers of one recvmmsg's repeats
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
    for (;;) {
      int timeoutMs = -1;
      if (refreshesSinceNs_ != 0) {
        uint64_t due = refreshesSinceNs_ + kRefreshGatherNs, now = NowNs();
        timeoutMs = now >= due ? 0 : static_cast<int>((due - now + 999'999) / 1'000'000);
      }
      int ready = poll(fds, 2, timeoutMs);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return;  // only a fault of this code (EFAULT, EINVAL) or ENOMEM gets here
      }
      if (ready > 0 && fds[1].revents != 0) return;
      if (ready > 0 && fds[0].revents != 0)
        while (ReceiveBatch(recvData.data(), hitData.data()) == kBatch) {
        }
      if (refreshesSinceNs_ != 0 && NowNs() >= refreshesSinceNs_ + kRefreshGatherNs) WakeMainThread();
    }
  }

  // One recvmmsg: repeats answered, the rest queued for JavaScript. Returns how many datagrams it read.
  unsigned ReceiveBatch(uint8_t* recvData, uint8_t* hitData) {
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    sockaddr_storage from[kBatch];
    alignas(cmsghdr) uint8_t control[kBatch][CMSG_SPACE(sizeof(timespec))];
    bool answered[kBatch];
    bool refresh[kBatch];
    unsigned tallies[kBatch];
    mmsghdr hits[kBatch];
    iovec hitIov[kBatch];
    uint64_t hitArrival[kBatch];
    for (unsigned i = 0; i < kBatch; i++) {
      iov[i] = {recvData + i * kMaxQuery, kMaxQuery};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof control[i];
      msgs[i].msg_len = 0;
    }
    int n = recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return 0;  // EAGAIN: drained; other errors (ICMP reports) are left to the next wakeup
    unsigned hit = 0;
    {
      std::lock_guard<std::mutex> lock(cacheMu_);
      uint64_t now = cache_.size() > 0 ? NowNs() : 0;
      for (int i = 0; i < n; i++) {
        answered[i] = true;
        refresh[i] = false;
        if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || msgs[i].msg_len > kMaxQuery) {
          oversize_++;
          continue;
        }
        received_++;
        answered[i] = false;
        if (now == 0) continue;
        const uint8_t* query = recvData + i * kMaxQuery;
        uint8_t client[AnswerCache::kMaxPrefix];
        if (byClient_) ClientBytes(from[i], client);
        size_t alen = cache_.Get({client, byClient_ ? sizeof client : 0, query, msgs[i].msg_len}, now, hitData + hit * AnswerCache::kMaxAnswer,
                                 &tallies[i], &refresh[i]);
        if (alen == 0) continue;
        if (!refresh[i]) CountRepeat(tallies[i]);
        hitIov[hit] = {hitData + hit * AnswerCache::kMaxAnswer, alen};
        hits[hit].msg_hdr = {};
        hits[hit].msg_hdr.msg_name = &from[i];
        hits[hit].msg_hdr.msg_namelen = msgs[i].msg_hdr.msg_namelen;
        hits[hit].msg_hdr.msg_iov = &hitIov[hit];
        hits[hit].msg_hdr.msg_iovlen = 1;
        hitArrival[hit] = ArrivalNs(&msgs[i].msg_hdr);
        hit++;
        answered[i] = true;
      }
    }
    // Repeats leave first: they wait for nothing.
    if (hit > 0) sent_ += SendAll(hits, hit, hitArrival);
    bool queued = false, refreshes = false;
    {
      std::lock_guard<std::mutex> lock(waitMu_);
      for (int i = 0; i < n; i++) {
        if (answered[i] && !refresh[i]) continue;
        if (waitingCount_ >= kMaxWaiting) {
          // A refresh that cannot wait was still answered: it is counted here instead, and its flight simply ends.
          if (refresh[i]) CountRepeat(tallies[i]);
          else queueDropped_++;
          continue;
        }
        size_t len = msgs[i].msg_len;
        size_t at = waiting_.size();
        waiting_.resize(at + kHeader + len);
        uint8_t* p = waiting_.data() + at;
        PutU16(p, static_cast<uint16_t>(len));
        PutU16(p + 2, from[i].ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&from[i])->sin_port)
                                                   : ntohs(reinterpret_cast<sockaddr_in6*>(&from[i])->sin6_port));
        ClientBytes(from[i], p + 4);
        if (refresh[i]) p[4] |= kRefresh;
        (refresh[i] ? refreshes : queued) = true;
        PutU64(p + kArrival, ArrivalNs(&msgs[i].msg_hdr));
        memcpy(p + kHeader, recvData + i * kMaxQuery, len);
        waitingCount_++;
      }
    }
    if (queued) WakeMainThread();
    else if (refreshes && refreshesSinceNs_ == 0) refreshesSinceNs_ = NowNs();
    return static_cast<unsigned>(n);
  }

  // The socket's thread is the only writer; JavaScript reads the count without a call, so it is stored whole.
  void CountRepeat(unsigned tally) {
    std::atomic_ref<double> count(repeats_[tally]);
    count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // Wakes the loop (once however often it is called before the loop runs OnWaiting), which takes every record
  // waiting, refreshes included.
  void WakeMainThread() {
    refreshesSinceNs_ = 0;
    uv_async_send(async_);
  }

  static void OnWaiting(uv_async_t* handle) { static_cast<UdpBatch*>(handle->data)->Deliver(); }

  // On the main thread: every query waiting goes to JavaScript in one call.
  void Deliver() {
    unsigned count;
    {
      std::lock_guard<std::mutex> lock(waitMu_);
      delivering_.swap(waiting_);
      count = waitingCount_;
      waitingCount_ = 0;
    }
    if (count == 0 || fd_ < 0) {
      delivering_.clear();
      return;
    }
    Napi::Env env = onBatch_.Env();
    Napi::HandleScope scope(env);
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::Copy(env, delivering_.data(), delivering_.size());
    delivering_.clear();  // its room is kept for the next swap
    // MakeCallback: promise jobs and nextTicks the handler queues run when it returns, as for any I/O callback.
    onBatch_.MakeCallback(Value(), {out, Napi::Number::New(env, count)});
  }

  // Stops the thread and closes the socket and the loop's handle; what JavaScript holds stays valid.
  void Shut() {
    if (io_.joinable()) {
      uint64_t one = 1;
      if (write(wake_, &one, sizeof one) < 0) {
        // An eventfd write fails only when its count would overflow: it has been written to already.
      }
      io_.join();
    }
    if (async_) {
      uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
      async_ = nullptr;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    std::lock_guard<std::mutex> lock(cacheMu_);
    cache_.Clear();
  }

  static void Cleanup(void* self) { static_cast<UdpBatch*>(self)->Shut(); }

  // A sender as a record header writes it: family (4 or 6), then 16 address bytes (IPv4 in the first 4).
  static void ClientBytes(const sockaddr_storage& from, uint8_t* out) {
    memset(out + 1, 0, 16);
    if (from.ss_family == AF_INET) {
      out[0] = 4;
      memcpy(out + 1, &reinterpret_cast<const sockaddr_in*>(&from)->sin_addr, 4);
    } else {
      out[0] = 6;
      memcpy(out + 1, &reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr, 16);
    }
  }

  // The kernel's receive time of a datagram, from its SCM_TIMESTAMPNS control message; 0 without one.
  static uint64_t ArrivalNs(msghdr* h) {
    for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
        timespec t;
        memcpy(&t, CMSG_DATA(c), sizeof t);
        return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
      }
    }
    return 0;
  }

  // Both threads send, so the counts are atomic. The kernel stamps with the wall clock, so a step of it (NTP)
  // between receipt and send can misplace one answer: one stepped back is not counted, one stepped forward
  // lands in a late bucket.
  void CountSojourn(uint64_t arrival, uint64_t now) {
    if (arrival == 0 || now < arrival) return;
    uint64_t ns = now - arrival;
    size_t b = 0;
    while (b < sojournBoundsNs_.size() && ns > sojournBoundsNs_[b]) b++;
    sojourn_[b].fetch_add(1, std::memory_order_relaxed);
    sojournNs_.fetch_add(ns, std::memory_order_relaxed);
  }

  // send(buffer, count): the records (see the top of this file); returns how many the kernel took.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "send(buffer, count)").ThrowAsJavaScriptException();
      return env.Null();
    }
    if (fd_ < 0) return Napi::Number::New(env, 0);
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    const uint8_t* data = buf.Data();
    size_t size = buf.Length();
    int64_t count = info[1].As<Napi::Number>().Int64Value();
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    sockaddr_storage to[kBatch];
    uint64_t arrival[kBatch];
    size_t off = 0;
    int64_t sent = 0;
    while (count > 0) {
      unsigned n = 0;
      while (n < kBatch && count > 0) {
        if (size - off < kHeader) break;
        size_t len = GetU16(data + off);
        if (size - off - kHeader < len) break;
        uint16_t port = GetU16(data + off + 2);
        to[n] = {};
        socklen_t alen;
        if (data[off + 4] == 4) {
          auto* s = reinterpret_cast<sockaddr_in*>(&to[n]);
          s->sin_family = AF_INET;
          s->sin_port = htons(port);
          memcpy(&s->sin_addr, data + off + 5, 4);
          alen = sizeof(sockaddr_in);
        } else if (data[off + 4] == 6) {
          auto* s = reinterpret_cast<sockaddr_in6*>(&to[n]);
          s->sin6_family = AF_INET6;
          s->sin6_port = htons(port);
          memcpy(&s->sin6_addr, data + off + 5, 16);
          alen = sizeof(sockaddr_in6);
        } else {
          break;
        }
        arrival[n] = GetU64(data + off + kArrival);
        iov[n] = {const_cast<uint8_t*>(data + off + kHeader), len};
        msgs[n].msg_hdr = {};
        msgs[n].msg_hdr.msg_name = &to[n];
        msgs[n].msg_hdr.msg_namelen = alen;
        msgs[n].msg_hdr.msg_iov = &iov[n];
        msgs[n].msg_hdr.msg_iovlen = 1;
        off += kHeader + len;
        count--;
        n++;
      }
      if (n == 0) break;  // a malformed record: stop, what came before it is sent
      unsigned done = SendAll(msgs, n, arrival);
      sent += done;
      if (done < n) {
        // The kernel refused some of this batch (counted by SendAll); the records after it are not tried.
        dropped_ += count;
        break;
      }
    }
    sent_ += sent;
    return Napi::Number::New(env, static_cast<double>(sent));
  }

  // Sends the n messages, counting each one's sojourn from its query's arrival; returns how many left.
  unsigned SendAll(mmsghdr* msgs, unsigned n, const uint64_t* arrival) {
    unsigned done = 0;
    while (done < n) {
      int r = sendmmsg(fd_, msgs + done, n - done, MSG_DONTWAIT);
      if (r <= 0) {
        // The socket's send buffer is full (or the kernel refused one): the rest of this batch is dropped.
        if (r < 0 && errno == EINTR) continue;
        dropped_ += n - done;
        break;
      }
      done += r;
    }
    uint64_t now = NowNs();
    for (unsigned i = 0; i < done; i++) CountSojourn(arrival[i], now);
    return done;
  }

  // remember(query: Buffer (the whole datagram), answer: Buffer (as sent), untilMs, agesAtMs, refreshAtMs (Date.now()
  // times; refreshAtMs 0 for none), tally: number, client: Buffer (the query record's family and address, 17
  // bytes)): keeps the answer for repeats of the query (see answer_cache.h), from that client only after
  // keyByClient(true); true when kept. Whether kept or not, it replaces what was kept for the query.
  Napi::Value Remember(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 7 || !info[0].IsBuffer() || !info[1].IsBuffer() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber() ||
        !info[5].IsNumber() || !info[6].IsBuffer() || info[6].As<Napi::Buffer<uint8_t>>().Length() != AnswerCache::kMaxPrefix) {
      Napi::TypeError::New(env, "remember(query, answer, untilMs, agesAtMs, refreshAtMs, tally, client: 17 bytes)").ThrowAsJavaScriptException();
      return env.Null();
    }
    auto client = info[6].As<Napi::Buffer<uint8_t>>();
    auto query = info[0].As<Napi::Buffer<uint8_t>>();
    auto answer = info[1].As<Napi::Buffer<uint8_t>>();
    double untilMs = info[2].As<Napi::Number>().DoubleValue();
    double agesAtMs = info[3].As<Napi::Number>().DoubleValue();
    double refreshAtMs = info[4].As<Napi::Number>().DoubleValue();
    int64_t tally = info[5].As<Napi::Number>().Int64Value();
    uint64_t now = NowNs();
    // At most an hour ahead: a flight lasts seconds, so anything else is a mistake, not an answer to keep.
    double nowMs = static_cast<double>(now) / 1e6;
    bool sane = untilMs > nowMs && untilMs <= nowMs + 3600e3 && agesAtMs >= 0 && agesAtMs <= untilMs && refreshAtMs >= 0 && refreshAtMs <= untilMs &&
                tally >= 0;
    if (fd_ < 0) return Napi::Boolean::New(env, false);
    std::lock_guard<std::mutex> lock(cacheMu_);
    AnswerCache::Key key{client.Data(), byClient_ ? client.Length() : 0, query.Data(), query.Length()};
    if (!sane) {
      cache_.Forget(key);
      return Napi::Boolean::New(env, false);
    }
    bool kept = cache_.Put(key, answer.Data(), answer.Length(), now, static_cast<uint64_t>(untilMs * 1e6), static_cast<uint64_t>(agesAtMs * 1e6),
                           static_cast<uint64_t>(refreshAtMs * 1e6), static_cast<unsigned>(tally));
    return Napi::Boolean::New(env, kept);
  }

  // keyByClient(on: boolean): from now on, answers are kept per client (what was kept before is dropped).
  Napi::Value KeyByClient(const Napi::CallbackInfo& info) {
    bool on = info.Length() > 0 && info[0].ToBoolean().Value();
    std::lock_guard<std::mutex> lock(cacheMu_);
    byClient_ = on;
    cache_.Clear();
    return info.Env().Undefined();
  }

  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_); }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("received", Napi::Number::New(env, static_cast<double>(received_)));
    o.Set("sent", Napi::Number::New(env, static_cast<double>(sent_)));
    o.Set("oversize", Napi::Number::New(env, static_cast<double>(oversize_)));
    o.Set("sendDropped", Napi::Number::New(env, static_cast<double>(dropped_)));
    o.Set("queueDropped", Napi::Number::New(env, static_cast<double>(queueDropped_)));
    size_t buckets = sojournBoundsNs_.size() + 1;
    Napi::Array counts = Napi::Array::New(env, buckets);
    for (uint32_t i = 0; i < buckets; i++) counts.Set(i, Napi::Number::New(env, static_cast<double>(sojourn_[i].load(std::memory_order_relaxed))));
    o.Set("sojourn", counts);
    o.Set("sojournSeconds", Napi::Number::New(env, static_cast<double>(sojournNs_) / 1e9));
    std::lock_guard<std::mutex> lock(cacheMu_);
    o.Set("remembered", Napi::Number::New(env, static_cast<double>(cache_.size())));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (async_) {
      Shut();
      napi_remove_env_cleanup_hook(info.Env(), Cleanup, this);
      Unref();
    }
    return info.Env().Undefined();
  }

  int fd_ = -1;
  int port_ = 0;
  int wake_ = -1;  // an eventfd: written once, it stops the thread
  std::thread io_;
  uv_async_t* async_ = nullptr;  // wakes the loop for queries waiting
  Napi::FunctionReference onBatch_;
  // Queries for JavaScript, as records: filled by the thread, swapped out by the main thread.
  std::mutex waitMu_;
  std::vector<uint8_t> waiting_;
  unsigned waitingCount_ = 0;
  std::vector<uint8_t> delivering_;  // the main thread's: the records being handed over
  uint64_t refreshesSinceNs_ = 0;  // the socket's thread's: when refreshes alone began to wait (0: none do)
  std::mutex cacheMu_;  // the thread looks up, JavaScript remembers
  AnswerCache cache_;
  bool byClient_ = false;
  Napi::Reference<Napi::Float64Array> repeatsRef_;
  double* repeats_ = nullptr;
  std::atomic<uint64_t> received_{0}, sent_{0}, oversize_{0}, dropped_{0}, queueDropped_{0};
  std::vector<uint64_t> sojournBoundsNs_;
  std::unique_ptr<std::atomic<uint64_t>[]> sojourn_;  // answers per bound, the last beyond every bound
  std::atomic<uint64_t> sojournNs_{0};
};

}  // namespace

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return UdpBatch::Init(env, exports); }

NODE_API_MODULE(udp_batch, InitAll)
