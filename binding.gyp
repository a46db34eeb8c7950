# The batched UDP addon (Linux: recvmmsg/sendmmsg). Optional: without a compiler, or elsewhere than Linux,
# rkvdns uses node:dgram (see src/dns/udp.ts).
{
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["src/native/udp_batch.cc", "src/native/udp_core.cc", "src/native/udp_send.cc", "src/native/udp_socket.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++20", "-O2", "-Wall", "-Wextra"],
      "conditions": [["OS!='linux'", {"type": "none", "sources": []}]]
    }
  ]
}
