#pragma once

// Generation-validated cache-aside over Redis, with a small in-process layer in front.
//
// An entry depends on a few dependencies, strings such as "member:m-zhang-wei" or "tree".
// Each dependency has a generation token in Redis at `<prefix>gen:<dependency>`; invalidating
// a dependency replaces its token with a fresh random one. A stored value carries the tokens
// it was filled under and is valid only while they are still the current ones:
//
//   Read  MGET <key> <gen key of each dependency>: one round trip. A miss returns a
//         FillTicket holding the current tokens, taken before the caller reads the source.
//   Fill  SET <key> <tokens + value> PX <ttl>. An invalidation between Read and Fill has
//         already replaced a token, so the next Read rejects the entry: no Lua, no race.
//
// Producers run InvalidationCommands in the same MULTI/EXEC as, and before, the XADD that
// publishes the change; so whoever has received an event reads nothing older through here.
//
// Tokens are random, not counters: a generation key can vanish (a Redis restart without
// persistence, eviction, FLUSHDB) and a counter would then restart at values that old
// entries and in-flight tickets still carry, validating data filled before the change. A
// missing generation key validates nothing; a reader creates it with a fresh token (SET NX,
// one extra round trip, only then).
//
// Redis unavailable: reads answer "miss" at once (the Redis client fails fast during its
// backoff), fills skip Redis, callers fetch from the source. Nothing here fails because of
// Redis, except Invalidate, whose caller must know that the invalidation did not happen.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/cache/local_layer.h"
#include "libs/redis/redis_client.h"

namespace opsteam::cache {

// An entry depends on at most this many dependencies.
inline constexpr size_t kMaxDependencies = 16;
// Lifetime of a generation key after its last invalidation or creation. Expiring is safe (a
// missing key validates nothing); it keeps keys of dependencies nobody reads from piling up.
inline constexpr absl::Duration kGenerationTtl = absl::Hours(24);

// `<prefix>gen:<dependency>`.
std::string GenerationKey(absl::string_view prefix, absl::string_view dependency);

// The commands that invalidate `deps`: one `SET <gen key> <fresh token> PX <kGenerationTtl>`
// each. Run them in the MULTI/EXEC that publishes the change, before its XADD.
std::vector<std::vector<std::string>> InvalidationCommands(absl::string_view prefix,
                                                           const std::vector<std::string>& deps);

// Where a Read was answered from.
enum class Source { kLocal, kRedis, kMiss };

struct Stats {
  int64_t local_hits = 0;
  int64_t redis_hits = 0;
  // Reads answered by neither layer, including those Redis could not answer.
  int64_t misses = 0;
  // Redis entries rejected because a dependency was invalidated after they were filled.
  int64_t stale = 0;
  // Failed Redis commands; each became a miss, a skipped fill or a failed Invalidate.
  int64_t redis_errors = 0;
  // Values stored in Redis.
  int64_t fills = 0;
  // Fills not stored in Redis: Redis was unavailable at the read or the fill, or the value
  // was larger than max_value_bytes.
  int64_t fills_skipped = 0;
  // Values kept out of the local layer because a drop of their dependencies raced them.
  int64_t local_races = 0;
};

struct Options {
  // Required: the key namespace, e.g. "opsteam:org:v1:". Entry keys are `<prefix><key>`.
  std::string prefix;
  // The Redis server; none = only the local layer.
  std::optional<redis::Options> redis;
  // Connections to Redis; reads are spread over them (a connection runs one command at a time).
  int redis_connections = 4;
  // Lifetime of an entry in Redis: a safety net, invalidation is what keeps entries current.
  absl::Duration ttl = absl::Minutes(5);
  // Values above this size are not stored in Redis nor locally.
  size_t max_value_bytes = 1 << 20;
  // The local layer: at most `local_capacity` entries for `local_ttl` each; 0 or a zero TTL
  // turns it off. Its entries are not checked against Redis, so the TTL bounds how long a
  // change can stay unseen in a process that is not told about it (DropLocal).
  size_t local_capacity = 10000;
  absl::Duration local_ttl = absl::Seconds(2);
  // The local layer's clock (tests inject one); default absl::Now.
  std::function<absl::Time()> now;
  // Called after every Read with where it was answered from, without locks held (metrics).
  std::function<void(absl::string_view key, Source source)> on_read;
};

// What a miss hands to Fill: the tokens current at the Read and the local epoch.
class FillTicket {
 public:
  FillTicket() = default;
  // Whether a Fill may store the value anywhere.
  bool cacheable() const { return cacheable_; }
  // Whether a Fill will store it in Redis (false while Redis is unavailable).
  bool fills_redis() const { return !tokens_.empty(); }

 private:
  friend class Cache;
  bool cacheable_ = false;
  std::string key_;
  std::vector<std::string> deps_;
  std::vector<std::string> tokens_;  // one per dependency; empty when Redis did not answer
  LocalLayer::Epoch epoch_;
};

struct Lookup {
  Source source = Source::kMiss;
  // The cached value on a hit.
  std::optional<std::string> value;
  // On a miss: what to Fill with once the value is fetched from the source.
  FillTicket ticket;
};

class Cache {
 public:
  static absl::StatusOr<std::unique_ptr<Cache>> Create(Options options);
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // INVALID_ARGUMENT (naming "key" or "deps") unless `key` is non-empty and `deps` holds 1 to
  // kMaxDependencies non-empty strings.
  static absl::Status ValidateEntry(absl::string_view key, const std::vector<std::string>& deps);

  // Looks `key` up: local layer, then Redis (one round trip). An invalid entry is a miss
  // whose ticket is not cacheable.
  Lookup Read(absl::string_view key, const std::vector<std::string>& deps);
  // Stores `value` fetched after `ticket`'s Read in Redis (under the ticket's tokens) and
  // locally (unless a drop raced it).
  void Fill(const FillTicket& ticket, std::string value);
  // Read, and on a miss `fetch` then Fill. Errors of `fetch` are returned and not cached.
  absl::StatusOr<std::string> GetOrFill(absl::string_view key, const std::vector<std::string>& deps,
                                        const std::function<absl::StatusOr<std::string>()>& fetch);

  // Invalidates `deps` in Redis (InvalidationCommands in one MULTI/EXEC) and drops them
  // locally. UNAVAILABLE when Redis could not be told.
  absl::Status Invalidate(const std::vector<std::string>& deps);
  // Drops local entries depending on any of `deps` (Redis is not touched).
  void DropLocal(const std::vector<std::string>& deps);
  void DropAllLocal();

  Stats stats() const;
  const Options& options() const { return options_; }
  size_t local_size() const { return local_.size(); }

 private:
  explicit Cache(Options options);
  redis::Client* PickRedis();
  // Current tokens of `deps` from the MGET reply elements [1..]; creates missing ones.
  // Empty on a Redis error.
  std::vector<std::string> Tokens(redis::Client& redis, const std::vector<std::string>& deps,
                                  const std::vector<redis::Reply>& gens);
  void Report(absl::string_view key, Source source) const;

  const Options options_;
  LocalLayer local_;
  std::vector<std::unique_ptr<redis::Client>> redis_;
  std::atomic<uint32_t> next_redis_{0};

  std::atomic<int64_t> local_hits_{0};
  std::atomic<int64_t> redis_hits_{0};
  std::atomic<int64_t> misses_{0};
  std::atomic<int64_t> stale_{0};
  std::atomic<int64_t> redis_errors_{0};
  std::atomic<int64_t> fills_{0};
  std::atomic<int64_t> fills_skipped_{0};
  std::atomic<int64_t> local_races_{0};
};

}  // namespace opsteam::cache
