#pragma once

// Runs a gRPC server the way every opsteam service does: callback services, the standard
// health service (NOT_SERVING while a dependency probe fails), reflection, keepalive,
// message size limits, TLS or mTLS (plaintext on loopback only, unless allowed), and a
// graceful stop (NOT_SERVING first, then drain with a deadline).

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "grpcpp/support/channel_arguments.h"
#include "libs/rpc/tls.h"

namespace opsteam::rpc {

struct ServerOptions {
  // host:port; port 0 picks a free port (see Server::port()).
  std::string listen_address = "127.0.0.1:0";
  // TLS, and optionally client certificates (mTLS); plaintext when not enabled.
  ServerTlsOptions tls;
  // Plaintext on an address that is not loopback, for meshes that terminate TLS in front
  // of the server. Without it such a Start fails with FAILED_PRECONDITION.
  bool allow_plaintext_remote = false;
  int max_message_bytes = 4 * 1024 * 1024;
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // How long in-flight calls may run on after a stop was asked for.
  absl::Duration drain_deadline = absl::Seconds(20);
  // Probed every `health_interval`; the health service says NOT_SERVING while it fails.
  std::function<absl::Status()> health_probe;
  absl::Duration health_interval = absl::Seconds(2);
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       const std::vector<grpc::Service*>& services);
  ~Server();  // Stop() if not yet stopped

  int port() const { return port_; }
  // NOT_SERVING, then Shutdown with the drain deadline; idempotent.
  void Stop();
  // Re-runs the health probe now and publishes its result (tests; normally periodic).
  void RefreshHealth();

 private:
  Server() = default;
  void HealthLoop();

  ServerOptions options_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Notification stop_health_;
  std::thread health_thread_;
  bool stopped_ = false;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread started after; call at
// the very start of main.
void BlockTerminationSignals();
// Waits for SIGTERM or SIGINT (after BlockTerminationSignals) and returns its number.
int WaitForTerminationSignal();

}  // namespace opsteam::rpc
