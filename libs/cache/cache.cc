#include "libs/cache/cache.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/status/status.h"

namespace opsteam::cache {
namespace {

// Stored value: kFormat, the number of tokens, each token as <length byte><bytes>, then the
// payload. A different first byte is a value this code does not understand (a miss).
constexpr char kFormat = 'g';
constexpr size_t kMaxTokenBytes = 255;

std::string NewToken() {
  thread_local absl::BitGen gen;
  const uint64_t bits = absl::Uniform<uint64_t>(gen);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(&bits), sizeof(bits)));
}

std::string PxMillis(absl::Duration d) {
  return absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

std::string Encode(const std::vector<std::string>& tokens, absl::string_view value) {
  std::string out;
  size_t size = 2 + value.size();
  for (const auto& t : tokens) size += 1 + t.size();
  out.reserve(size);
  out.push_back(kFormat);
  out.push_back(static_cast<char>(tokens.size()));
  for (const auto& t : tokens) {
    out.push_back(static_cast<char>(t.size()));
    out.append(t);
  }
  out.append(value.data(), value.size());
  return out;
}

// Whether `stored` was filled under exactly `tokens`; its payload then goes to `payload`.
bool Matches(absl::string_view stored, const std::vector<std::string>& tokens,
             absl::string_view* payload) {
  if (stored.size() < 2 || stored[0] != kFormat ||
      static_cast<unsigned char>(stored[1]) != tokens.size()) {
    return false;
  }
  stored.remove_prefix(2);
  for (const auto& t : tokens) {
    if (stored.empty()) return false;
    const size_t len = static_cast<unsigned char>(stored[0]);
    stored.remove_prefix(1);
    if (stored.size() < len || stored.substr(0, len) != t) return false;
    stored.remove_prefix(len);
  }
  *payload = stored;
  return true;
}

bool EncodableTokens(const std::vector<std::string>& tokens) {
  for (const auto& t : tokens) {
    if (t.empty() || t.size() > kMaxTokenBytes) return false;
  }
  return true;
}

}  // namespace

std::string GenerationKey(absl::string_view prefix, absl::string_view dependency) {
  return absl::StrCat(prefix, "gen:", dependency);
}

std::vector<std::vector<std::string>> InvalidationCommands(absl::string_view prefix,
                                                           const std::vector<std::string>& deps) {
  std::vector<std::vector<std::string>> out;
  out.reserve(deps.size());
  for (const auto& d : deps) {
    out.push_back({"SET", GenerationKey(prefix, d), NewToken(), "PX", PxMillis(kGenerationTtl)});
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Cache>> Cache::Create(Options options) {
  if (options.prefix.empty()) return InvalidArgument("prefix", "is required, e.g. \"opsteam:org:v1:\"");
  if (options.redis && options.redis_connections < 1) {
    return InvalidArgument("redis_connections", absl::StrCat("must be at least 1, got ", options.redis_connections));
  }
  if (options.ttl < absl::Milliseconds(1)) {
    return InvalidArgument("ttl", absl::StrCat("must be at least 1ms, got ", absl::FormatDuration(options.ttl)));
  }
  if (options.local_ttl < absl::ZeroDuration()) {
    return InvalidArgument("local_ttl", absl::StrCat("must not be negative, got ",
                                                     absl::FormatDuration(options.local_ttl)));
  }
  return std::unique_ptr<Cache>(new Cache(std::move(options)));
}

Cache::Cache(Options options)
    : options_(std::move(options)),
      local_(options_.local_capacity, options_.local_ttl, options_.now) {
  if (options_.redis) {
    for (int i = 0; i < options_.redis_connections; ++i) {
      redis_.push_back(std::make_unique<redis::Client>(*options_.redis));
    }
  }
}

absl::Status Cache::ValidateEntry(absl::string_view key, const std::vector<std::string>& deps) {
  if (key.empty()) return InvalidArgument("key", "is required");
  if (deps.size() > kMaxDependencies) {
    return InvalidArgument("deps", absl::StrCat("at most ", kMaxDependencies, " dependencies, got ", deps.size()));
  }
  for (size_t i = 0; i < deps.size(); ++i) {
    if (deps[i].empty()) return InvalidArgument(absl::StrCat("deps[", i, "]"), "must not be empty");
  }
  return absl::OkStatus();
}

redis::Client* Cache::PickRedis() {
  return redis_[next_redis_.fetch_add(1, std::memory_order_relaxed) % redis_.size()].get();
}

void Cache::Report(absl::string_view key, Source source) const {
  if (options_.on_read) options_.on_read(key, source);
}

std::vector<std::string> Cache::Tokens(redis::Client& redis, const std::vector<std::string>& deps,
                                       const std::vector<redis::Reply>& gens) {
  std::vector<std::string> tokens(deps.size());
  std::vector<std::vector<std::string>> create;
  std::vector<size_t> missing;
  for (size_t i = 0; i < deps.size(); ++i) {
    const redis::Reply& g = gens[i + 1];
    if (g.type == redis::Reply::Type::kString && !g.str.empty()) {
      tokens[i] = g.str;
      continue;
    }
    // Whoever creates the key first wins; the GET returns the winner's (or a newer) token.
    const std::string key = GenerationKey(options_.prefix, deps[i]);
    create.push_back({"SET", key, NewToken(), "NX", "PX", PxMillis(kGenerationTtl)});
    create.push_back({"GET", key});
    missing.push_back(i);
  }
  if (missing.empty()) return tokens;
  auto replies = redis.Pipeline(create);
  if (!replies.ok()) {
    redis_errors_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  for (size_t j = 0; j < missing.size(); ++j) {
    const auto& got = (*replies)[2 * j + 1];
    if (!got.ok() || got->type != redis::Reply::Type::kString || got->str.empty()) {
      redis_errors_.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
    tokens[missing[j]] = got->str;
  }
  return tokens;
}

Lookup Cache::Read(absl::string_view key, const std::vector<std::string>& deps) {
  Lookup out;
  if (!ValidateEntry(key, deps).ok()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    Report(key, Source::kMiss);
    return out;
  }
  FillTicket& t = out.ticket;
  t.cacheable_ = true;
  t.key_ = std::string(key);
  t.deps_ = deps;
  // Taken before anything is read, so that a drop during the read cancels the local store.
  t.epoch_ = local_.Snapshot(deps);
  if (auto v = local_.Get(key)) {
    local_hits_.fetch_add(1, std::memory_order_relaxed);
    out.source = Source::kLocal;
    out.value = std::move(v);
    Report(key, out.source);
    return out;
  }
  if (!redis_.empty()) {
    redis::Client& redis = *PickRedis();
    std::vector<std::string> mget;
    mget.reserve(deps.size() + 2);
    mget.push_back("MGET");
    mget.push_back(absl::StrCat(options_.prefix, key));
    for (const auto& d : deps) mget.push_back(GenerationKey(options_.prefix, d));
    auto reply = redis.Command(mget);
    if (!reply.ok() || reply->type != redis::Reply::Type::kArray ||
        reply->elements.size() != deps.size() + 1) {
      redis_errors_.fetch_add(1, std::memory_order_relaxed);
    } else if (std::vector<std::string> tokens = Tokens(redis, deps, reply->elements); !tokens.empty()) {
      const redis::Reply& entry = reply->elements[0];
      absl::string_view payload;
      if (entry.type == redis::Reply::Type::kString && Matches(entry.str, tokens, &payload)) {
        redis_hits_.fetch_add(1, std::memory_order_relaxed);
        out.source = Source::kRedis;
        out.value = std::string(payload);
        if (local_.enabled() && !local_.Put(t.key_, deps, *out.value, t.epoch_)) {
          local_races_.fetch_add(1, std::memory_order_relaxed);
        }
        Report(key, out.source);
        return out;
      }
      if (entry.type == redis::Reply::Type::kString) stale_.fetch_add(1, std::memory_order_relaxed);
      t.tokens_ = std::move(tokens);
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  Report(key, Source::kMiss);
  return out;
}

void Cache::Fill(const FillTicket& ticket, std::string value) {
  if (!ticket.cacheable_) return;
  if (value.size() > options_.max_value_bytes) {
    if (!redis_.empty()) fills_skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (ticket.fills_redis() && EncodableTokens(ticket.tokens_)) {
    auto r = PickRedis()->Command({"SET", absl::StrCat(options_.prefix, ticket.key_),
                                   Encode(ticket.tokens_, value), "PX", PxMillis(options_.ttl)});
    if (r.ok()) {
      fills_.fetch_add(1, std::memory_order_relaxed);
    } else {
      redis_errors_.fetch_add(1, std::memory_order_relaxed);
      fills_skipped_.fetch_add(1, std::memory_order_relaxed);
    }
  } else if (!redis_.empty()) {
    fills_skipped_.fetch_add(1, std::memory_order_relaxed);
  }
  if (local_.enabled() && !local_.Put(ticket.key_, ticket.deps_, std::move(value), ticket.epoch_)) {
    local_races_.fetch_add(1, std::memory_order_relaxed);
  }
}

absl::StatusOr<std::string> Cache::GetOrFill(absl::string_view key, const std::vector<std::string>& deps,
                                             const std::function<absl::StatusOr<std::string>()>& fetch) {
  if (absl::Status s = ValidateEntry(key, deps); !s.ok()) return s;
  Lookup got = Read(key, deps);
  if (got.value) return std::move(*got.value);
  absl::StatusOr<std::string> fetched = fetch();
  if (fetched.ok()) Fill(got.ticket, *fetched);
  return fetched;
}

absl::Status Cache::Invalidate(const std::vector<std::string>& deps) {
  for (size_t i = 0; i < deps.size(); ++i) {
    if (deps[i].empty()) return InvalidArgument(absl::StrCat("deps[", i, "]"), "must not be empty");
  }
  if (deps.empty()) return absl::OkStatus();
  absl::Status status;
  if (!redis_.empty()) {
    std::vector<std::vector<std::string>> commands = {{"MULTI"}};
    for (auto& c : InvalidationCommands(options_.prefix, deps)) commands.push_back(std::move(c));
    commands.push_back({"EXEC"});
    auto replies = PickRedis()->Pipeline(commands);
    if (!replies.ok()) {
      status = replies.status();
    } else {
      const auto& exec = replies->back();
      if (!exec.ok()) {
        status = exec.status();
      } else if (exec->type != redis::Reply::Type::kArray || exec->elements.size() != deps.size()) {
        status = Unavailable(redis::kUnavailableReason, "redis: the MULTI/EXEC of the invalidation did not run");
      }
    }
    if (!status.ok()) redis_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  // After Redis: a reader that starts after this drop already sees the new tokens there.
  local_.Drop(deps);
  return status;
}

void Cache::DropLocal(const std::vector<std::string>& deps) { local_.Drop(deps); }

void Cache::DropAllLocal() { local_.DropAll(); }

Stats Cache::stats() const {
  Stats s;
  s.local_hits = local_hits_.load(std::memory_order_relaxed);
  s.redis_hits = redis_hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.stale = stale_.load(std::memory_order_relaxed);
  s.redis_errors = redis_errors_.load(std::memory_order_relaxed);
  s.fills = fills_.load(std::memory_order_relaxed);
  s.fills_skipped = fills_skipped_.load(std::memory_order_relaxed);
  s.local_races = local_races_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace opsteam::cache
