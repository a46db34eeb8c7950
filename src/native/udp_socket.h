// The batched path's socket, opened and bound: a literal address (`::` takes IPv4 clients too), SO_REUSEPORT
// when asked (--workers), receive timestamps and a larger send buffer.
#pragma once

#include <string>

// The send buffer asked for; the kernel caps it at net.core.wmem_max, which is no error.
constexpr int kSendBufferBytes = 4 << 20;

// The socket's descriptor, non-blocking, with its family and the port bound (the one given, or the kernel's
// choice for 0); -1 on failure, with errno set and `what` naming the step that failed.
int OpenUdpSocket(const std::string& host, int port, bool reusePort, int* family, int* boundPort, std::string* what);
