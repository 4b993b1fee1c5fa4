#include "libs/rpc/server.h"

#include <signal.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "libs/log/log.h"

namespace opsteam::rpc {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.tls, options.listen_address, options.allow_plaintext_remote);
  if (!credentials.ok()) return credentials.status();

  std::unique_ptr<Server> s(new Server());
  s->options_ = options;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, *credentials, &s->port_);
  for (auto* service : services) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Clients may ping every 10 s without being told off (GOAWAY too_many_pings).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address));
  }
  s->RefreshHealth();
  s->health_thread_ = std::thread([raw = s.get()] { raw->HealthLoop(); });
  const char* security = !options.tls.enabled()          ? "plaintext"
                         : options.tls.require_client_cert ? "TLS, client certificates required"
                                                           : "TLS";
  OPS_LOG(INFO) << "listening on " << options.listen_address << " (port " << s->port_ << ", " << security << ")";
  return s;
}

void Server::RefreshHealth() {
  absl::Status probe = options_.health_probe ? options_.health_probe() : absl::OkStatus();
  if (!probe.ok()) OPS_LOG(WARNING) << "health probe failed: " << probe.message();
  server_->GetHealthCheckService()->SetServingStatus(probe.ok());
}

void Server::HealthLoop() {
  while (!stop_health_.WaitForNotificationWithTimeout(options_.health_interval)) {
    RefreshHealth();
  }
}

void Server::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_health_.Notify();
  if (health_thread_.joinable()) health_thread_.join();
  if (!server_) return;  // Start failed before a server was built
  // Load balancers see NOT_SERVING first; in-flight calls then get the drain deadline.
  server_->GetHealthCheckService()->Shutdown();
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::milliseconds(absl::ToInt64Milliseconds(options_.drain_deadline));
  server_->Shutdown(deadline);
  server_->Wait();
  OPS_LOG(INFO) << "server stopped";
}

Server::~Server() { Stop(); }

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace opsteam::rpc
