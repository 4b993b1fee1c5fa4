#include "tests/libs/events/event_bus.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/testing/test_env.h"
#include "services/org/migrations.h"

namespace opsteam::events::testing {

namespace {
std::atomic<int> next_source{0};
}

void EventBusTest::SetUp() {
  auto& env = opsteam::testing::TestEnv::Get();
  source_ = absl::StrCat("t", getpid(), "x", ++next_source);
  stream_ = StreamName(source_);
  source_conninfo_ = env.NewDatabase("org", org::Migrations());
  consumer_conninfo_ = env.NewDatabase(
      "consumer", {{1, "inbox", InboxSchemaSql()},
                   {2, "effects", "CREATE TABLE effects (n bigserial PRIMARY KEY, sequence bigint NOT NULL)"}});
  source_pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.conninfo = source_conninfo_, .size = 4});
  consumer_pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.conninfo = consumer_conninfo_, .size = 4});
  redis_ = std::make_unique<redis::Client>(RedisOptions());
}

redis::Options EventBusTest::RedisOptions() const {
  redis::Options o;
  o.port = opsteam::testing::TestEnv::Get().redis().port();
  o.max_backoff = absl::Milliseconds(100);
  return o;
}

void EventBusTest::Append(int n, const std::string& type) {
  ASSERT_TRUE(pg::RunInTransaction(*source_pool_, {}, [&](pg::Tx& tx) -> absl::Status {
                std::vector<v1::Event> events(static_cast<size_t>(n));
                for (int i = 0; i < n; ++i) {
                  events[static_cast<size_t>(i)].set_type(type);
                  events[static_cast<size_t>(i)].set_subject(absl::StrCat("things/", appended_ + i + 1));
                }
                return AppendToOutbox(tx, source_, events).status();
              }).ok());
  appended_ += n;
}

absl::StatusOr<redis::Reply> EventBusTest::Redis(const std::vector<std::string>& args) {
  // The shared Redis may just have been restarted by the test: wait out the client backoff.
  absl::StatusOr<redis::Reply> r;
  for (int i = 0; i < 100; ++i) {
    r = redis_->Command(args);
    if (r.ok() || r.status().code() != absl::StatusCode::kUnavailable) return r;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return r;
}

std::vector<redis::Reply> EventBusTest::Range(const std::string& stream) {
  auto r = Redis({"XRANGE", stream, "-", "+"});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->elements : std::vector<redis::Reply>{};
}

std::vector<std::string> EventBusTest::StreamIds() {
  std::vector<std::string> out;
  for (const auto& e : Range(stream_)) out.push_back(e.elements[0].str);
  return out;
}

int64_t EventBusTest::Unsent() {
  int64_t n = -1;
  EXPECT_TRUE(pg::RunStatements(*source_pool_, [&](pg::Tx& tx) -> absl::Status {
                auto c = UnsentCount(tx);
                if (!c.ok()) return c.status();
                n = *c;
                return absl::OkStatus();
              }).ok());
  return n;
}

std::vector<int64_t> EventBusTest::Effects() {
  std::vector<int64_t> out;
  EXPECT_TRUE(pg::RunStatements(*consumer_pool_, [&](pg::Tx& tx) -> absl::Status {
                auto r = tx.Exec("SELECT sequence FROM effects ORDER BY n");
                if (!r.ok()) return r.status();
                for (int i = 0; i < r->rows(); ++i) out.push_back(r->GetInt64(i, 0));
                return absl::OkStatus();
              }).ok());
  return out;
}

absl::StatusOr<std::vector<v1::Event>> OutboxReplay::Fetch(int64_t after, int64_t up_to) {
  ++calls;
  std::vector<v1::Event> out;
  absl::Status s = pg::RunStatements(pool_, [&](pg::Tx& tx) -> absl::Status {
    auto got = ReadOutbox(tx, after, static_cast<int>(std::min<int64_t>(up_to - after, 1000)));
    if (!got.ok()) return got.status();
    out = std::move(*got);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status RecordEffect(pg::Tx& tx, const v1::Event& event) {
  return tx.Exec("INSERT INTO effects (sequence) VALUES ($1::bigint)", {absl::StrCat(event.sequence())}).status();
}

bool Eventually(const std::function<bool()>& done, const std::function<void()>& step, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    if (done()) return true;
    step();
  }
  return done();
}

}  // namespace opsteam::events::testing
