#pragma once

// TLS for servers and clients, and the plaintext rule: without TLS a server listens and a
// client connects only on loopback, unless plaintext beyond it is allowed explicitly (a
// service mesh that terminates TLS in front of the process). Errors name the command-line
// flags every opsteam binary uses for these settings.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace opsteam::rpc {

struct ServerTlsOptions {
  // PEM files of the server's certificate chain (leaf first) and its private key
  // (--tls_cert, --tls_key). With them the server speaks TLS only.
  std::string cert_file;
  std::string key_file;
  // PEM bundle of the CAs client certificates must chain to (--tls_client_ca). A client
  // presenting a certificate is then verified against it.
  std::string client_ca_file;
  // Refuse clients without a verified certificate: mutual TLS (--tls_require_client_cert).
  bool require_client_cert = false;

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct ClientTlsOptions {
  // PEM bundle of the CAs the server's certificate must chain to (--tls_ca); empty with TLS
  // on = gRPC's default roots.
  std::string ca_file;
  // The client's certificate chain and key for servers that require mTLS (--tls_cert, --tls_key).
  std::string cert_file;
  std::string key_file;
  // The name the server's certificate must carry, instead of the host of the address
  // (--tls_server_name).
  std::string server_name;
  // TLS even when none of the above is set (trusting the default roots).
  bool enabled = false;
  // Plaintext to an address that is not loopback (--allow_plaintext_remote).
  bool allow_plaintext_remote = false;

  bool tls() const {
    return enabled || !ca_file.empty() || !cert_file.empty() || !key_file.empty() || !server_name.empty();
  }
};

// Whether `address`, a listen address or a channel target ("host:port", "[v6]:port",
// "dns:///host:port", "ipv4:...", "unix:..."), stays on this machine: localhost,
// 127.0.0.0/8, ::1 or a unix socket. An empty host or a wildcard (0.0.0.0, [::]) is not.
bool IsLoopbackAddress(absl::string_view address);

// Credentials for a server listening on `listen_address`: TLS per `tls`, else plaintext
// when the address is loopback or `allow_plaintext_remote`. Files are read and checked now
// (PEM, the key matches the certificate), so a mistake is an error naming the flag.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const ServerTlsOptions& tls,
                                                                               absl::string_view listen_address,
                                                                               bool allow_plaintext_remote);

// Credentials for a channel to `address` under the same rule.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const ClientTlsOptions& tls,
                                                                                 absl::string_view address);

}  // namespace opsteam::rpc
