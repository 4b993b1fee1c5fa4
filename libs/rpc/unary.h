#pragma once

// The one-line body of a gRPC callback handler whose work blocks (database):
//
//   return rpc::RunUnary(ctx, pool_, [=, this] { return logic_.GetThing(*req, resp); });
//
// The body runs on the worker pool and finishes the reactor from there with the status
// mapped by ToGrpcStatus. A call cancelled or past its deadline while queued is not run.

#include <algorithm>
#include <utility>

#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "libs/rpc/call_context.h"
#include "libs/rpc/worker_pool.h"
#include "libs/status/status.h"

namespace opsteam::rpc {

template <typename Body>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, WorkerPool& pool,
                                   Body body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  CallContext call;
  const auto& metadata = ctx->client_metadata();
  if (auto it = metadata.find(kActorMetadata); it != metadata.end() && !it->second.empty()) {
    call.actor.assign(it->second.data(), std::min<size_t>(it->second.size(), 200));
  }
  const bool queued = pool.TrySubmit([ctx, reactor, call = std::move(call), body = std::move(body)]() mutable {
    ScopedCallContext scoped(std::move(call));
    if (ctx->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
      return;
    }
    if (ctx->deadline() < std::chrono::system_clock::now()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded"));
      return;
    }
    reactor->Finish(ToGrpcStatus(body()));
  });
  if (!queued) {
    reactor->Finish(ToGrpcStatus(WithErrorInfo(
        absl::ResourceExhaustedError("server busy; retry with backoff"), "SERVER_BUSY")));
  }
  return reactor;
}

}  // namespace opsteam::rpc
