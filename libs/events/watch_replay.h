#pragma once

// A ReplaySource over the org service's WatchChanges RPC: how a consumer fetches events
// that are missing from the stream, from the source of truth (the service's outbox).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "libs/events/consumer.h"

namespace opsteam::events {

class WatchChangesReplay : public ReplaySource {
 public:
  // `token` gives the bearer token sent with each call ("" = none).
  WatchChangesReplay(std::shared_ptr<grpc::Channel> channel, std::function<std::string()> token,
                     absl::Duration deadline = absl::Seconds(10));

  absl::StatusOr<std::vector<v1::Event>> Fetch(int64_t after, int64_t up_to) override;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::function<std::string()> token_;
  absl::Duration deadline_;
};

}  // namespace opsteam::events
