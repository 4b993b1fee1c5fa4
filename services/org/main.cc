// org-service: the organisation (departments, positions, members, assignments) over gRPC.

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/cache/cache.h"
#include "libs/events/outbox_notifier.h"
#include "libs/orgclient/org_invalidation.h"
#include "libs/events/relay.h"
#include "libs/log/log.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pg.h"
#include "libs/rpc/env.h"
#include "libs/rpc/server.h"
#include "libs/rpc/worker_pool.h"
#include "services/org/migrations.h"
#include "services/org/org_events.h"
#include "services/org/org_logic.h"
#include "services/org/org_service.h"

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
    std::ifstream in(file);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("--redis_password_file: cannot read ", file));
    std::stringstream text;
    text << in.rdbuf();
    options.redis.password = std::string(absl::StripTrailingAsciiWhitespace(text.str()));
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  opsteam::rpc::BlockTerminationSignals();
  absl::SetProgramUsageMessage("opsteam org-service: departments, positions, members, assignments");
  absl::ParseCommandLine(argc, argv);
  const std::string conninfo = absl::GetFlag(FLAGS_pg);
  if (conninfo.empty()) {
    std::fprintf(stderr, "org-service: --pg (or OPSTEAM_ORG_PG) is required\n");
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
    auto options = RelayOptions(redis);
    if (!options.ok()) {
      OPS_LOG(ERROR) << options.status().message();
      return 2;
    }
    relay = std::make_unique<opsteam::events::Relay>(std::move(*options), &notifier);
    relay->Start();
  } else {
    OPS_LOG(WARNING) << "no --redis: org events stay in the outbox until a relay publishes them";
  }
  opsteam::org::OrgGrpcService service(logic, workers, &notifier);

  opsteam::rpc::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
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
