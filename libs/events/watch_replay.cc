#include "libs/events/watch_replay.h"

#include <chrono>
#include <utility>

#include "grpcpp/client_context.h"
#include "libs/status/status.h"
#include "opsteam/org/v1/org_service.grpc.pb.h"

namespace opsteam::events {

WatchChangesReplay::WatchChangesReplay(std::shared_ptr<grpc::Channel> channel,
                                       std::function<std::string()> token, absl::Duration deadline)
    : channel_(std::move(channel)), token_(std::move(token)), deadline_(deadline) {}

absl::StatusOr<std::vector<v1::Event>> WatchChangesReplay::Fetch(int64_t after, int64_t up_to) {
  auto stub = org::v1::OrgService::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(deadline_)));
  if (token_) {
    if (std::string t = token_(); !t.empty()) ctx.AddMetadata("authorization", "Bearer " + t);
  }
  org::v1::WatchChangesRequest req;
  req.set_since_sequence(after);
  req.set_replay_only(true);
  auto reader = stub->WatchChanges(&ctx, req);
  std::vector<v1::Event> out;
  org::v1::WatchChangesResponse resp;
  bool done = false;
  while (!done && reader->Read(&resp)) {
    for (auto& e : *resp.mutable_events()) {
      if (e.sequence() > up_to) {
        done = true;
        break;
      }
      out.push_back(std::move(e));
      if (out.back().sequence() == up_to) done = true;
    }
  }
  if (done) ctx.TryCancel();
  grpc::Status s = reader->Finish();
  if (!done && !s.ok()) return FromGrpcStatus(s);
  return out;
}

}  // namespace opsteam::events
