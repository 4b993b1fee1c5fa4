// TLS and mutual TLS between rpc::Server and rpc::MakeChannel, with certificates made at
// test time, and the rule that plaintext stays on loopback.

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "libs/rpc/channel.h"
#include "libs/rpc/server.h"
#include "libs/rpc/tls.h"
#include "libs/testing/process.h"
#include "libs/testing/tls_files.h"

namespace opsteam::rpc {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::string> dir = opsteam::testing::MakeTempDir("rpc-tls-test");
    ASSERT_TRUE(dir.ok()) << dir.status();
    absl::StatusOr<opsteam::testing::TlsFiles> files = opsteam::testing::MakeTlsFiles(*dir);
    ASSERT_TRUE(files.ok()) << files.status();
    files_ = new opsteam::testing::TlsFiles(*files);
  }
  static void TearDownTestSuite() {
    if (files_ != nullptr) opsteam::testing::RemoveTree(files_->dir);
    delete files_;
    files_ = nullptr;
  }

  void TearDown() override { server_.reset(); }

  const opsteam::testing::TlsFiles& files() const { return *files_; }

  ServerTlsOptions ServerTls(bool require_client_cert = false) const {
    ServerTlsOptions tls;
    tls.cert_file = files().server_cert;
    tls.key_file = files().server_key;
    if (require_client_cert) {
      tls.client_ca_file = files().ca_cert;
      tls.require_client_cert = true;
    }
    return tls;
  }

  ClientTlsOptions ClientTls(bool with_cert = false) const {
    ClientTlsOptions tls;
    tls.ca_file = files().ca_cert;
    if (with_cert) {
      tls.cert_file = files().client_cert;
      tls.key_file = files().client_key;
    }
    return tls;
  }

  void StartServer(const ServerTlsOptions& tls) {
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.tls = tls;
    options.health_interval = absl::Hours(1);
    auto server = Server::Start(options, {});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // grpc.health.v1.Health/Check over a channel to 127.0.0.1 and the server's port. (By IP:
  // resolving names goes through c-ares, which leaks a few bytes per process under LSan.)
  grpc::Status Check(const ClientTlsOptions& tls) {
    auto channel = MakeChannel(absl::StrCat("127.0.0.1:", server_->port()), tls);
    EXPECT_TRUE(channel.ok()) << channel.status();
    if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
    grpc::GenericStub stub(*channel);
    grpc::ClientContext ctx;
    PrepareClientContext(&ctx, absl::Seconds(30), "");
    grpc::Slice empty(std::string{});
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    return status;
  }

  static opsteam::testing::TlsFiles* files_;
  std::unique_ptr<Server> server_;
};

opsteam::testing::TlsFiles* TlsTest::files_ = nullptr;

TEST_F(TlsTest, AClientTrustingTheCaTalksToATlsServer) {
  StartServer(ServerTls());
  // The certificate names 127.0.0.1 (and localhost, see the server name override below).
  grpc::Status ok = Check(ClientTls());
  EXPECT_TRUE(ok.ok()) << ok.error_code() << " " << ok.error_message();
}

TEST_F(TlsTest, PlaintextAndUntrustingClientsCannotTalkToATlsServer) {
  StartServer(ServerTls());
  grpc::Status plaintext = Check(ClientTlsOptions());
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();
  ClientTlsOptions other_ca;
  other_ca.ca_file = files().other_ca_cert;
  grpc::Status untrusted = Check(other_ca);
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE) << untrusted.error_message();
}

TEST_F(TlsTest, TheServerNameOverrideIsWhatTheCertificateIsCheckedAgainst) {
  StartServer(ServerTls());
  ClientTlsOptions tls = ClientTls();
  tls.server_name = "localhost";
  grpc::Status named = Check(tls);
  EXPECT_TRUE(named.ok()) << named.error_message();
  tls.server_name = "org.opsteam.example";
  grpc::Status wrong = Check(tls);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAVAILABLE) << wrong.error_message();
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  StartServer(ServerTls(/*require_client_cert=*/true));
  grpc::Status without = Check(ClientTls(/*with_cert=*/false));
  EXPECT_EQ(without.error_code(), grpc::StatusCode::UNAVAILABLE) << without.error_message();
  grpc::Status with = Check(ClientTls(/*with_cert=*/true));
  EXPECT_TRUE(with.ok()) << with.error_code() << " " << with.error_message();
}

TEST_F(TlsTest, MistakesInTheSettingsNameTheFlag) {
  auto start = [](const ServerTlsOptions& tls) {
    ServerOptions options;
    options.tls = tls;
    return Server::Start(options, {}).status();
  };
  ServerTlsOptions mismatched = ServerTls();
  mismatched.key_file = files().client_key;
  absl::Status s = start(mismatched);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), absl::StrCat("--tls_key ", files().client_key,
                                                          ": is not the key of the certificate in --tls_cert")))
      << s;

  ServerTlsOptions missing = ServerTls();
  missing.cert_file = files().dir + "/absent.crt";
  s = start(missing);
  EXPECT_TRUE(absl::StrContains(s.message(), absl::StrCat("--tls_cert ", files().dir, "/absent.crt: cannot read")))
      << s;

  ServerTlsOptions key_as_cert = ServerTls();
  key_as_cert.cert_file = files().server_key;
  s = start(key_as_cert);
  EXPECT_TRUE(absl::StrContains(s.message(), "holds no PEM certificate")) << s;

  ServerTlsOptions only_cert;
  only_cert.cert_file = files().server_cert;
  s = start(only_cert);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_cert and --tls_key go together; --tls_key is missing")) << s;

  ServerTlsOptions no_ca = ServerTls();
  no_ca.require_client_cert = true;
  s = start(no_ca);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_require_client_cert needs --tls_client_ca")) << s;

  ServerTlsOptions ca_without_tls;
  ca_without_tls.client_ca_file = files().ca_cert;
  s = start(ca_without_tls);
  EXPECT_TRUE(absl::StrContains(s.message(), "need TLS: set --tls_cert and --tls_key")) << s;

  ClientTlsOptions cert_without_key = ClientTls();
  cert_without_key.cert_file = files().client_cert;
  auto channel = MakeChannel("127.0.0.1:1", cert_without_key);
  EXPECT_TRUE(absl::StrContains(channel.status().message(), "--tls_key is missing")) << channel.status();
  ClientTlsOptions absent_ca;
  absent_ca.ca_file = files().dir + "/absent-ca.crt";
  channel = MakeChannel("127.0.0.1:1", absent_ca);
  EXPECT_TRUE(absl::StrContains(channel.status().message(), "--tls_ca " + files().dir + "/absent-ca.crt: cannot read"))
      << channel.status();
}

TEST(ChannelTest, PlaintextGoesToLoopbackOnlyUnlessAllowed) {
  for (const char* address : {"127.0.0.1:50051", "localhost:50051", "[::1]:50051", "dns:///localhost:50051",
                              "127.1.2.3:1", "unix:/tmp/org.sock"}) {
    EXPECT_TRUE(MakeChannel(address, ClientTlsOptions()).ok()) << address;
  }
  for (const char* address : {"10.1.2.3:50051", "org.opsteam.svc:50051", "dns:///org:50051", "0.0.0.0:50051",
                              "ipv4:127.0.0.1:1,10.0.0.1:1"}) {
    auto channel = MakeChannel(address, ClientTlsOptions());
    EXPECT_EQ(channel.status().code(), absl::StatusCode::kFailedPrecondition) << address;
    EXPECT_TRUE(absl::StrContains(channel.status().message(),
                                  absl::StrCat("refusing to connect in plaintext to ", address)))
        << channel.status();
    ClientTlsOptions allowed;
    allowed.allow_plaintext_remote = true;
    EXPECT_TRUE(MakeChannel(address, allowed).ok()) << address;
    ClientTlsOptions tls;
    tls.enabled = true;  // the default roots
    EXPECT_TRUE(MakeChannel(address, tls).ok()) << address;
  }
  EXPECT_EQ(MakeChannel("", ClientTlsOptions()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChannelTest, WhatCountsAsLoopback) {
  for (const char* address : {"127.0.0.1:0", "127.255.0.1:9", "localhost:1", "LOCALHOST:1", "[::1]:1", "::1",
                              "[::ffff:127.0.0.1]:1", "dns:localhost:1", "dns://8.8.8.8/localhost:1",
                              "ipv4:127.0.0.1:1,127.0.0.2:2", "ipv6:[::1]:1", "unix:/run/x.sock",
                              "unix-abstract:x", "localhost"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address : {"", ":50051", "0.0.0.0:1", "[::]:1", "128.0.0.1:1", "10.0.0.1:1", "[2001:db8::1]:1",
                              "localhost.example.com:1", "dns:///", "ipv4:", "[::1"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

}  // namespace
}  // namespace opsteam::rpc
