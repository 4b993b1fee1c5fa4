#pragma once

// The server side of a WatchChanges stream: replays a source's outbox after a sequence, then
// follows it live, woken by the OutboxNotifier. Database reads run on the worker pool; while
// caught up the stream holds no thread, only a notifier registration.
//
// `Response` is the service's WatchChangesResponse (repeated Event events = 1;
// int64 head_sequence = 2).

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "libs/events/outbox_notifier.h"
#include "libs/rpc/worker_pool.h"
#include "libs/status/status.h"
#include "opsteam/events/v1/event.pb.h"

namespace opsteam::events {

struct WatchSource {
  rpc::WorkerPool* workers = nullptr;
  OutboxNotifier* notifier = nullptr;
  // Committed events above `after`, oldest first, at most `limit` (of the requested types).
  std::function<absl::StatusOr<std::vector<v1::Event>>(int64_t after, int limit)> read;
};

template <typename Response>
class OutboxWatchReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  static constexpr int kBatch = 500;

  // Finishes at once with `refused` when it is not OK (validation, authorization).
  OutboxWatchReactor(grpc::CallbackServerContext* ctx, WatchSource source, int64_t since, bool replay_only,
                     absl::Status refused)
      : ctx_(ctx), source_(std::move(source)), cursor_(since), scanned_(since), replay_only_(replay_only) {
    if (!refused.ok()) {
      this->Finish(ToGrpcStatus(refused));
      return;
    }
    ScheduleRead();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      return;
    }
    ScheduleRead();
  }

  void OnCancel() override {
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      // Only a stream parked on the notifier is finished here; otherwise a read or write is
      // in flight and finishes it: a write fails, and a read about to park sees cancelled_.
      if (waiting_ && source_.notifier->Cancel(wait_id_)) {
        waiting_ = false;
        finish = true;
      }
    }
    if (finish) this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
  }

  void OnDone() override { delete this; }

 private:
  void ScheduleRead() {
    if (!source_.workers->TrySubmit([this] { Read(); })) {
      this->Finish(ToGrpcStatus(WithErrorInfo(
          absl::ResourceExhaustedError("server busy; retry with backoff"), "SERVER_BUSY")));
    }
  }

  // On a worker thread.
  void Read() {
    if (ctx_->IsCancelled()) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
      return;
    }
    // Everything committed up to `head` is visible to the read that follows.
    const int64_t head = source_.notifier->head();
    auto events = source_.read(cursor_, kBatch);
    if (!events.ok()) {
      this->Finish(ToGrpcStatus(events.status()));
      return;
    }
    if (!events->empty()) {
      response_.Clear();
      for (auto& e : *events) *response_.add_events() = std::move(e);
      cursor_ = response_.events(response_.events_size() - 1).sequence();
      scanned_ = std::max(scanned_, cursor_);
      response_.set_head_sequence(std::max(head, cursor_));
      this->StartWrite(&response_);
      return;
    }
    scanned_ = std::max({scanned_, cursor_, head});
    if (replay_only_) {
      this->Finish(grpc::Status::OK);
      return;
    }
    bool parked = false;
    bool cancelled = false;
    {
      // Held across the registration so the callback, which may fire at once on the
      // notifier's thread, sees waiting_ set, and so OnCancel either sees the stream parked
      // or the stream sees cancelled_.
      absl::MutexLock lock(&mu_);
      cancelled = cancelled_;
      if (!cancelled) {
        wait_id_ = source_.notifier->CallWhenAbove(scanned_, [this] {
          {
            absl::MutexLock inner(&mu_);
            waiting_ = false;
          }
          ScheduleRead();
        });
        parked = waiting_ = wait_id_ != 0;
      }
    }
    if (cancelled) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
    } else if (!parked) {
      ScheduleRead();  // the head moved on while reading: read again
    }
  }

  grpc::CallbackServerContext* ctx_;
  WatchSource source_;
  int64_t cursor_;   // last event sent
  int64_t scanned_;  // every sequence up to here was read
  const bool replay_only_;
  Response response_;
  absl::Mutex mu_;
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  OutboxNotifier::WaiterId wait_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace opsteam::events
