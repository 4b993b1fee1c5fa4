#include "libs/orgclient/event_listener.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/log/log.h"

namespace opsteam::orgclient {
namespace {

using redis::Reply;

constexpr int kBatch = 256;
// Pause after a failed command when the client is not in a backoff window of its own.
constexpr absl::Duration kRetryPause = absl::Milliseconds(50);

bool IsArray(const Reply& r, size_t min_size) {
  return r.type == Reply::Type::kArray && r.elements.size() >= min_size;
}

// The "event" field of a stream entry's field list, or nullptr.
const Reply* EventField(const Reply& fields) {
  if (fields.type != Reply::Type::kArray) return nullptr;
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].str == "event") return &fields.elements[i + 1];
  }
  return nullptr;
}

}  // namespace

EventListener::EventListener(redis::Options redis, std::string stream, absl::Duration block,
                             std::function<void(const opsteam::events::v1::Event&)> on_event,
                             std::function<void()> resync)
    : redis_([&] {
        redis.command_timeout = std::max(redis.command_timeout, block + absl::Seconds(1));
        return std::move(redis);
      }()),
      stream_(std::move(stream)),
      block_(std::max(block, absl::Milliseconds(1))),
      on_event_(std::move(on_event)),
      resync_(std::move(resync)),
      thread_([this] { Run(); }) {}

EventListener::~EventListener() {
  stop_.Notify();
  thread_.join();
}

void EventListener::Resync() {
  resyncs_.fetch_add(1);
  resync_();
}

void EventListener::Handle(const Reply& entry) {
  if (IsArray(entry, 1)) last_id_ = entry.elements[0].str;
  if (!IsArray(entry, 2)) {
    Resync();
    return;
  }
  const Reply* data = EventField(entry.elements[1]);
  opsteam::events::v1::Event event;
  if (data == nullptr || !event.ParseFromString(data->str)) {
    OPS_LOG(WARNING) << stream_ << " entry " << last_id_ << " holds no readable event; dropping the local cache";
    Resync();
    return;
  }
  if (last_sequence_ > 0 && event.sequence() > last_sequence_ + 1) {
    OPS_LOG(WARNING) << stream_ << ": sequence " << event.sequence() << " follows " << last_sequence_
                     << "; dropping the local cache";
    Resync();
  }
  last_sequence_ = std::max(last_sequence_, event.sequence());
  on_event_(event);
  events_.fetch_add(1);
}

void EventListener::Run() {
  redis::Client client(redis_);
  bool failing = false;
  const std::string block_ms = absl::StrCat(absl::ToInt64Milliseconds(block_));
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<Reply> reply;
    if (last_id_.empty()) {
      // Start after the newest entry (the stream's "$"), but with an id of our own, so that
      // nothing published between two XREADs is missed.
      reply = client.Command({"XREVRANGE", stream_, "+", "-", "COUNT", "1"});
    } else {
      reply = client.Command({"XREAD", "COUNT", absl::StrCat(kBatch), "BLOCK", block_ms, "STREAMS",
                              stream_, last_id_});
    }
    if (!reply.ok()) {
      if (!failing) {
        failing = true;
        Resync();
      }
      // Until the client may reconnect; a stop ends the wait at once.
      stop_.WaitForNotificationWithTimeout(std::max(client.backoff(), kRetryPause));
      continue;
    }
    if (failing) {
      // Events may have been published while we could not read; the client's own reads
      // may meanwhile have filled the local layer from Redis.
      failing = false;
      Resync();
    }
    if (last_id_.empty()) {
      last_id_ = "0-0";
      if (IsArray(*reply, 1) && IsArray(reply->elements[0], 2)) {
        last_id_ = reply->elements[0].elements[0].str;
        const Reply* data = EventField(reply->elements[0].elements[1]);
        opsteam::events::v1::Event newest;
        if (data != nullptr && newest.ParseFromString(data->str)) last_sequence_ = newest.sequence();
      }
      // What was cached before this point may predate events we will not be shown.
      Resync();
      continue;
    }
    if (reply->is_nil()) continue;  // nothing within the block time
    // [[stream, [entry, ...]]]
    if (!IsArray(*reply, 1) || !IsArray(reply->elements[0], 2) ||
        reply->elements[0].elements[1].type != Reply::Type::kArray) {
      Resync();
      stop_.WaitForNotificationWithTimeout(kRetryPause);
      continue;
    }
    for (const Reply& entry : reply->elements[0].elements[1].elements) Handle(entry);
  }
}

}  // namespace opsteam::orgclient
