// The generation-validated cache against the test program's private Redis: hits and misses,
// invalidation and its races with fills, the local layer, and Redis going away and back.

#include "libs/cache/cache.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/redis/redis_client.h"
#include "libs/status/status.h"
#include "libs/testing/fake_clock.h"
#include "libs/testing/test_env.h"

namespace opsteam::cache {
namespace {

using ::opsteam::testing::TestEnv;

using ::opsteam::testing::FakeClock;

redis::Options RedisOptions() {
  redis::Options o;
  o.port = TestEnv::Get().redis().port();
  o.connect_timeout = absl::Milliseconds(200);
  o.command_timeout = absl::Milliseconds(500);
  return o;
}

class CacheTest : public ::testing::Test {
 protected:
  // Keys of each test live under a prefix of their own.
  std::string Prefix() const {
    return absl::StrCat("test:", ::testing::UnitTest::GetInstance()->current_test_info()->name(), ":");
  }

  Options RedisOnly() const {
    Options o;
    o.prefix = Prefix();
    o.redis = RedisOptions();
    o.redis_connections = 2;
    o.local_capacity = 0;
    return o;
  }

  Options LocalOnly() {
    Options o;
    o.prefix = Prefix();
    o.local_capacity = 100;
    o.now = [this] { return clock_.Now(); };
    return o;
  }

  static std::unique_ptr<Cache> Make(Options o) {
    auto c = Cache::Create(std::move(o));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Read; on a miss, Fill with `value`. Returns what the read answered ("" on a miss).
  static std::string ReadOrFill(Cache& cache, const std::string& key,
                                const std::vector<std::string>& deps, const std::string& value) {
    Lookup got = cache.Read(key, deps);
    if (got.value) return *got.value;
    cache.Fill(got.ticket, value);
    return "";
  }

  redis::Client raw_{RedisOptions()};
  FakeClock clock_;
};

TEST_F(CacheTest, MissThenFillThenHitFromRedis) {
  auto cache = Make(RedisOnly());
  const std::vector<std::string> deps = {"member:m-li", "tree"};
  Lookup first = cache->Read("posts:m-li:2026-06-01", deps);
  EXPECT_EQ(first.source, Source::kMiss);
  EXPECT_FALSE(first.value);
  ASSERT_TRUE(first.ticket.cacheable());
  EXPECT_TRUE(first.ticket.fills_redis());
  cache->Fill(first.ticket, std::string("v\0one", 5));

  Lookup second = cache->Read("posts:m-li:2026-06-01", deps);
  EXPECT_EQ(second.source, Source::kRedis);
  ASSERT_TRUE(second.value);
  EXPECT_EQ(*second.value, std::string("v\0one", 5));
  // A different key of the same dependencies is its own entry.
  EXPECT_FALSE(cache->Read("posts:m-li:2026-06-02", deps).value);

  Stats s = cache->stats();
  EXPECT_EQ(s.redis_hits, 1);
  EXPECT_EQ(s.misses, 2);
  EXPECT_EQ(s.fills, 1);
  EXPECT_EQ(s.local_hits, 0);
  EXPECT_EQ(s.redis_errors, 0);
  // The entry has the TTL as a safety net.
  auto ttl = raw_.Command({"PTTL", Prefix() + "posts:m-li:2026-06-01"});
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Minutes(5)));
}

TEST_F(CacheTest, ASecondProcessSeesTheFill) {
  auto writer = Make(RedisOnly());
  auto reader = Make(RedisOnly());
  ReadOrFill(*writer, "k", {"member:m-li"}, "value");
  EXPECT_EQ(ReadOrFill(*reader, "k", {"member:m-li"}, "other"), "value");
}

TEST_F(CacheTest, InvalidationMakesTheNextReadMissOnlyForItsDependencies) {
  auto cache = Make(RedisOnly());
  ReadOrFill(*cache, "li", {"member:m-li", "tree"}, "li-posts");
  ReadOrFill(*cache, "zhang", {"member:m-zhang", "tree"}, "zhang-posts");
  ASSERT_EQ(ReadOrFill(*cache, "li", {"member:m-li", "tree"}, "x"), "li-posts");

  ASSERT_TRUE(cache->Invalidate({"member:m-li"}).ok());
  EXPECT_EQ(ReadOrFill(*cache, "li", {"member:m-li", "tree"}, "li-posts-2"), "");
  EXPECT_EQ(cache->stats().stale, 1);
  EXPECT_EQ(ReadOrFill(*cache, "zhang", {"member:m-zhang", "tree"}, "x"), "zhang-posts");
  EXPECT_EQ(ReadOrFill(*cache, "li", {"member:m-li", "tree"}, "x"), "li-posts-2");

  // A shared dependency invalidates both.
  ASSERT_TRUE(cache->Invalidate({"tree"}).ok());
  EXPECT_EQ(ReadOrFill(*cache, "li", {"member:m-li", "tree"}, "x"), "");
  EXPECT_EQ(ReadOrFill(*cache, "zhang", {"member:m-zhang", "tree"}, "x"), "");
}

TEST_F(CacheTest, ProducerCommandsInAMultiWithTheEventInvalidate) {
  auto cache = Make(RedisOnly());
  ReadOrFill(*cache, "li", {"member:m-li"}, "old");
  // What a relay does: the invalidation commands, then the XADD, in one MULTI/EXEC.
  std::vector<std::vector<std::string>> tx = {{"MULTI"}};
  for (auto& c : InvalidationCommands(Prefix(), {"member:m-li"})) tx.push_back(c);
  tx.push_back({"XADD", Prefix() + "events", "1-0", "event", "payload"});
  tx.push_back({"EXEC"});
  auto replies = raw_.Pipeline(tx);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_TRUE(replies->back().ok()) << replies->back().status();
  EXPECT_EQ(ReadOrFill(*cache, "li", {"member:m-li"}, "new"), "");
  EXPECT_EQ(ReadOrFill(*cache, "li", {"member:m-li"}, "x"), "new");
}

TEST_F(CacheTest, InvalidationCommandsReplaceTheTokenAndKeepATtl) {
  auto commands = InvalidationCommands("opsteam:org:v1:", {"member:m-li", "tree"});
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0][0], "SET");
  EXPECT_EQ(commands[0][1], "opsteam:org:v1:gen:member:m-li");
  EXPECT_EQ(commands[1][1], "opsteam:org:v1:gen:tree");
  EXPECT_EQ(commands[0][3], "PX");
  EXPECT_EQ(commands[0][4], absl::StrCat(absl::ToInt64Milliseconds(kGenerationTtl)));
  // Every invalidation gets a token of its own.
  EXPECT_NE(commands[0][2], InvalidationCommands("opsteam:org:v1:", {"member:m-li"})[0][2]);
  EXPECT_TRUE(InvalidationCommands("p:", {}).empty());
}

TEST_F(CacheTest, AFillRacingAnInvalidationIsRejected) {
  auto cache = Make(RedisOnly());
  const std::vector<std::string> deps = {"member:m-li"};
  Lookup read = cache->Read("li", deps);
  ASSERT_FALSE(read.value);
  // The source changes and is invalidated after the read, before the fill of the old value.
  ASSERT_TRUE(cache->Invalidate(deps).ok());
  cache->Fill(read.ticket, "old");

  Lookup next = cache->Read("li", deps);
  EXPECT_FALSE(next.value) << *next.value;
  EXPECT_EQ(cache->stats().stale, 1);
  cache->Fill(next.ticket, "new");
  EXPECT_EQ(cache->Read("li", deps).value.value_or(""), "new");
}

// A lost generation key must not come back with a value an old ticket carries: with
// counters, the INCR after a flush would recreate "1" and the stale fill would validate.
TEST_F(CacheTest, ALostGenerationKeyDoesNotValidateAnOldTicket) {
  auto cache = Make(RedisOnly());
  const std::vector<std::string> deps = {"member:m-li"};
  ASSERT_TRUE(cache->Invalidate(deps).ok());
  Lookup read = cache->Read("li", deps);
  ASSERT_FALSE(read.value);
  ASSERT_TRUE(raw_.Command({"FLUSHALL"}).ok());  // what a restart without persistence does
  ASSERT_TRUE(cache->Invalidate(deps).ok());
  cache->Fill(read.ticket, "old");
  EXPECT_FALSE(cache->Read("li", deps).value);
}

TEST_F(CacheTest, AMissingGenerationKeyIsCreatedOnceAndAnExpiredOneValidatesNothing) {
  auto cache = Make(RedisOnly());
  const std::vector<std::string> deps = {"member:m-li"};
  ReadOrFill(*cache, "li", deps, "v");
  auto token = raw_.Command({"GET", GenerationKey(Prefix(), "member:m-li")});
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->type, redis::Reply::Type::kString);
  auto ttl = raw_.Command({"PTTL", GenerationKey(Prefix(), "member:m-li")});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(kGenerationTtl - absl::Minutes(1)));
  EXPECT_EQ(cache->Read("li", deps).value.value_or(""), "v");
  // The generation key expires while the entry lives on: the entry must not be trusted.
  ASSERT_TRUE(raw_.Command({"DEL", GenerationKey(Prefix(), "member:m-li")}).ok());
  EXPECT_FALSE(cache->Read("li", deps).value);
}

TEST_F(CacheTest, LocalLayerAnswersFirstAndDropsByDependency) {
  Options o = RedisOnly();
  o.local_capacity = 100;
  o.now = [this] { return clock_.Now(); };
  auto cache = Make(o);
  ReadOrFill(*cache, "li", {"member:m-li", "tree"}, "li");
  ReadOrFill(*cache, "zhang", {"member:m-zhang"}, "zhang");
  EXPECT_EQ(cache->local_size(), 2u);
  EXPECT_EQ(cache->Read("li", {"member:m-li", "tree"}).source, Source::kLocal);
  EXPECT_EQ(cache->Read("zhang", {"member:m-zhang"}).source, Source::kLocal);

  cache->DropLocal({"tree"});
  EXPECT_EQ(cache->local_size(), 1u);
  // Dropped locally only: Redis still has it and refills the local layer.
  EXPECT_EQ(cache->Read("li", {"member:m-li", "tree"}).source, Source::kRedis);
  EXPECT_EQ(cache->Read("li", {"member:m-li", "tree"}).source, Source::kLocal);
  EXPECT_EQ(cache->Read("zhang", {"member:m-zhang"}).source, Source::kLocal);

  cache->DropAllLocal();
  EXPECT_EQ(cache->local_size(), 0u);
  EXPECT_EQ(cache->Read("zhang", {"member:m-zhang"}).source, Source::kRedis);

  // Invalidate drops locally too.
  ASSERT_TRUE(cache->Invalidate({"member:m-zhang"}).ok());
  EXPECT_EQ(cache->Read("zhang", {"member:m-zhang"}).source, Source::kMiss);
  Stats s = cache->stats();
  EXPECT_EQ(s.local_hits, 4);
  EXPECT_EQ(s.redis_hits, 2);
}

TEST_F(CacheTest, ALocalFillRacingADropIsNotStored) {
  auto cache = Make(LocalOnly());
  const std::vector<std::string> deps = {"member:m-li", "tree"};
  Lookup read = cache->Read("li", deps);
  ASSERT_FALSE(read.ticket.fills_redis());
  cache->DropLocal({"member:m-li"});
  cache->Fill(read.ticket, "old");
  EXPECT_FALSE(cache->Read("li", deps).value);
  EXPECT_EQ(cache->stats().local_races, 1);

  Lookup again = cache->Read("li", deps);
  cache->DropAllLocal();
  cache->Fill(again.ticket, "old");
  EXPECT_FALSE(cache->Read("li", deps).value);
  EXPECT_EQ(cache->stats().local_races, 2);

  // A drop of unrelated dependencies does not cancel it.
  Lookup third = cache->Read("li", deps);
  cache->DropLocal({"member:m-zhang"});
  cache->Fill(third.ticket, "new");
  EXPECT_EQ(cache->Read("li", deps).value.value_or(""), "new");
}

TEST_F(CacheTest, LocalEntriesExpireAfterTheirTtl) {
  Options o = LocalOnly();
  o.local_ttl = absl::Seconds(2);
  auto cache = Make(o);
  ReadOrFill(*cache, "li", {"member:m-li"}, "v");
  clock_.Advance(absl::Milliseconds(1999));
  EXPECT_EQ(cache->Read("li", {"member:m-li"}).source, Source::kLocal);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(cache->Read("li", {"member:m-li"}).source, Source::kMiss);
  EXPECT_EQ(cache->local_size(), 0u);
}

TEST_F(CacheTest, LocalLayerEvictsTheLeastRecentlyUsed) {
  Options o = LocalOnly();
  o.local_capacity = 2;
  auto cache = Make(o);
  ReadOrFill(*cache, "a", {"d:a"}, "A");
  ReadOrFill(*cache, "b", {"d:b"}, "B");
  EXPECT_EQ(cache->Read("a", {"d:a"}).source, Source::kLocal);  // b is now the oldest
  ReadOrFill(*cache, "c", {"d:c"}, "C");
  EXPECT_EQ(cache->local_size(), 2u);
  EXPECT_EQ(cache->Read("b", {"d:b"}).source, Source::kMiss);
  EXPECT_EQ(cache->Read("a", {"d:a"}).source, Source::kLocal);
  EXPECT_EQ(cache->Read("c", {"d:c"}).source, Source::kLocal);
  // Dropping an evicted entry's dependency is harmless.
  cache->DropLocal({"d:b", "d:a"});
  EXPECT_EQ(cache->local_size(), 1u);
}

TEST_F(CacheTest, DisabledLayersCacheNothing) {
  Options o;
  o.prefix = Prefix();
  o.local_capacity = 0;
  auto cache = Make(o);
  ReadOrFill(*cache, "li", {"member:m-li"}, "v");
  EXPECT_FALSE(cache->Read("li", {"member:m-li"}).value);
  EXPECT_TRUE(cache->Invalidate({"member:m-li"}).ok());
}

TEST_F(CacheTest, ValuesAboveTheLimitAreNotStored) {
  Options o = RedisOnly();
  o.max_value_bytes = 8;
  o.local_capacity = 10;
  auto cache = Make(o);
  ReadOrFill(*cache, "big", {"d"}, std::string(9, 'x'));
  EXPECT_FALSE(cache->Read("big", {"d"}).value);
  EXPECT_EQ(cache->stats().fills_skipped, 1);
  ReadOrFill(*cache, "small", {"d"}, std::string(8, 'x'));
  EXPECT_TRUE(cache->Read("small", {"d"}).value);
}

TEST_F(CacheTest, GetOrFillFetchesOnceAndDoesNotCacheErrors) {
  auto cache = Make(RedisOnly());
  int fetches = 0;
  auto fetch = [&]() -> absl::StatusOr<std::string> {
    ++fetches;
    return std::string("v");
  };
  EXPECT_EQ(cache->GetOrFill("k", {"d"}, fetch).value_or(""), "v");
  EXPECT_EQ(cache->GetOrFill("k", {"d"}, fetch).value_or(""), "v");
  EXPECT_EQ(fetches, 1);

  int failures = 0;
  auto failing = [&]() -> absl::StatusOr<std::string> {
    ++failures;
    return NotFound("members/nobody");
  };
  EXPECT_EQ(cache->GetOrFill("e", {"d"}, failing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cache->GetOrFill("e", {"d"}, failing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(failures, 2);
}

TEST_F(CacheTest, BadEntriesAndOptionsNameTheField) {
  EXPECT_EQ(ErrorField(Cache::ValidateEntry("", {"d"})), "key");
  EXPECT_EQ(ErrorField(Cache::ValidateEntry("k", {"d", ""})), "deps[1]");
  EXPECT_EQ(ErrorField(Cache::ValidateEntry("k", std::vector<std::string>(kMaxDependencies + 1, "d"))), "deps");
  EXPECT_TRUE(Cache::ValidateEntry("k", {}).ok());

  auto cache = Make(RedisOnly());
  EXPECT_EQ(ErrorField(cache->GetOrFill("", {"d"}, [] { return absl::StatusOr<std::string>("v"); }).status()), "key");
  EXPECT_FALSE(cache->Read("", {"d"}).ticket.cacheable());
  EXPECT_EQ(ErrorField(cache->Invalidate({""})), "deps[0]");

  Options no_prefix;
  EXPECT_EQ(ErrorField(Cache::Create(no_prefix).status()), "prefix");
  Options o = RedisOnly();
  o.redis_connections = 0;
  EXPECT_EQ(ErrorField(Cache::Create(o).status()), "redis_connections");
  o = RedisOnly();
  o.ttl = absl::ZeroDuration();
  EXPECT_EQ(ErrorField(Cache::Create(o).status()), "ttl");
  o = RedisOnly();
  o.local_ttl = -absl::Seconds(1);
  EXPECT_EQ(ErrorField(Cache::Create(o).status()), "local_ttl");
}

TEST_F(CacheTest, ReportsWhereEachReadWasAnswered) {
  Options o = RedisOnly();
  o.local_capacity = 10;
  std::vector<std::pair<std::string, Source>> seen;
  o.on_read = [&](absl::string_view key, Source s) { seen.emplace_back(std::string(key), s); };
  auto cache = Make(o);
  ReadOrFill(*cache, "k", {"d"}, "v");
  cache->Read("k", {"d"});
  cache->DropAllLocal();
  cache->Read("k", {"d"});
  EXPECT_THAT(seen, ::testing::ElementsAre(std::pair<std::string, Source>("k", Source::kMiss),
                                           std::pair<std::string, Source>("k", Source::kLocal),
                                           std::pair<std::string, Source>("k", Source::kRedis)));
}

// Redis killed: reads answer "miss" without an error, fills are skipped, Invalidate says it
// could not invalidate. Back: entries refill on use. The Redis client's backoff runs on a fake
// clock, so the test steps through it instead of waiting.
TEST_F(CacheTest, RedisDownMeansMissesAndSkippedFillsThenRefillsWhenBack) {
  Options o = RedisOnly();
  o.redis->now = [this] { return clock_.Now(); };
  o.redis->min_backoff = absl::Seconds(1);
  o.redis->max_backoff = absl::Seconds(1);
  auto cache = Make(o);
  const std::vector<std::string> deps = {"member:m-li"};
  ReadOrFill(*cache, "li", deps, "v");
  ReadOrFill(*cache, "zhang", {"member:m-zhang"}, "z");
  ASSERT_EQ(cache->Read("li", deps).source, Source::kRedis);
  const Stats before = cache->stats();

  TestEnv::Get().redis().Kill();
  for (int i = 0; i < 5; ++i) {
    Lookup got = cache->Read("li", deps);
    EXPECT_EQ(got.source, Source::kMiss);
    EXPECT_TRUE(got.ticket.cacheable());
    EXPECT_FALSE(got.ticket.fills_redis());
    cache->Fill(got.ticket, "from-source");
  }
  absl::Status inv = cache->Invalidate(deps);
  EXPECT_EQ(inv.code(), absl::StatusCode::kUnavailable) << inv;
  Stats down = cache->stats();
  EXPECT_EQ(down.misses - before.misses, 5);
  EXPECT_EQ(down.redis_errors - before.redis_errors, 6);
  EXPECT_EQ(down.fills_skipped - before.fills_skipped, 5);
  EXPECT_EQ(down.fills, before.fills);

  ASSERT_TRUE(TestEnv::Get().redis().Restart().ok());
  // Still inside the clients' backoff windows: fast misses, nothing tried.
  EXPECT_EQ(cache->Read("li", deps).source, Source::kMiss);
  clock_.Advance(absl::Seconds(2));
  // The restarted server has no data: misses that refill, then hits.
  for (const char* key : {"li", "zhang"}) {
    Lookup got = cache->Read(key, {absl::StrCat("member:m-", key)});
    EXPECT_EQ(got.source, Source::kMiss);
    EXPECT_TRUE(got.ticket.fills_redis());
    cache->Fill(got.ticket, absl::StrCat(key, "-refilled"));
  }
  // Both connections of the pool are back.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(cache->Read("li", deps).value.value_or(""), "li-refilled");
    EXPECT_EQ(cache->Read("zhang", {"member:m-zhang"}).value.value_or(""), "zhang-refilled");
  }
  EXPECT_TRUE(cache->Invalidate(deps).ok());
}

// The guarantee under concurrency: once a reader has seen "event N" (published after the
// invalidation, as the relay does), what it reads through the cache is at least version N.
TEST_F(CacheTest, NoReadAfterAnEventReturnsDataOlderThanIt) {
  Options o = RedisOnly();
  o.local_capacity = 100;
  auto cache = Make(o);
  const std::vector<std::string> deps = {"member:m-li"};
  std::atomic<int> source{0};
  std::atomic<int> published{0};
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const int seen = published.load();
        auto got = cache->GetOrFill("li", deps, [&]() -> absl::StatusOr<std::string> {
          return absl::StrCat(source.load());
        });
        int value = -1;
        if (!got.ok() || !absl::SimpleAtoi(*got, &value) || value < seen) violations.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  for (int n = 1; n <= 300; ++n) {
    source.store(n);                                  // the commit
    ASSERT_TRUE(cache->Invalidate(deps).ok());  // the relay's MULTI: invalidation ...
    published.store(n);                               // ... then the event
  }
  stop.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace opsteam::cache
