#pragma once

// Follows a Redis Stream of opsteam events on a thread of its own (XREAD BLOCK from the last
// id seen) and hands every event to a callback. When it may have missed events - at the
// start, after a Redis error and again once Redis answers, at a sequence gap, on an entry it
// cannot read - it calls `resync` instead, whose job is to forget whatever the events would
// have invalidated.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/redis/redis_client.h"
#include "opsteam/events/v1/event.pb.h"

namespace opsteam::orgclient {

class EventListener {
 public:
  // `redis.command_timeout` is raised above `block` where needed: a blocked XREAD is not a
  // dead server.
  EventListener(redis::Options redis, std::string stream, absl::Duration block,
                std::function<void(const opsteam::events::v1::Event&)> on_event,
                std::function<void()> resync);
  // Stops the thread; returns within about one `block`.
  ~EventListener();
  EventListener(const EventListener&) = delete;
  EventListener& operator=(const EventListener&) = delete;

  int64_t events() const { return events_.load(); }
  int64_t resyncs() const { return resyncs_.load(); }

 private:
  void Run();
  void Resync();
  // Handles one stream entry ([id, [field, value, ...]]).
  void Handle(const redis::Reply& entry);

  const redis::Options redis_;
  const std::string stream_;
  const absl::Duration block_;
  const std::function<void(const opsteam::events::v1::Event&)> on_event_;
  const std::function<void()> resync_;

  // Only the listener thread touches these.
  std::string last_id_;
  int64_t last_sequence_ = 0;

  std::atomic<int64_t> events_{0};
  std::atomic<int64_t> resyncs_{0};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace opsteam::orgclient
