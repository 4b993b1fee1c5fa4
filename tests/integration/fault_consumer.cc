// fault_consumer: an event consumer process for the fault tests. It applies every org event
// to its own database (table `effects`, one row per applied event, no uniqueness so a
// duplicate effect would show), through the events library exactly as a service would, and
// runs until SIGTERM (or SIGKILL, which is the point).
//
// It also checks the cache's promise: after applying a rename of the probe member
// ("v<k>"), it reads the member through an OrgClient with the shared Redis cache and its
// local layer, and records in `cache_checks` whether the answer was at least that new.

#include <csignal>
#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "libs/events/consumer.h"
#include "libs/events/watch_replay.h"
#include "libs/orgclient/org_client.h"
#include "opsteam/org/v1/events.pb.h"
#include "libs/log/log.h"
#include "libs/pg/pg.h"
#include "libs/rpc/server.h"

ABSL_FLAG(std::string, pg, "", "consumer database");
ABSL_FLAG(std::string, redis, "127.0.0.1:6379", "host:port of Redis");
ABSL_FLAG(std::string, org, "", "org-service address, for replaying missing events");
ABSL_FLAG(std::string, token, "", "bearer token for the org service");
ABSL_FLAG(std::string, group, "fault-test", "consumer group");
ABSL_FLAG(std::string, name, "", "consumer name");
ABSL_FLAG(int, reclaim_idle_ms, 2000, "take over entries idle this long");
ABSL_FLAG(int, apply_delay_ms, 0, "extra time each effect takes (to be killed mid-batch)");

int main(int argc, char** argv) {
  opsteam::rpc::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  const std::string conninfo = absl::GetFlag(FLAGS_pg);
  {
    auto conn = opsteam::pg::Connection::Open(conninfo, absl::Seconds(10));
    if (!conn.ok()) {
      std::fprintf(stderr, "fault_consumer: %s\n", std::string(conn.status().message()).c_str());
      return 1;
    }
    absl::Status s = opsteam::events::EnsureInboxSchema(**conn);
    if (s.ok()) {
      s = (*conn)->ExecScript(
          "CREATE TABLE IF NOT EXISTS effects (n bigserial PRIMARY KEY, sequence bigint NOT NULL,"
          " event_id text NOT NULL, consumer text NOT NULL, time timestamptz NOT NULL DEFAULT clock_timestamp());"
          "CREATE TABLE IF NOT EXISTS cache_checks (n bigserial PRIMARY KEY, sequence bigint NOT NULL,"
          " applied integer NOT NULL, read integer NOT NULL, consumer text NOT NULL)");
    }
    if (!s.ok()) {
      std::fprintf(stderr, "fault_consumer: schema: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  opsteam::pg::Pool pool({.conninfo = conninfo, .size = 4});
  const std::string token = absl::GetFlag(FLAGS_token);
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_org), grpc::InsecureChannelCredentials());
  opsteam::events::WatchChangesReplay replay(channel, [token] { return token; });

  opsteam::events::ConsumerOptions options;
  options.source = "org";
  options.group = absl::GetFlag(FLAGS_group);
  options.consumer = absl::GetFlag(FLAGS_name);
  std::pair<std::string, std::string> hp = absl::StrSplit(absl::GetFlag(FLAGS_redis), absl::MaxSplits(':', 1));
  options.redis.host = hp.first;
  if (!absl::SimpleAtoi(hp.second, &options.redis.port)) return 2;
  options.redis.max_backoff = absl::Milliseconds(200);
  options.reclaim_idle = absl::Milliseconds(absl::GetFlag(FLAGS_reclaim_idle_ms));
  options.reclaim_interval = absl::Milliseconds(200);
  const absl::Duration delay = absl::Milliseconds(absl::GetFlag(FLAGS_apply_delay_ms));
  const std::string name = options.consumer;

  opsteam::orgclient::Options client_options;
  client_options.token_provider = [token] { return token; };
  client_options.cache.redis = opsteam::orgclient::CacheRedisOptions(options.redis.host, options.redis.port);
  auto client = opsteam::orgclient::OrgClient::Create(channel, client_options);
  if (!client.ok()) return 1;
  // The number in a probe name "v<k>"; -1 for anything else.
  auto version = [](const std::string& display_name) {
    int v = -1;
    if (display_name.size() > 1 && display_name[0] == 'v') (void)absl::SimpleAtoi(display_name.substr(1), &v);
    return v;
  };
  options.before_apply = [&](const opsteam::events::v1::Event& e) { (*client)->Observe(e); };
  options.after_apply = [&](const opsteam::events::v1::Event& e) {
    if (e.type() != "opsteam.org.member.changed" || e.subject() != "members/m-probe") return;
    opsteam::org::v1::MemberChanged changed;
    if (!e.data().UnpackTo(&changed)) return;
    auto posts = (*client)->GetMemberPosts("members/m-probe");
    if (!posts.ok()) return;  // the org service or its database is down: nothing to compare
    (void)opsteam::pg::RunStatements(pool, [&](opsteam::pg::Tx& tx) {
      return tx.Exec("INSERT INTO cache_checks (sequence, applied, read, consumer) VALUES ($1::bigint, $2::int, $3::int, $4)",
                     {absl::StrCat(e.sequence()), absl::StrCat(version(changed.after().display_name())),
                      absl::StrCat(version(posts->member().display_name())), name})
          .status();
    });
  };
  opsteam::events::Consumer consumer(
      options, pool, &replay, [&](opsteam::pg::Tx& tx, const opsteam::events::v1::Event& e) -> absl::Status {
        if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
        return tx.Exec("INSERT INTO effects (sequence, event_id, consumer) VALUES ($1::bigint, $2, $3)",
                       {absl::StrCat(e.sequence()), e.id(), name})
            .status();
      });
  consumer.Start();
  std::printf("fault_consumer %s: consuming\n", name.c_str());
  std::fflush(stdout);
  opsteam::rpc::WaitForTerminationSignal();
  consumer.Stop();
  const auto stats = consumer.stats();
  std::printf("fault_consumer %s: applied %lld, duplicates %lld, replayed %lld, reclaimed %lld\n", name.c_str(),
              static_cast<long long>(stats.applied), static_cast<long long>(stats.duplicates),
              static_cast<long long>(stats.replayed), static_cast<long long>(stats.reclaimed));
  return 0;
}
