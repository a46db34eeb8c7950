// The records the batched UDP path hands between its socket thread and JavaScript, in both directions, packed
// one after another (little-endian):
//   u16 payload length | u16 port | u8 family (4 or 6) | 16 address bytes (IPv4 in the first 4) | u32 IPv6 scope
//   | u64 arrival (the kernel's receive time, ns since the epoch; 0 when unknown) | payload
// An IPv4 client that reached an IPv6 socket (dual stack, `::`) is written as IPv4: family 4, its 4 bytes. The
// layout is exported to JavaScript (udp_batch.cc), which checks it at load against its own reading of it.
#pragma once

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace records {

constexpr size_t kPort = 2;
constexpr size_t kFamily = 4;  // also the start of a client's bytes as the answer cache keys them: family, address
constexpr size_t kAddress = 5;
constexpr size_t kScope = 21;
constexpr size_t kArrival = 25;
constexpr size_t kHeader = 33;
constexpr size_t kClientBytes = 17;  // family and address
// In a query record's family byte: the query was answered already (a refresh), JavaScript runs it only.
constexpr uint8_t kRefresh = 0x80;

inline void PutU16(uint8_t* p, uint16_t v) {
  p[0] = v & 0xff;
  p[1] = v >> 8;
}
inline uint16_t GetU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t GetU32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
inline void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// A sender's family and address as a record writes them (kClientBytes at `out`); a v4-mapped IPv6 address
// (`::ffff:a.b.c.d`) as the IPv4 address it stands for.
inline void ClientBytes(const sockaddr_storage& from, uint8_t* out) {
  memset(out + 1, 0, 16);
  if (from.ss_family == AF_INET) {
    out[0] = 4;
    memcpy(out + 1, &reinterpret_cast<const sockaddr_in*>(&from)->sin_addr, 4);
    return;
  }
  const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    out[0] = 4;
    memcpy(out + 1, a.s6_addr + 12, 4);
  } else {
    out[0] = 6;
    memcpy(out + 1, a.s6_addr, 16);
  }
}

// The header of a record for a datagram from `from` (its payload `len` bytes), at `p`.
inline void PutHeader(uint8_t* p, const sockaddr_storage& from, size_t len, uint64_t arrivalNs) {
  PutU16(p, static_cast<uint16_t>(len));
  bool v4 = from.ss_family == AF_INET;
  PutU16(p + kPort, ntohs(v4 ? reinterpret_cast<const sockaddr_in*>(&from)->sin_port : reinterpret_cast<const sockaddr_in6*>(&from)->sin6_port));
  ClientBytes(from, p + kFamily);
  PutU32(p + kScope, v4 ? 0 : reinterpret_cast<const sockaddr_in6*>(&from)->sin6_scope_id);
  PutU64(p + kArrival, arrivalNs);
}

// The destination a record names, for a socket of `socketFamily`: an IPv4 client of a dual-stack IPv6 socket is
// addressed v4-mapped. Returns the address's length, or 0 for a family the socket cannot reach.
inline socklen_t Destination(const uint8_t* p, int socketFamily, sockaddr_storage* to) {
  *to = {};
  uint16_t port = GetU16(p + kPort);
  uint8_t family = p[kFamily];
  if (family == 4 && socketFamily == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(to);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    memcpy(&s->sin_addr, p + kAddress, 4);
    return sizeof(sockaddr_in);
  }
  if ((family == 4 || family == 6) && socketFamily == AF_INET6) {
    auto* s = reinterpret_cast<sockaddr_in6*>(to);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    if (family == 4) {
      s->sin6_addr.s6_addr[10] = 0xff;
      s->sin6_addr.s6_addr[11] = 0xff;
      memcpy(s->sin6_addr.s6_addr + 12, p + kAddress, 4);
    } else {
      memcpy(&s->sin6_addr, p + kAddress, 16);
      s->sin6_scope_id = GetU32(p + kScope);
    }
    return sizeof(sockaddr_in6);
  }
  return 0;
}

}  // namespace records
