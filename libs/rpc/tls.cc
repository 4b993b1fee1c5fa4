#include "libs/rpc/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/rpc/flag_file.h"
#include "openssl/bio.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"

namespace opsteam::rpc {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr MemoryBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The certificates of a PEM file, in order; an error unless there is at least one.
absl::StatusOr<std::vector<X509Ptr>> ReadCertificates(absl::string_view flag, const std::string& path,
                                                      std::string* pem) {
  absl::StatusOr<std::string> text = ReadFlagFile(flag, path);
  if (!text.ok()) return text.status();
  std::vector<X509Ptr> certs;
  BioPtr bio = MemoryBio(*text);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(cert);
  ERR_clear_error();  // the end of the file reads as an error
  if (certs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": holds no PEM certificate"));
  }
  *pem = std::move(*text);
  return certs;
}

absl::StatusOr<PkeyPtr> ReadPrivateKey(absl::string_view flag, const std::string& path, std::string* pem) {
  absl::StatusOr<std::string> text = ReadFlagFile(flag, path);
  if (!text.ok()) return text.status();
  BioPtr bio = MemoryBio(*text);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": holds no unencrypted PEM private key"));
  }
  *pem = std::move(*text);
  return key;
}

// A certificate chain and the key that belongs to its first certificate.
absl::Status ReadKeyPair(absl::string_view cert_flag, const std::string& cert_file, absl::string_view key_flag,
                         const std::string& key_file, std::string* cert_pem, std::string* key_pem) {
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(cert_flag, " and ", key_flag, " go together; ",
                                                   cert_file.empty() ? cert_flag : key_flag, " is missing"));
  }
  absl::StatusOr<std::vector<X509Ptr>> certs = ReadCertificates(cert_flag, cert_file, cert_pem);
  if (!certs.ok()) return certs.status();
  absl::StatusOr<PkeyPtr> key = ReadPrivateKey(key_flag, key_file, key_pem);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(certs->front().get(), key->get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(key_flag, " ", key_file, ": is not the key of the certificate in ",
                                                   cert_flag, " ", cert_file));
  }
  return absl::OkStatus();
}

bool IsLoopbackHost(absl::string_view host) {
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  const std::string h(host);
  in_addr v4;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

// The host of "host:port", "[v6]:port", "host" or "v6".
absl::string_view HostOf(absl::string_view host_port) {
  if (absl::ConsumePrefix(&host_port, "[")) {
    const size_t end = host_port.find(']');
    return end == absl::string_view::npos ? absl::string_view() : host_port.substr(0, end);
  }
  const size_t colon = host_port.rfind(':');
  if (colon == absl::string_view::npos) return host_port;
  // Two or more colons without brackets: an IPv6 literal without a port.
  if (host_port.find(':') != colon) return host_port;
  return host_port.substr(0, colon);
}

}  // namespace

bool IsLoopbackAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) return true;
  if (absl::ConsumePrefix(&address, "dns:")) {
    // dns:[//authority/]host[:port]
    if (absl::ConsumePrefix(&address, "//")) {
      const size_t slash = address.find('/');
      if (slash == absl::string_view::npos) return false;
      address.remove_prefix(slash + 1);
    }
  } else if (absl::ConsumePrefix(&address, "ipv4:") || absl::ConsumePrefix(&address, "ipv6:")) {
    // A list of addresses: all of them must be loopback.
    for (absl::string_view one : absl::StrSplit(address, ',')) {
      if (!IsLoopbackHost(HostOf(one))) return false;
    }
    return !address.empty();
  }
  return IsLoopbackHost(HostOf(address));
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const ServerTlsOptions& tls,
                                                                               absl::string_view listen_address,
                                                                               bool allow_plaintext_remote) {
  if (!tls.enabled()) {
    if (!tls.client_ca_file.empty() || tls.require_client_cert) {
      return absl::InvalidArgumentError(
          "--tls_client_ca and --tls_require_client_cert need TLS: set --tls_cert and --tls_key");
    }
    if (!allow_plaintext_remote && !IsLoopbackAddress(listen_address)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to listen in plaintext on ", listen_address,
          ", which is not a loopback address: set --tls_cert and --tls_key, or, where a service mesh "
          "terminates TLS in front of this server, --allow_plaintext_remote"));
    }
    return grpc::InsecureServerCredentials();
  }
  std::string cert_pem, key_pem;
  if (absl::Status s = ReadKeyPair("--tls_cert", tls.cert_file, "--tls_key", tls.key_file, &cert_pem, &key_pem);
      !s.ok()) {
    return s;
  }
  if (tls.require_client_cert && tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_require_client_cert needs --tls_client_ca, the CAs client certificates must chain to");
  }
  grpc::SslServerCredentialsOptions options(
      tls.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
      : tls.client_ca_file.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                   : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::vector<X509Ptr>> cas =
        ReadCertificates("--tls_client_ca", tls.client_ca_file, &options.pem_root_certs);
    if (!cas.ok()) return cas.status();
  }
  options.pem_key_cert_pairs.push_back({key_pem, cert_pem});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const ClientTlsOptions& tls,
                                                                                 absl::string_view address) {
  if (!tls.tls()) {
    if (!tls.allow_plaintext_remote && !IsLoopbackAddress(address)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to connect in plaintext to ", address,
          ", which is not a loopback address: set --tls_ca (TLS), or, where a service mesh "
          "encrypts the connection, --allow_plaintext_remote"));
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions options;
  if (!tls.ca_file.empty()) {
    absl::StatusOr<std::vector<X509Ptr>> cas = ReadCertificates("--tls_ca", tls.ca_file, &options.pem_root_certs);
    if (!cas.ok()) return cas.status();
  }
  if (!tls.cert_file.empty() || !tls.key_file.empty()) {
    if (absl::Status s = ReadKeyPair("--tls_cert", tls.cert_file, "--tls_key", tls.key_file,
                                     &options.pem_cert_chain, &options.pem_private_key);
        !s.ok()) {
      return s;
    }
  }
  return grpc::SslCredentials(options);
}

}  // namespace opsteam::rpc
