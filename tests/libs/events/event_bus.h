#pragma once

// Test support for libs/events: a source database with an outbox (the org schema), a
// consumer database with the inbox tables and an `effects` table, the program's Redis, and a
// source name of its own per test so streams never collide.

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/events/consumer.h"
#include "libs/events/outbox.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis_client.h"

namespace opsteam::events::testing {

class EventBusTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Commits `n` events of `type` (subjects "things/<k>") in one transaction.
  void Append(int n, const std::string& type = "opsteam.test.thing.changed");
  redis::Options RedisOptions() const;
  std::vector<std::string> StreamIds();
  int64_t Unsent();
  // Sequences recorded in `effects`, in the order applied.
  std::vector<int64_t> Effects();
  std::vector<redis::Reply> Range(const std::string& stream);
  absl::StatusOr<redis::Reply> Redis(const std::vector<std::string>& args);

  std::string source_;
  std::string stream_;
  std::string source_conninfo_;
  std::string consumer_conninfo_;
  std::unique_ptr<pg::Pool> source_pool_;
  std::unique_ptr<pg::Pool> consumer_pool_;
  std::unique_ptr<redis::Client> redis_;
  int appended_ = 0;
};

// Missing events straight from the source's outbox (what WatchChanges serves).
class OutboxReplay : public ReplaySource {
 public:
  explicit OutboxReplay(pg::Pool& pool) : pool_(pool) {}
  absl::StatusOr<std::vector<v1::Event>> Fetch(int64_t after, int64_t up_to) override;
  int calls = 0;

 private:
  pg::Pool& pool_;
};

// The test handler: records the event's sequence in `effects`.
absl::Status RecordEffect(pg::Tx& tx, const v1::Event& event);

// Polls `done` up to `rounds` times, running `step` between polls; false if it never held.
bool Eventually(const std::function<bool()>& done, const std::function<void()>& step, int rounds = 2000);

}  // namespace opsteam::events::testing
