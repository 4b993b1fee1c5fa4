#pragma once

// The one-line body of a gRPC callback handler whose work blocks (database):
//
//   return rpc::RunUnary(ctx, pool_, auth_, rpc::Access::kAdministrator,
//                        [this, req, resp] { return logic_.UpdateThing(*req, resp); });
//
// First the call gate (authorize.h), inline on the gRPC thread: verifying a token is cheap,
// and a call without the right never takes a place in the worker queue. Then the body runs
// on the worker pool with the caller as its CallContext and finishes the reactor from there
// with the status mapped by ToGrpcStatus. A call cancelled or past its deadline while queued
// is not run.

#include <chrono>
#include <utility>

#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "libs/rpc/authorize.h"
#include "libs/rpc/call_context.h"
#include "libs/rpc/worker_pool.h"
#include "libs/status/status.h"

namespace opsteam::rpc {

template <typename Body>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, WorkerPool& pool,
                                   const Authenticator& authenticator, Access access, Body body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<CallContext> call = Authorize(ctx, authenticator, access);
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  const bool queued = pool.TrySubmit([ctx, reactor, call = *std::move(call), body = std::move(body)]() mutable {
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
