// The send path of udp_core.h: answers from the main thread (records) and repeats from the socket's thread, each
// message the kernel refuses skipped and counted by cause, a full send buffer waited for briefly.
#include <errno.h>
#include <poll.h>

#include "records.h"
#include "udp_core.h"

const char* const kSendFailureNames[kSendFailures] = {"msgsize", "access", "unreachable", "permission", "invalid", "family", "other"};

namespace {

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
      now = WallClockNs();
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
