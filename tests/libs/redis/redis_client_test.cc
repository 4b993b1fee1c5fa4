#include "libs/redis/redis_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/status/status.h"
#include "libs/testing/fake_clock.h"
#include "libs/testing/process.h"
#include "libs/testing/redis_server.h"

namespace opsteam::redis {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// One redis-server for the whole program; tests use keys prefixed with their own name.
class RedisEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto dir = opsteam::testing::MakeTempDir("opsteam-redis-client-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
    auto server = opsteam::testing::RedisServer::Start(dir_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    server_.reset();
    if (!dir_.empty()) opsteam::testing::RemoveTree(dir_);
  }

  static opsteam::testing::RedisServer& server() { return *server_; }

 private:
  static inline std::unique_ptr<opsteam::testing::RedisServer> server_;
  std::string dir_;
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new RedisEnvironment);

Options ServerOptions() {
  Options options;
  options.port = RedisEnvironment::server().port();
  return options;
}

std::string Key(const std::string& suffix) {
  return absl::StrCat("test:", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                      ":", suffix);
}

// A port that refuses connections for as long as this object lives: bound, never listening,
// so no other process can take it in the meantime.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~RefusingPort() {
    if (fd_ >= 0) close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = -1;
};

void ExpectUnavailable(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(opsteam::ErrorReason(status), kUnavailableReason) << status;
}

using ::opsteam::testing::FakeClock;

// `options` reading the backoff clock from `clock`, which must outlive the client.
Options WithClock(Options options, FakeClock& clock) {
  options.now = [&clock] { return clock.Now(); };
  return options;
}

// A status from a command the backoff refused without trying to connect.
bool RefusedByBackoff(const absl::Status& status) {
  return absl::StrContains(status.message(), "next attempt in");
}

// Expects `status` to be the backoff's fail-fast answer with `remaining` left in the window.
void ExpectInBackoff(const absl::Status& status, absl::Duration remaining) {
  ExpectUnavailable(status);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat("next attempt in ", absl::FormatDuration(remaining), ";")));
}

// Expects `status` to come from a real connection attempt to a refusing port.
void ExpectConnectRefused(const absl::Status& status) {
  ExpectUnavailable(status);
  EXPECT_FALSE(RefusedByBackoff(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("connect: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("Connection refused"));
}

TEST(RedisClientTest, SetGetRoundTripIsBinarySafe) {
  Client client(ServerOptions());
  EXPECT_FALSE(client.connected());  // lazy: nothing happens before the first command
  const std::string key = Key(std::string("k\0ey", 4));
  const std::string value("a\0b\r\n\xff\0z", 8);
  ASSERT_EQ(value.size(), 8u);

  auto set = client.Command({"SET", key, value});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, Reply::Type::kStatus);
  EXPECT_EQ(set->str, "OK");
  EXPECT_TRUE(client.connected());

  auto get = client.Command({"GET", key});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->type, Reply::Type::kString);
  EXPECT_EQ(get->str, value);
  EXPECT_EQ(get->str.size(), 8u);

  // The key's NUL byte is significant: the truncated key does not exist.
  auto truncated = client.Command({"GET", Key("k")});
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_TRUE(truncated->is_nil());

  auto len = client.Command({"STRLEN", key});
  ASSERT_TRUE(len.ok()) << len.status();
  EXPECT_EQ(len->type, Reply::Type::kInteger);
  EXPECT_EQ(len->integer, 8);
}

TEST(RedisClientTest, IntegerAndArrayReplies) {
  Client client(ServerOptions());
  const std::string key = Key("list");
  ASSERT_TRUE(client.Command({"DEL", key}).ok());

  auto pushed = client.Command({"RPUSH", key, "a", "", "c"});
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->type, Reply::Type::kInteger);
  EXPECT_EQ(pushed->integer, 3);

  auto range = client.Command({"LRANGE", key, "0", "-1"});
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_EQ(range->type, Reply::Type::kArray);
  std::vector<std::string> items;
  for (const Reply& e : range->elements) {
    EXPECT_EQ(e.type, Reply::Type::kString);
    items.push_back(e.str);
  }
  EXPECT_THAT(items, ElementsAre("a", "", "c"));

  auto empty = client.Command({"LRANGE", Key("missing"), "0", "-1"});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->type, Reply::Type::kArray);
  EXPECT_TRUE(empty->elements.empty());

  // Nested arrays and a nil element.
  auto nested = client.Command({"EVAL", "return {1, {'x', 'y'}, false}", "0"});
  ASSERT_TRUE(nested.ok()) << nested.status();
  ASSERT_EQ(nested->type, Reply::Type::kArray);
  ASSERT_EQ(nested->elements.size(), 3u);
  EXPECT_EQ(nested->elements[0].type, Reply::Type::kInteger);
  EXPECT_EQ(nested->elements[0].integer, 1);
  ASSERT_EQ(nested->elements[1].type, Reply::Type::kArray);
  ASSERT_EQ(nested->elements[1].elements.size(), 2u);
  EXPECT_EQ(nested->elements[1].elements[1].str, "y");
  EXPECT_TRUE(nested->elements[2].is_nil());
}

TEST(RedisClientTest, ErrorReplyIsFailedPreconditionAndKeepsConnection) {
  Client client(ServerOptions());
  const std::string key = Key("string");
  ASSERT_TRUE(client.Command({"SET", key, "v"}).ok());
  auto id_before = client.Command({"CLIENT", "ID"});
  ASSERT_TRUE(id_before.ok()) << id_before.status();

  auto wrong = client.Command({"LPUSH", key, "x"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition) << wrong.status();
  EXPECT_EQ(opsteam::ErrorReason(wrong.status()), kErrorReason);
  EXPECT_THAT(std::string(wrong.status().message()), HasSubstr("WRONGTYPE"));
  EXPECT_TRUE(client.connected());

  // Same connection (same server-side client id), still usable.
  auto id_after = client.Command({"CLIENT", "ID"});
  ASSERT_TRUE(id_after.ok()) << id_after.status();
  EXPECT_EQ(id_after->integer, id_before->integer);
  auto get = client.Command({"GET", key});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, "v");

  auto unknown = client.Command({"NO-SUCH-COMMAND"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(client.Ping().ok());
}

TEST(RedisClientTest, ErrorInsideTransactionIsAnErrorElement) {
  Client client(ServerOptions());
  const std::string key = Key("string");
  ASSERT_TRUE(client.Command({"MULTI"}).ok());
  ASSERT_TRUE(client.Command({"SET", key, "v"}).ok());    // QUEUED
  ASSERT_TRUE(client.Command({"LPUSH", key, "x"}).ok());  // QUEUED, fails at EXEC
  auto exec = client.Command({"EXEC"});
  ASSERT_TRUE(exec.ok()) << exec.status();
  ASSERT_EQ(exec->type, Reply::Type::kArray);
  ASSERT_EQ(exec->elements.size(), 2u);
  EXPECT_EQ(exec->elements[0].type, Reply::Type::kStatus);
  EXPECT_EQ(exec->elements[1].type, Reply::Type::kError);
  EXPECT_THAT(exec->elements[1].str, HasSubstr("WRONGTYPE"));
}

TEST(RedisClientTest, PipelineAnswersEachCommandInOrder) {
  Client client(ServerOptions());
  const std::string key = Key("counter");
  const std::string list = Key("list");
  auto replies = client.Pipeline({{"SET", key, "41"},
                                  {"INCR", key},
                                  {"LPUSH", key, "x"},  // WRONGTYPE: an error for this one only
                                  {"MULTI"},
                                  {"INCR", key},
                                  {"RPUSH", list, "a", "b"},
                                  {"EXEC"},
                                  {"GET", key}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 8u);
  EXPECT_EQ((*replies)[0]->str, "OK");
  EXPECT_EQ((*replies)[1]->integer, 42);
  EXPECT_EQ((*replies)[2].status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string((*replies)[2].status().message()), HasSubstr("WRONGTYPE"));
  EXPECT_EQ((*replies)[4]->str, "QUEUED");
  ASSERT_TRUE((*replies)[6].ok());
  ASSERT_EQ((*replies)[6]->elements.size(), 2u);
  EXPECT_EQ((*replies)[6]->elements[0].integer, 43);
  EXPECT_EQ((*replies)[6]->elements[1].integer, 2);
  EXPECT_EQ((*replies)[7]->str, "43");
  // The connection is still usable after the error reply inside the batch.
  EXPECT_TRUE(client.Ping().ok());
  EXPECT_TRUE(client.Pipeline({})->empty());
  EXPECT_EQ(client.Pipeline({{"PING"}, {}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RedisClientTest, PipelineToAStoppedServerIsUnavailable) {
  Client client(ServerOptions());
  ASSERT_TRUE(client.Ping().ok());
  RedisEnvironment::server().Kill();
  auto replies = client.Pipeline({{"PING"}, {"PING"}});
  EXPECT_EQ(replies.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(RedisEnvironment::server().Restart().ok());
}

TEST(RedisClientTest, EmptyCommandIsInvalidArgument) {
  Client client(ServerOptions());
  EXPECT_EQ(client.Command({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RedisClientTest, RefusedPortIsUnavailableFast) {
  RefusingPort closed;
  ASSERT_GT(closed.port(), 0);
  Options options;
  options.port = closed.port();
  options.connect_timeout = absl::Seconds(5);
  options.min_backoff = absl::Hours(1);
  options.max_backoff = absl::Hours(1);
  FakeClock clock;
  Client client(WithClock(options, clock));

  // Refused outright, not a connect timeout (no timing here: the message tells which).
  absl::Status first = client.Ping();
  ExpectConnectRefused(first);
  EXPECT_THAT(std::string(first.message()), Not(HasSubstr("timed out")));
  EXPECT_FALSE(client.connected());

  // Inside the backoff window: refused without another connection attempt.
  absl::Status second = client.Ping();
  ExpectInBackoff(second, absl::Hours(1));
  EXPECT_THAT(std::string(second.message()), HasSubstr("Connection refused"));  // last error
  EXPECT_FALSE(client.connected());
}

TEST(RedisClientTest, BackoffDoublesUpToMaximum) {
  RefusingPort closed;
  ASSERT_GT(closed.port(), 0);
  Options options;
  options.port = closed.port();
  options.min_backoff = absl::Milliseconds(100);
  options.max_backoff = absl::Milliseconds(400);
  FakeClock clock;
  Client client(WithClock(options, clock));
  EXPECT_EQ(client.backoff(), absl::ZeroDuration());

  ExpectConnectRefused(client.Ping());  // the first command tries at once
  // Each failed attempt opens a window twice the last one, capped at 400ms: uncapped
  // doubling would make the last two 800ms and 1.6s.
  const absl::Duration windows[] = {absl::Milliseconds(100), absl::Milliseconds(200),
                                    absl::Milliseconds(400), absl::Milliseconds(400),
                                    absl::Milliseconds(400)};
  for (const absl::Duration window : windows) {
    SCOPED_TRACE(absl::StrCat("window ", absl::FormatDuration(window)));
    EXPECT_EQ(client.backoff(), window);
    // At the start of the window and 1ms before its end: no connection attempt.
    ExpectInBackoff(client.Ping(), window);
    clock.Advance(window - absl::Milliseconds(1));
    ExpectInBackoff(client.Ping(), absl::Milliseconds(1));
    EXPECT_FALSE(client.connected());
    // Exactly at its end: a real attempt, which fails and opens the next window.
    clock.Advance(absl::Milliseconds(1));
    ExpectConnectRefused(client.Ping());
    EXPECT_FALSE(client.connected());
  }
  EXPECT_EQ(client.backoff(), absl::Milliseconds(400));
}

TEST(RedisClientTest, BackoffResetsAfterSuccessfulCommand) {
  Options options = ServerOptions();
  options.min_backoff = absl::Milliseconds(100);
  options.max_backoff = absl::Milliseconds(400);
  FakeClock clock;
  Client client(WithClock(options, clock));
  Client admin(ServerOptions());
  auto id = client.Command({"CLIENT", "ID"});
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(client.backoff(), absl::ZeroDuration());

  // The server drops the client: the first window is min_backoff.
  auto killed = admin.Command({"CLIENT", "KILL", "ID", absl::StrCat(id->integer)});
  ASSERT_TRUE(killed.ok()) << killed.status();
  ASSERT_EQ(killed->integer, 1);
  absl::Status dropped = client.Ping();
  ExpectUnavailable(dropped);
  EXPECT_FALSE(RefusedByBackoff(dropped)) << dropped;
  EXPECT_EQ(client.backoff(), absl::Milliseconds(100));
  ExpectInBackoff(client.Ping(), absl::Milliseconds(100));

  // Past the window the client reconnects (a new server-side client) and the command works.
  clock.Advance(absl::Milliseconds(100));
  auto new_id = client.Command({"CLIENT", "ID"});
  ASSERT_TRUE(new_id.ok()) << new_id.status();
  EXPECT_NE(new_id->integer, id->integer);
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.backoff(), absl::ZeroDuration());

  // Dropped again: the success reset the backoff, so the window is min_backoff again rather
  // than the doubled 200ms.
  killed = admin.Command({"CLIENT", "KILL", "ID", absl::StrCat(new_id->integer)});
  ASSERT_TRUE(killed.ok()) << killed.status();
  ASSERT_EQ(killed->integer, 1);
  ExpectUnavailable(client.Ping());
  EXPECT_EQ(client.backoff(), absl::Milliseconds(100));
  ExpectInBackoff(client.Ping(), absl::Milliseconds(100));
  clock.Advance(absl::Milliseconds(99));
  ExpectInBackoff(client.Ping(), absl::Milliseconds(1));
  clock.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(client.Ping().ok());
  EXPECT_EQ(client.backoff(), absl::ZeroDuration());
}

TEST(RedisClientTest, DroppedConnectionFailsFastDuringBackoff) {
  Options options = ServerOptions();
  options.min_backoff = absl::Hours(1);
  options.max_backoff = absl::Hours(1);
  FakeClock clock;
  Client client(WithClock(options, clock));
  auto id = client.Command({"CLIENT", "ID"});
  ASSERT_TRUE(id.ok()) << id.status();

  Client admin(ServerOptions());
  auto killed = admin.Command({"CLIENT", "KILL", "ID", absl::StrCat(id->integer)});
  ASSERT_TRUE(killed.ok()) << killed.status();
  ASSERT_EQ(killed->integer, 1);

  ExpectUnavailable(client.Ping());  // the server closed our connection
  EXPECT_FALSE(client.connected());
  // The server is fine, but the client waits out its backoff instead of reconnecting.
  absl::Status again = client.Ping();
  ExpectUnavailable(again);
  EXPECT_THAT(std::string(again.message()), HasSubstr("next attempt in"));
  EXPECT_FALSE(client.connected());
  EXPECT_TRUE(admin.Ping().ok());
}

// hiredis writes with write(2); a write to a connection the server has closed raises
// SIGPIPE, whose default action would kill this whole test program.
TEST(RedisClientTest, ServerClosingDuringLargeWriteIsUnavailableNotSigpipe) {
  Client client(ServerOptions());
  auto id = client.Command({"CLIENT", "ID"});
  ASSERT_TRUE(id.ok()) << id.status();
  Client admin(ServerOptions());
  ASSERT_TRUE(admin.Command({"CLIENT", "KILL", "ID", absl::StrCat(id->integer)}).ok());

  // Far larger than the socket buffers, so the writes continue after the peer's reset.
  auto set = client.Command({"SET", Key("big"), std::string(16 << 20, 'x')});
  ExpectUnavailable(set.status());
  EXPECT_FALSE(client.connected());
}

TEST(RedisClientTest, CommandTimeoutDropsConnection) {
  Options options = ServerOptions();
  options.command_timeout = absl::Milliseconds(200);
  FakeClock clock;
  Client client(WithClock(options, clock));
  ASSERT_TRUE(client.Ping().ok());

  auto blocked = client.Command({"BLPOP", Key("never-pushed"), "0"});  // blocks forever
  ExpectUnavailable(blocked.status());
  EXPECT_THAT(std::string(blocked.status().message()), HasSubstr("timed out"));
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.backoff(), options.min_backoff);
  ExpectInBackoff(client.Ping(), options.min_backoff);

  // A fresh connection once the backoff has passed.
  clock.Advance(client.backoff());
  auto pong = client.Command({"PING"});
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->str, "PONG");
  EXPECT_TRUE(client.connected());
}

TEST(RedisClientTest, AuthenticatesWithPassword) {
  Client admin(ServerOptions());
  ASSERT_TRUE(admin.Command({"CONFIG", "SET", "requirepass", "s3cret"}).ok());
  // Keep the shared server open for the other tests whatever happens here; admin's
  // connection stays authenticated after requirepass is set.
  absl::Cleanup reset = [&admin] {
    auto r = admin.Command({"CONFIG", "SET", "requirepass", ""});
    EXPECT_TRUE(r.ok()) << r.status();
  };

  Options with_password = ServerOptions();
  with_password.password = "s3cret";
  Client authed(with_password);
  EXPECT_TRUE(authed.Ping().ok());

  Client anonymous(ServerOptions());
  absl::Status noauth = anonymous.Ping();
  EXPECT_EQ(noauth.code(), absl::StatusCode::kFailedPrecondition) << noauth;
  EXPECT_THAT(std::string(noauth.message()), HasSubstr("NOAUTH"));

  Options wrong_password = ServerOptions();
  wrong_password.password = "wrong";
  Client wrong(wrong_password);
  absl::Status rejected = wrong.Ping();
  ExpectUnavailable(rejected);
  EXPECT_THAT(std::string(rejected.message()), HasSubstr("AUTH"));
  EXPECT_FALSE(wrong.connected());
}

TEST(RedisClientTest, ReconnectsAfterServerRestart) {
  opsteam::testing::RedisServer& server = RedisEnvironment::server();
  FakeClock clock;
  Client client(WithClock(ServerOptions(), clock));
  const std::string key = Key("k");
  ASSERT_TRUE(client.Command({"SET", key, "before"}).ok());

  server.Kill();
  auto during = client.Command({"GET", key});
  ExpectUnavailable(during.status());
  EXPECT_FALSE(client.connected());

  // Restart() returns once the new server answers PING, so no waiting for it here; the
  // client's backoff is stepped past on the fake clock.
  ASSERT_TRUE(server.Restart().ok());
  const absl::Duration window = client.backoff();
  EXPECT_EQ(window, ServerOptions().min_backoff);
  ExpectInBackoff(client.Command({"GET", key}).status(), window);
  clock.Advance(window);
  auto after = client.Command({"GET", key});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->is_nil());  // a fresh server: no persistence
  EXPECT_TRUE(client.connected());
  ASSERT_TRUE(client.Command({"SET", key, "after"}).ok());
  auto get = client.Command({"GET", key});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, "after");
}

TEST(RedisClientTest, ConcurrentCommandsShareOneConnection) {
  Client client(ServerOptions());
  const std::string key = Key("counter");
  ASSERT_TRUE(client.Command({"DEL", key}).ok());
  auto id_before = client.Command({"CLIENT", "ID"});
  ASSERT_TRUE(id_before.ok()) << id_before.status();

  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  std::vector<std::vector<long long>> seen(kThreads);
  std::vector<int> failures(kThreads, 0);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto r = client.Command({"INCR", key});
          if (r.ok() && r->type == Reply::Type::kInteger) {
            seen[t].push_back(r->integer);
          } else {
            ++failures[t];
          }
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;

  auto total = client.Command({"GET", key});
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(total->str, absl::StrCat(kThreads * kPerThread));
  // Every reply reached the thread that asked: each value 1..N was seen exactly once.
  std::vector<long long> all;
  for (const auto& s : seen) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<long long>(i + 1));
  // And all of it went over the one connection the client started with.
  auto id_after = client.Command({"CLIENT", "ID"});
  ASSERT_TRUE(id_after.ok()) << id_after.status();
  EXPECT_EQ(id_after->integer, id_before->integer);
}

}  // namespace
}  // namespace opsteam::redis
