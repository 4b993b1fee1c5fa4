// The outbox relay: publishes in order with explicit ids, marks rows sent only after XADD,
// one leader across replicas with takeover, republishing after Redis lost data, trimming
// only below what every consumer group acknowledged.

#include "libs/events/relay.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "libs/testing/test_env.h"
#include "tests/libs/events/event_bus.h"

namespace opsteam::events::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

void Pause() { absl::SleepFor(absl::Milliseconds(10)); }

class RelayTest : public EventBusTest {
 protected:
  RelayOptions Options() {
    RelayOptions o;
    o.source = source_;
    o.conninfo = source_conninfo_;
    o.redis = RedisOptions();
    o.standby_poll = absl::Milliseconds(50);
    o.idle_check = absl::Milliseconds(50);
    o.trim_interval = absl::Milliseconds(50);
    return o;
  }
  std::unique_ptr<OutboxNotifier> Notifier() {
    auto n = std::make_unique<OutboxNotifier>(source_conninfo_, source_);
    n->Start();
    return n;
  }
  static std::vector<std::string> Ids(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i <= to; ++i) out.push_back(StreamId(i));
    return out;
  }
};

TEST_F(RelayTest, PublishesInOrderAndMarksSent) {
  Append(300);  // more than one batch
  auto notifier = Notifier();
  RelayOptions options = Options();
  options.before_publish = [&](const v1::Event& e) -> std::vector<std::vector<std::string>> {
    return {{"INCR", absl::StrCat(stream_, ":invalidated")}, {"SET", absl::StrCat(stream_, ":last"), e.id()}};
  };
  Relay relay(options, notifier.get());
  relay.Start();
  ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
  Append(5);  // woken by the commit's notification
  ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
  EXPECT_THAT(StreamIds(), ElementsAreArray(Ids(1, 305)));
  const auto entries = Range(stream_);
  v1::Event e;
  ASSERT_EQ(entries[41].elements[1].elements[2].str, "event");
  ASSERT_TRUE(e.ParseFromString(entries[41].elements[1].elements[3].str));
  EXPECT_EQ(e.sequence(), 42);
  EXPECT_EQ(e.id(), absl::StrCat(source_, "-42"));
  EXPECT_EQ(e.subject(), "things/42");
  EXPECT_EQ(entries[41].elements[1].elements[1].str, "opsteam.test.thing.changed");
  // The invalidations ran once per event, before each XADD.
  EXPECT_EQ(Redis({"GET", absl::StrCat(stream_, ":invalidated")})->str, "305");
  EXPECT_EQ(Redis({"GET", absl::StrCat(stream_, ":last")})->str, absl::StrCat(source_, "-305"));
  EXPECT_EQ(relay.stats().published, 305);
  EXPECT_EQ(relay.stats().last_sent, 305);
}

TEST_F(RelayTest, IdsAlreadyInTheStreamAreNotPublishedTwice) {
  Append(10);
  // A previous leader published 1..4 and died before marking them sent.
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(Redis({"XADD", stream_, StreamId(i), "event", "x"}).ok());
  auto notifier = Notifier();
  Relay relay(Options(), notifier.get());
  relay.Start();
  ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
  EXPECT_THAT(StreamIds(), ElementsAreArray(Ids(1, 10)));
  EXPECT_EQ(relay.stats().already_present, 4);
}

TEST_F(RelayTest, OneLeaderAtATimeAndAStandbyTakesOver) {
  auto notifier = Notifier();
  auto a = std::make_unique<Relay>(Options(), notifier.get());
  auto b = std::make_unique<Relay>(Options(), notifier.get());
  a->Start();
  ASSERT_TRUE(Eventually([&] { return a->stats().leader; }, Pause));
  b->Start();
  Append(20);
  ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
  EXPECT_TRUE(a->stats().leader);
  EXPECT_FALSE(b->stats().leader);
  EXPECT_EQ(b->stats().published, 0);
  a.reset();  // its connection closes: the lock is released
  ASSERT_TRUE(Eventually([&] { return b->stats().leader; }, Pause));
  Append(20);
  ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
  EXPECT_EQ(b->stats().published, 20);
  EXPECT_THAT(StreamIds(), ElementsAreArray(Ids(1, 40)));
}

TEST_F(RelayTest, RepublishesTheWindowAfterRedisLostData) {
  auto notifier = Notifier();
  RelayOptions options = Options();
  options.republish_window = 15;
  Relay relay(options, notifier.get());
  relay.Start();
  Append(50);
  ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
  ASSERT_TRUE(opsteam::testing::TestEnv::Get().redis().Restart().ok());  // no persistence: empty
  ASSERT_TRUE(Eventually([&] { return StreamIds().size() == 15; }, Pause));
  EXPECT_THAT(StreamIds(), ElementsAreArray(Ids(36, 50)));
  EXPECT_EQ(relay.stats().republished, 15);
  Append(1);
  ASSERT_TRUE(Eventually([&] { return StreamIds().size() == 16; }, Pause));
  EXPECT_EQ(StreamIds().back(), StreamId(51));
  // Marked sent right after EXEC answered, so a moment after the entry shows.
  EXPECT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
}

TEST_F(RelayTest, WaitsOutRedisAndPublishesWhenItReturns) {
  auto notifier = Notifier();
  Relay relay(Options(), notifier.get());
  relay.Start();
  auto& server = opsteam::testing::TestEnv::Get().redis();
  server.Kill();
  Append(7);
  // Nothing can be published while Redis is down, and nothing is marked sent.
  for (int i = 0; i < 20; ++i) Pause();
  EXPECT_EQ(Unsent(), 7);
  ASSERT_TRUE(server.Restart().ok());
  ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
  EXPECT_THAT(StreamIds(), ElementsAreArray(Ids(1, 7)));
}

TEST_F(RelayTest, TrimsOnlyBelowWhatEveryGroupAcknowledged) {
  ASSERT_TRUE(Redis({"XGROUP", "CREATE", stream_, "fast", "0", "MKSTREAM"}).ok());
  ASSERT_TRUE(Redis({"XGROUP", "CREATE", stream_, "slow", "0"}).ok());
  auto notifier = Notifier();
  Relay relay(Options(), notifier.get());
  relay.Start();
  Append(20);
  ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
  // "fast" read and acknowledged everything; "slow" read 10 and acknowledged 1..5.
  auto fast = Redis({"XREADGROUP", "GROUP", "fast", "c", "COUNT", "100", "STREAMS", stream_, ">"});
  ASSERT_TRUE(fast.ok());
  std::vector<std::string> ack = {"XACK", stream_, "fast"};
  for (const auto& e : fast->elements[0].elements[1].elements) ack.push_back(e.elements[0].str);
  ASSERT_EQ(Redis(ack)->integer, 20);
  ASSERT_TRUE(Redis({"XREADGROUP", "GROUP", "slow", "c", "COUNT", "10", "STREAMS", stream_, ">"}).ok());
  ASSERT_EQ(Redis({"XACK", stream_, "slow", "1-0", "2-0", "3-0", "4-0", "5-0"})->integer, 5);
  ASSERT_TRUE(Eventually([&] { return StreamIds().size() == 15; }, Pause));
  EXPECT_EQ(StreamIds().front(), StreamId(6));  // 6..10 are pending at "slow"
  // Once "slow" catches up, the rest goes too.
  ASSERT_TRUE(Redis({"XREADGROUP", "GROUP", "slow", "c", "COUNT", "100", "STREAMS", stream_, ">"}).ok());
  std::vector<std::string> rest = {"XACK", stream_, "slow"};
  for (int i = 6; i <= 20; ++i) rest.push_back(StreamId(i));
  ASSERT_TRUE(Redis(rest).ok());
  ASSERT_TRUE(Eventually([&] { return StreamIds().empty(); }, Pause));
}

TEST_F(RelayTest, NoGroupsNoTrimming) {
  auto notifier = Notifier();
  Relay relay(Options(), notifier.get());
  relay.Start();
  Append(12);
  ASSERT_TRUE(Eventually([&] { return Unsent() == 0; }, Pause));
  for (int i = 0; i < 20; ++i) Pause();  // several trim intervals
  EXPECT_EQ(StreamIds().size(), 12u);
}

}  // namespace
}  // namespace opsteam::events::testing
