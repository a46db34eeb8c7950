// See udp_socket.h.
#include "udp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int OpenUdpSocket(const std::string& host, int port, bool reusePort, int* family, int* boundPort, std::string* what) {
  auto fail = [&](const std::string& step, int fd) {
    int e = errno;
    if (fd >= 0) ::close(fd);
    errno = e;
    *what = step;
    return -1;
  };
  if (port < 0 || port > 65535) {
    errno = EINVAL;
    return fail("port", -1);
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
    errno = EINVAL;
    return fail("not a literal IP address: " + host, -1);
  }
  int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("socket", -1);
  int one = 1, zero = 0;
  // Dual stack, as node:dgram binds: `::` takes IPv4 clients too (records.h writes them as IPv4).
  if (addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (reusePort && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) return fail("SO_REUSEPORT", fd);
  // Without receive timestamps the arrival stays 0 and no sojourn is counted; serving goes on. A larger send
  // buffer lets a burst of answers leave without waiting.
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  int sndbuf = kSendBufferBytes;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) return fail("bind", fd);
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  *family = addr.ss_family;
  *boundPort = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return fd;
}
