#pragma once

// The org service as the other services call it: one channel (TLS is the channel maker's
// business), a bearer token and a deadline on every call, retries of UNAVAILABLE only, and
// the shared cache (libs/cache) in front of the hot reads: authority checks, a member's
// posts and authorities, departments with their ancestors, subtrees.
//
// Every cached read is keyed by an explicit day: an empty `as_of` is resolved to today (UTC)
// before anything is read, sent to the server as that day and put in the key, so a
// future-dated change taking effect at midnight is never hidden behind yesterday's entry.
//
// Freshness: the org relay invalidates an event's dependencies in Redis before publishing
// it, so once an event has been received, reads through any client miss the older entries
// in Redis. The in-process layer of this client is not checked against Redis; an event
// consumer calls Observe(event) before applying the event, and the optional listener calls
// it for every event on the stream so other processes follow within moments (the local TTL
// bounds the rest). Redis unavailable: reads go to the org service, slower but correct.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "libs/cache/cache.h"
#include "libs/orgclient/member_posts.pb.h"
#include "libs/orgclient/org_invalidation.h"
#include "libs/redis/redis_client.h"
#include "opsteam/events/v1/event.pb.h"
#include "opsteam/org/v1/org_service.grpc.pb.h"

namespace opsteam::orgclient {

namespace v1 = ::opsteam::org::v1;

class EventListener;

// The org cache: kOrgCachePrefix, the local layer on, no Redis (set `redis` to share
// entries between processes; CacheRedisOptions suits it).
cache::Options DefaultCacheOptions();
// Redis client options for a cache: short timeouts and a quick reconnect backoff, so that
// a Redis outage costs a read a few milliseconds at most before it goes to the source.
redis::Options CacheRedisOptions(const std::string& host, int port);

struct Options {
  // The bearer token for the next call, sent as "authorization: Bearer <token>" unless
  // empty. Called once per attempt, so a refreshed token is picked up.
  std::function<std::string()> token_provider;
  // Deadline of every call (a composite read shares one); a caller's earlier deadline wins.
  absl::Duration deadline = absl::Seconds(2);
  // Attempts of a call that fails with UNAVAILABLE (1 = no retry); other codes are final.
  int max_attempts = 3;
  // Pause before the first retry, doubling up to max_backoff; each pause is drawn from
  // [half, full] of its value so that clients do not retry in step.
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
  cache::Options cache = DefaultCacheOptions();
  // Follow the org event stream (needs cache.redis): a thread with its own Redis
  // connection calls Observe for every event, and drops the whole local layer when it may
  // have missed some (Redis errors, sequence gaps).
  bool follow_events = false;
  // How long one XREAD blocks; also how long destruction may wait for the listener.
  absl::Duration event_block = absl::Milliseconds(500);
  // Subtrees with more departments are answered but not cached.
  size_t max_cached_subtree = 2000;
  // Today's date, for reads without `as_of`; default: today in UTC.
  std::function<absl::CivilDay()> today;
};

// Whether a pass-through Call retries UNAVAILABLE: only safe for reads and for writes that
// carry a request_id.
enum class Retry { kNever, kOnUnavailable };

class OrgClient {
 public:
  static absl::StatusOr<std::unique_ptr<OrgClient>> Create(std::shared_ptr<grpc::Channel> channel,
                                                           Options options);
  ~OrgClient();
  OrgClient(const OrgClient&) = delete;
  OrgClient& operator=(const OrgClient&) = delete;

  // ---- Cached reads. `deadline` is the caller's own (e.g. its incoming call's); errors of
  // the org service come back as its absl::Status (NOT_FOUND, INVALID_ARGUMENT naming the
  // field ...) and are never cached.

  // CheckAuthority as the org service answers it, for request.as_of() or today.
  absl::StatusOr<v1::CheckAuthorityResponse> CheckAuthority(const v1::CheckAuthorityRequest& request,
                                                           absl::Time deadline = absl::InfiniteFuture());
  // The authorities `member` ("members/{member}") holds on `as_of` (empty = today).
  absl::StatusOr<v1::ListAuthoritiesResponse> ListAuthorities(absl::string_view member,
                                                             absl::string_view as_of = "",
                                                             absl::Time deadline = absl::InfiniteFuture());
  // The member with the assignments in force on `as_of`, each with position and department.
  absl::StatusOr<MemberPosts> GetMemberPosts(absl::string_view member, absl::string_view as_of = "",
                                             absl::Time deadline = absl::InfiniteFuture());
  // The department `name` ("departments/{department}") on `as_of`, with its ancestors.
  absl::StatusOr<v1::Department> GetDepartment(absl::string_view name, absl::string_view as_of = "",
                                               absl::Time deadline = absl::InfiniteFuture());
  // Every department below `department` on `as_of` (ListDepartments recursive, all pages).
  absl::StatusOr<std::vector<v1::Department>> ListSubtree(absl::string_view department,
                                                          absl::string_view as_of = "",
                                                          absl::Time deadline = absl::InfiniteFuture());

  // Drops the local entries `event` invalidates (CacheDependencies). Event consumers call it
  // before applying an event, so that their reads through this client reflect it.
  void Observe(const opsteam::events::v1::Event& event);

  // ---- Everything else: the raw stub, with the client's deadline and token.

  v1::OrgService::Stub& stub() { return *stub_; }
  // Sets the deadline (the configured one from now, or `deadline` when earlier) and the
  // bearer token on a context for a call of stub().
  void PrepareContext(grpc::ClientContext* context, absl::Time deadline = absl::InfiniteFuture()) const;
  // Runs `method` of the stub like the cached reads do (deadline, token, retries if asked).
  template <typename Request, typename Response>
  absl::Status Call(grpc::Status (v1::OrgService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                                 Response*),
                    const Request& request, Response* response, Retry retry = Retry::kNever,
                    absl::Time deadline = absl::InfiniteFuture()) {
    return Invoke(
        [&](grpc::ClientContext* context) {
          response->Clear();
          return (stub_.get()->*method)(context, request, response);
        },
        retry, deadline);
  }

  cache::Stats cache_stats() const { return cache_->stats(); }
  cache::Cache& cache() { return *cache_; }
  // Events the listener passed to Observe, and times it dropped the whole local layer.
  int64_t listener_events() const;
  int64_t listener_resyncs() const;

 private:
  OrgClient(std::shared_ptr<grpc::Channel> channel, Options options, std::unique_ptr<cache::Cache> cache);
  absl::Status Invoke(const std::function<grpc::Status(grpc::ClientContext*)>& attempt, Retry retry,
                      absl::Time deadline) const;
  absl::Time Deadline(absl::Time caller) const;
  // `as_of` as an explicit day: today when empty; INVALID_ARGUMENT naming `field` otherwise.
  absl::StatusOr<std::string> Day(absl::string_view as_of, absl::string_view field) const;
  // Cache-aside for one message type; `cacheable` may refuse to store a fetched value.
  template <typename Message>
  absl::StatusOr<Message> Cached(const std::string& key, const std::vector<std::string>& deps,
                                 const std::function<absl::StatusOr<Message>()>& fetch,
                                 const std::function<bool(const Message&)>& cacheable = nullptr);
  absl::StatusOr<MemberPosts> FetchMemberPosts(const std::string& member, const std::string& day,
                                               absl::Time deadline);

  const Options options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::OrgService::Stub> stub_;
  std::unique_ptr<cache::Cache> cache_;
  std::unique_ptr<EventListener> listener_;  // after cache_: stops before it goes
};

}  // namespace opsteam::orgclient
