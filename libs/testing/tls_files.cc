#include "libs/testing/tls_files.h"

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/testing/process.h"

namespace opsteam::testing {
namespace {

// The X.509 extensions of each kind of certificate.
constexpr char kExtensions[] = R"([ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
)";

absl::Status Openssl(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  ProcessOptions options;
  options.argv = args;
  options.log_file = dir + "/openssl.log";
  absl::StatusOr<int> code = RunCommand(options);
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(args, " "), " exited with ", *code, "; see ",
                                            options.log_file));
  }
  return absl::OkStatus();
}

absl::Status SelfSignedCa(const std::string& dir, const std::string& name, const std::string& config) {
  return Openssl(dir, {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                       "-keyout", absl::StrCat(dir, "/", name, ".key"), "-out", absl::StrCat(dir, "/", name, ".crt"),
                       "-days", "2", "-subj", absl::StrCat("/CN=", name), "-config", config, "-extensions", "ca"});
}

absl::Status Leaf(const std::string& dir, const std::string& name, const std::string& section, const std::string& serial,
                  const std::string& config) {
  const std::string key = absl::StrCat(dir, "/", name, ".key");
  const std::string csr = absl::StrCat(dir, "/", name, ".csr");
  if (absl::Status s = Openssl(dir, {"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                     "-nodes", "-keyout", key, "-out", csr, "-subj",
                                     absl::StrCat("/CN=", section == "server" ? "localhost" : name), "-config",
                                     config});
      !s.ok()) {
    return s;
  }
  return Openssl(dir, {"x509", "-req", "-in", csr, "-CA", dir + "/ca.crt", "-CAkey", dir + "/ca.key", "-set_serial",
                       serial, "-days", "2", "-out", absl::StrCat(dir, "/", name, ".crt"), "-extfile", config,
                       "-extensions", section});
}

}  // namespace

absl::StatusOr<TlsFiles> MakeTlsFiles(const std::string& dir) {
  const std::string config = dir + "/extensions.cnf";
  {
    std::ofstream out(config);
    out << kExtensions;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", config));
  }
  if (absl::Status s = SelfSignedCa(dir, "ca", config); !s.ok()) return s;
  if (absl::Status s = SelfSignedCa(dir, "other-ca", config); !s.ok()) return s;
  if (absl::Status s = Leaf(dir, "server", "server", "2", config); !s.ok()) return s;
  if (absl::Status s = Leaf(dir, "client", "client", "3", config); !s.ok()) return s;
  TlsFiles files;
  files.dir = dir;
  files.ca_cert = dir + "/ca.crt";
  files.server_cert = dir + "/server.crt";
  files.server_key = dir + "/server.key";
  files.client_cert = dir + "/client.crt";
  files.client_key = dir + "/client.key";
  files.other_ca_cert = dir + "/other-ca.crt";
  return files;
}

}  // namespace opsteam::testing
