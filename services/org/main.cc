// org-service: the organisation (departments, positions, members, assignments) over gRPC.

#include <cstdio>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/auth/jwt_authenticator.h"
#include "libs/cache/cache.h"
#include "libs/events/outbox_notifier.h"
#include "libs/events/relay.h"
#include "libs/orgclient/org_invalidation.h"
#include "libs/log/log.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pg.h"
#include "libs/rpc/env.h"
#include "libs/rpc/flag_file.h"
#include "libs/rpc/server.h"
#include "libs/rpc/worker_pool.h"
#include "services/org/migrations.h"
#include "services/org/org_events.h"
#include "services/org/org_logic.h"
#include "services/org/org_service.h"

using opsteam::rpc::EnvBool;
using opsteam::rpc::EnvOr;

ABSL_FLAG(std::string, listen, EnvOr("OPSTEAM_ORG_LISTEN", "127.0.0.1:50051"),
          "host:port to serve gRPC on (env OPSTEAM_ORG_LISTEN)");
ABSL_FLAG(std::string, pg, EnvOr("OPSTEAM_ORG_PG", ""),
          "libpq connection string of the org database (env OPSTEAM_ORG_PG)");
ABSL_FLAG(int, pg_pool, EnvOr("OPSTEAM_ORG_PG_POOL", 16), "database connections (env OPSTEAM_ORG_PG_POOL)");
ABSL_FLAG(int, workers, EnvOr("OPSTEAM_ORG_WORKERS", 16),
          "threads running database work (env OPSTEAM_ORG_WORKERS)");
ABSL_FLAG(int, max_queued, EnvOr("OPSTEAM_ORG_MAX_QUEUED", 1000),
          "calls waiting for a worker before RESOURCE_EXHAUSTED (env OPSTEAM_ORG_MAX_QUEUED)");
ABSL_FLAG(int, drain_seconds, EnvOr("OPSTEAM_ORG_DRAIN_SECONDS", 20),
          "how long in-flight calls may finish after SIGTERM (env OPSTEAM_ORG_DRAIN_SECONDS)");
ABSL_FLAG(int, max_message_mb, EnvOr("OPSTEAM_ORG_MAX_MESSAGE_MB", 64),
          "largest request or response in MiB; org charts of large organisations need room "
          "(env OPSTEAM_ORG_MAX_MESSAGE_MB)");
ABSL_FLAG(bool, migrate, true, "apply database migrations at start");
ABSL_FLAG(std::string, redis, EnvOr("OPSTEAM_REDIS", ""),
          "host:port of Redis, where the outbox relay publishes the org events (stream "
          "opsteam.org.events) and invalidates the shared cache; empty = events stay in the "
          "outbox (WatchChanges still serves them) (env OPSTEAM_REDIS)");
ABSL_FLAG(std::string, redis_password_file, EnvOr("OPSTEAM_REDIS_PASSWORD_FILE", ""),
          "file holding the Redis password (env OPSTEAM_REDIS_PASSWORD_FILE)");
ABSL_FLAG(bool, relay, true,
          "run the outbox relay (one replica leads, the others stand by)");

namespace {

absl::StatusOr<opsteam::events::RelayOptions> RelayOptions(const std::string& redis) {
  opsteam::events::RelayOptions options;
  options.source = opsteam::org::kEventSource;
  options.conninfo = absl::GetFlag(FLAGS_pg);
  // The shared cache's entries that depend on what the event changed are invalidated in the
  // same MULTI/EXEC, before the XADD: a consumer that has the event never reads older data.
  options.before_publish = [](const opsteam::events::v1::Event& e) {
    return opsteam::cache::InvalidationCommands(opsteam::orgclient::kOrgCachePrefix,
                                                opsteam::orgclient::CacheDependencies(e));
  };
  std::pair<std::string, std::string> hp = absl::StrSplit(redis, absl::MaxSplits(':', 1));
  if (hp.first.empty() || !absl::SimpleAtoi(hp.second, &options.redis.port) || options.redis.port <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--redis: expected host:port, got \"", redis, "\""));
  }
  options.redis.host = hp.first;
  if (const std::string file = absl::GetFlag(FLAGS_redis_password_file); !file.empty()) {
    auto text = opsteam::rpc::ReadFlagFile("--redis_password_file", file);
    if (!text.ok()) return text.status();
    options.redis.password = std::string(absl::StripTrailingAsciiWhitespace(*text));
  }
  return options;
}

}  // namespace

// Bearer tokens: every RPC but health and reflection needs one.
ABSL_FLAG(std::string, jwt_issuer, EnvOr("OPSTEAM_JWT_ISSUER", "opsteam"),
          "required \"iss\" of bearer tokens (env OPSTEAM_JWT_ISSUER)");
ABSL_FLAG(std::string, jwt_audience, EnvOr("OPSTEAM_JWT_AUDIENCE", "opsteam"),
          "\"aud\" bearer tokens must name (env OPSTEAM_JWT_AUDIENCE)");
ABSL_FLAG(std::string, jwt_hs256_secret_file, EnvOr("OPSTEAM_JWT_HS256_SECRET_FILE", ""),
          "file holding the HS256 secret tokens may be signed with, for local runs "
          "(env OPSTEAM_JWT_HS256_SECRET_FILE)");
ABSL_FLAG(std::string, jwt_public_keys, EnvOr("OPSTEAM_JWT_PUBLIC_KEYS", ""),
          "comma-separated PEM public keys (RS256 or ES256) of the token issuer; a file's stem is "
          "its key id (env OPSTEAM_JWT_PUBLIC_KEYS)");
ABSL_FLAG(int, jwt_leeway_seconds, EnvOr("OPSTEAM_JWT_LEEWAY_SECONDS", 60),
          "allowed clock difference with the token issuer (env OPSTEAM_JWT_LEEWAY_SECONDS)");

// TLS: without it the server listens on loopback only.
ABSL_FLAG(std::string, tls_cert, EnvOr("OPSTEAM_ORG_TLS_CERT", ""),
          "PEM certificate chain of the server; with --tls_key it serves TLS only (env OPSTEAM_ORG_TLS_CERT)");
ABSL_FLAG(std::string, tls_key, EnvOr("OPSTEAM_ORG_TLS_KEY", ""),
          "PEM private key of --tls_cert (env OPSTEAM_ORG_TLS_KEY)");
ABSL_FLAG(std::string, tls_client_ca, EnvOr("OPSTEAM_ORG_TLS_CLIENT_CA", ""),
          "PEM CAs client certificates are verified against (env OPSTEAM_ORG_TLS_CLIENT_CA)");
ABSL_FLAG(bool, tls_require_client_cert, EnvBool("OPSTEAM_ORG_TLS_REQUIRE_CLIENT_CERT", false),
          "mutual TLS: refuse clients without a certificate from --tls_client_ca "
          "(env OPSTEAM_ORG_TLS_REQUIRE_CLIENT_CERT)");
ABSL_FLAG(bool, allow_plaintext_remote, EnvBool("OPSTEAM_ORG_ALLOW_PLAINTEXT_REMOTE", false),
          "serve plaintext on a non-loopback --listen address, where a service mesh terminates TLS "
          "(env OPSTEAM_ORG_ALLOW_PLAINTEXT_REMOTE)");

int main(int argc, char** argv) {
  opsteam::rpc::BlockTerminationSignals();
  absl::SetProgramUsageMessage("opsteam org-service: departments, positions, members, assignments");
  absl::ParseCommandLine(argc, argv);
  const std::string conninfo = absl::GetFlag(FLAGS_pg);
  if (conninfo.empty()) {
    std::fprintf(stderr, "org-service: --pg (or OPSTEAM_ORG_PG) is required\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_jwt_leeway_seconds) < 0) {
    std::fprintf(stderr, "org-service: --jwt_leeway_seconds must not be negative\n");
    return 2;
  }
  opsteam::auth::JwtConfig jwt;
  jwt.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  jwt.audience = absl::GetFlag(FLAGS_jwt_audience);
  jwt.hs256_secret_file = absl::GetFlag(FLAGS_jwt_hs256_secret_file);
  jwt.public_key_files = absl::StrSplit(absl::GetFlag(FLAGS_jwt_public_keys), ',', absl::SkipWhitespace());
  jwt.leeway = absl::Seconds(absl::GetFlag(FLAGS_jwt_leeway_seconds));
  auto authenticator = opsteam::auth::JwtAuthenticator::FromConfig(jwt);
  if (!authenticator.ok()) {
    std::fprintf(stderr, "org-service: %s\n", std::string(authenticator.status().message()).c_str());
    return 2;
  }
  opsteam::rpc::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.tls.require_client_cert = absl::GetFlag(FLAGS_tls_require_client_cert);
  options.allow_plaintext_remote = absl::GetFlag(FLAGS_allow_plaintext_remote);
  // Checked again by Server::Start; here a mistake stops the start before any database work.
  if (auto credentials = opsteam::rpc::MakeServerCredentials(options.tls, options.listen_address,
                                                             options.allow_plaintext_remote);
      !credentials.ok()) {
    std::fprintf(stderr, "org-service: %s\n", std::string(credentials.status().message()).c_str());
    return 2;
  }

  opsteam::pg::Pool pool({.conninfo = conninfo, .size = absl::GetFlag(FLAGS_pg_pool)});
  if (absl::GetFlag(FLAGS_migrate)) {
    auto conn = opsteam::pg::Connection::Open(conninfo, absl::Seconds(10));
    if (!conn.ok()) {
      OPS_LOG(ERROR) << "cannot connect to the database: " << conn.status().message();
      return 1;
    }
    if (auto s = opsteam::pg::ApplyMigrations(**conn, "org", opsteam::org::Migrations()); !s.ok()) {
      OPS_LOG(ERROR) << "migrations failed: " << s.message();
      return 1;
    }
  }

  opsteam::rpc::WorkerPool workers(absl::GetFlag(FLAGS_workers),
                                   static_cast<size_t>(absl::GetFlag(FLAGS_max_queued)));
  opsteam::org::OrgLogic logic(pool);
  opsteam::events::OutboxNotifier notifier(conninfo, opsteam::org::kEventSource);
  notifier.Start();
  std::unique_ptr<opsteam::events::Relay> relay;
  if (const std::string redis = absl::GetFlag(FLAGS_redis); !redis.empty() && absl::GetFlag(FLAGS_relay)) {
    auto relay_options = RelayOptions(redis);
    if (!relay_options.ok()) {
      OPS_LOG(ERROR) << relay_options.status().message();
      return 2;
    }
    relay = std::make_unique<opsteam::events::Relay>(std::move(*relay_options), &notifier);
    relay->Start();
  } else {
    OPS_LOG(WARNING) << "no --redis: org events stay in the outbox until a relay publishes them";
  }
  opsteam::org::OrgGrpcService service(logic, workers, **authenticator, &notifier);

  options.drain_deadline = absl::Seconds(absl::GetFlag(FLAGS_drain_seconds));
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_mb) << 20;
  options.health_probe = [&pool] { return pool.Ping(); };
  auto server = opsteam::rpc::Server::Start(options, {&service});
  if (!server.ok()) {
    OPS_LOG(ERROR) << server.status().message();
    return 1;
  }
  const int sig = opsteam::rpc::WaitForTerminationSignal();
  OPS_LOG(INFO) << "signal " << sig << ": draining";
  (*server)->Stop();
  if (relay) relay->Stop();
  notifier.Stop();
  return 0;
}
