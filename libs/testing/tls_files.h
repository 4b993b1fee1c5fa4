#pragma once

// Certificates for TLS tests, made at test time with the `openssl` command (no key is ever
// committed): a CA, a server certificate for localhost and 127.0.0.1 and a client
// certificate signed by it, and a second CA that signed neither.

#include <string>

#include "absl/status/statusor.h"

namespace opsteam::testing {

struct TlsFiles {
  std::string dir;
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  // A CA unrelated to the certificates above.
  std::string other_ca_cert;
};

// Writes the files into `dir` (which must exist). EC P-256 keys, valid for two days.
absl::StatusOr<TlsFiles> MakeTlsFiles(const std::string& dir);

}  // namespace opsteam::testing
