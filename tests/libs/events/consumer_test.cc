// The consumer: each event's effect exactly once and in order, duplicates as no-ops, gaps
// replayed from the source, pending entries of dead consumers reclaimed, poison events
// dead-lettered after N attempts.

#include "libs/events/consumer.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "libs/events/relay.h"
#include "libs/testing/test_env.h"
#include "tests/libs/events/event_bus.h"

namespace opsteam::events::testing {
namespace {

using ::testing::ElementsAreArray;

std::vector<int64_t> Seq(int64_t from, int64_t to) {
  std::vector<int64_t> out;
  for (int64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

class ConsumerTest : public EventBusTest {
 protected:
  // Publishes everything appended so far with a relay, then stops it.
  void Publish() {
    OutboxNotifier notifier(source_conninfo_, source_);
    notifier.Start();
    RelayOptions o;
    o.source = source_;
    o.conninfo = source_conninfo_;
    o.redis = RedisOptions();
    o.trim_interval = absl::Hours(1);
    Relay relay(o, &notifier);
    relay.Start();
    ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, [] { absl::SleepFor(absl::Milliseconds(10)); }));
  }

  ConsumerOptions Options(const std::string& name = "c1") {
    ConsumerOptions o;
    o.source = source_;
    o.group = "tasks";
    o.consumer = name;
    o.redis = RedisOptions();
    o.block = absl::Milliseconds(20);
    o.reclaim_idle = absl::Milliseconds(50);
    o.reclaim_interval = absl::Milliseconds(10);
    o.max_attempts = 3;
    return o;
  }

  // Polls until the consumer applied `n` events in all (or gives up).
  bool Drain(Consumer& c, int64_t n) {
    return Eventually([&] { return c.LastApplied().value_or(-1) >= n; }, [&] { Poll(c); });
  }

  // One round; after a failure (Redis restarting, a failing handler) a short pause, as the
  // consumer's own loop would back off.
  static void Poll(Consumer& c) {
    if (!c.PollOnce().ok()) absl::SleepFor(absl::Milliseconds(5));
  }

  int64_t Pending(const std::string& group = "tasks") {
    auto r = Redis({"XPENDING", stream_, group});
    return r.ok() && !r->elements.empty() ? r->elements[0].integer : -1;
  }

  OutboxReplay& Replay() {
    if (!replay_) replay_ = std::make_unique<OutboxReplay>(*source_pool_);
    return *replay_;
  }

  std::unique_ptr<OutboxReplay> replay_;
};

TEST_F(ConsumerTest, AppliesEachEventOnceInOrderAndDuplicatesAreNoOps) {
  Append(100);
  Publish();
  Consumer c(Options(), *consumer_pool_, &Replay(), RecordEffect);
  ASSERT_TRUE(Drain(c, 100));
  EXPECT_THAT(Effects(), ElementsAreArray(Seq(1, 100)));
  EXPECT_EQ(Pending(), 0);
  // Redeliver everything (as after a crash between commit and XACK): nothing happens twice.
  ASSERT_TRUE(Redis({"XGROUP", "SETID", stream_, "tasks", "0"}).ok());
  ASSERT_TRUE(Eventually([&] { return c.stats().duplicates >= 100; }, [&] { Poll(c); }));
  EXPECT_THAT(Effects(), ElementsAreArray(Seq(1, 100)));
  EXPECT_EQ(Pending(), 0);
  EXPECT_EQ(Replay().calls, 0);
}

TEST_F(ConsumerTest, MissingEventsAreReplayedFromTheSource) {
  Append(30);
  Publish();
  // Redis lost 10..20 (or they were trimmed before this group read them).
  std::vector<std::string> del = {"XDEL", stream_};
  for (int i = 10; i <= 20; ++i) del.push_back(StreamId(i));
  ASSERT_EQ(Redis(del)->integer, 11);
  Consumer c(Options(), *consumer_pool_, &Replay(), RecordEffect);
  ASSERT_TRUE(Drain(c, 30));
  EXPECT_THAT(Effects(), ElementsAreArray(Seq(1, 30)));
  EXPECT_EQ(c.stats().replayed, 11);
  EXPECT_GE(Replay().calls, 1);
}

TEST_F(ConsumerTest, WithoutReplaySourceAGapIsAnErrorNotASkip) {
  Append(5);
  Publish();
  ASSERT_EQ(Redis({"XDEL", stream_, StreamId(2)})->integer, 1);
  Consumer c(Options(), *consumer_pool_, nullptr, RecordEffect);
  for (int i = 0; i < 5; ++i) (void)c.PollOnce();
  EXPECT_THAT(Effects(), ElementsAreArray(Seq(1, 1)));
  EXPECT_EQ(c.LastApplied().value(), 1);
}

TEST_F(ConsumerTest, ReclaimsWhatADeadConsumerLeftPending) {
  Append(40);
  Publish();
  ASSERT_TRUE(Redis({"XGROUP", "CREATE", stream_, "tasks", "0"}).ok());
  // "ghost" took 25 entries and died before applying them.
  ASSERT_TRUE(Redis({"XREADGROUP", "GROUP", "tasks", "ghost", "COUNT", "25", "STREAMS", stream_, ">"}).ok());
  ASSERT_EQ(Pending(), 25);
  Consumer c(Options("c2"), *consumer_pool_, &Replay(), RecordEffect);
  ASSERT_TRUE(Drain(c, 40));
  ASSERT_TRUE(Eventually([&] { return Pending() == 0; }, [&] { Poll(c); }));
  EXPECT_THAT(Effects(), ElementsAreArray(Seq(1, 40)));
  EXPECT_GE(c.stats().reclaimed, 25);
}

TEST_F(ConsumerTest, TransientFailuresAreRetriedNotDeadLettered) {
  Append(6);
  Publish();
  std::atomic<int> failures{0};
  Consumer c(Options(), *consumer_pool_, &Replay(), [&](pg::Tx& tx, const v1::Event& e) -> absl::Status {
    if (e.sequence() == 3 && failures < 2) {
      ++failures;
      return absl::UnavailableError("downstream briefly unavailable");
    }
    return RecordEffect(tx, e);
  });
  ASSERT_TRUE(Drain(c, 6));
  EXPECT_THAT(Effects(), ElementsAreArray(Seq(1, 6)));
  EXPECT_EQ(c.stats().failures, 2);
  EXPECT_EQ(c.stats().dead_lettered, 0);
  EXPECT_TRUE(Range(c.dead_letter_stream()).empty());
}

TEST_F(ConsumerTest, PoisonEventGoesToTheDeadLetterStreamAndTheRestFlows) {
  Append(8);
  Publish();
  Consumer c(Options(), *consumer_pool_, &Replay(), [&](pg::Tx& tx, const v1::Event& e) -> absl::Status {
    if (e.sequence() == 5) return absl::InvalidArgumentError("cannot apply things/5");
    return RecordEffect(tx, e);
  });
  ASSERT_TRUE(Drain(c, 8));
  EXPECT_THAT(Effects(), ElementsAreArray(std::vector<int64_t>{1, 2, 3, 4, 6, 7, 8}));
  EXPECT_EQ(c.stats().dead_lettered, 1);
  EXPECT_EQ(c.stats().failures, 3);  // max_attempts
  const auto dead = Range(c.dead_letter_stream());
  ASSERT_EQ(dead.size(), 1u);
  const auto& fields = dead[0].elements[1].elements;
  ASSERT_GE(fields.size(), 6u);
  EXPECT_EQ(fields[1].str, absl::StrCat(source_, "-5"));
  EXPECT_THAT(fields[5].str, ::testing::HasSubstr("cannot apply things/5"));
  // The inbox says what happened to it.
  std::string outcome;
  ASSERT_TRUE(pg::RunStatements(*consumer_pool_, [&](pg::Tx& tx) -> absl::Status {
                auto r = tx.Exec("SELECT outcome FROM event_inbox WHERE event_id = $1", {absl::StrCat(source_, "-5")});
                if (!r.ok()) return r.status();
                if (r->rows() == 1) outcome = r->GetString(0, 0);
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(outcome, "dead_lettered");
  ASSERT_TRUE(Eventually([&] { return Pending() == 0; }, [&] { Poll(c); }));
}

TEST_F(ConsumerTest, TwoConsumersOfOneGroupShareTheWorkInOrder) {
  Append(200);
  Publish();
  Consumer a(Options("a"), *consumer_pool_, &Replay(), RecordEffect);
  Consumer b(Options("b"), *consumer_pool_, &Replay(), RecordEffect);
  a.Start();
  b.Start();
  ASSERT_TRUE(Eventually([&] { return a.LastApplied().value_or(0) >= 200; },
                         [] { absl::SleepFor(absl::Milliseconds(10)); }));
  a.Stop();
  b.Stop();
  EXPECT_THAT(Effects(), ElementsAreArray(Seq(1, 200)));
  EXPECT_EQ(a.stats().applied + b.stats().applied, 200);
}

TEST_F(ConsumerTest, RecreatesItsGroupAfterRedisLostEverything) {
  Append(10);
  Publish();
  Consumer c(Options(), *consumer_pool_, &Replay(), RecordEffect);
  ASSERT_TRUE(Drain(c, 10));
  ASSERT_TRUE(opsteam::testing::TestEnv::Get().redis().Restart().ok());
  Append(5);
  Publish();  // the new stream starts at 11: 11..15 (the relay republishes its window too)
  ASSERT_TRUE(Eventually([&] { return c.LastApplied().value_or(0) >= 15; }, [&] { Poll(c); }));
  EXPECT_THAT(Effects(), ElementsAreArray(Seq(1, 15)));
}

}  // namespace
}  // namespace opsteam::events::testing
