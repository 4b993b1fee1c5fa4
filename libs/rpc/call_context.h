#pragma once

// Who is calling, for the duration of one handler body on a worker thread. RunUnary sets it
// from the call's metadata; the logic reads it (audit trail) without knowing about gRPC.

#include <string>

namespace opsteam::rpc {

struct CallContext {
  // The caller's identity, e.g. "members/m-zhang-wei" or "service:tasks".
  std::string actor = "anonymous";
};

// The context of the call running on this thread (a default one outside calls).
const CallContext& CurrentCall();

// Installs `context` for the lifetime of the scope on this thread.
class ScopedCallContext {
 public:
  explicit ScopedCallContext(CallContext context);
  ~ScopedCallContext();
  ScopedCallContext(const ScopedCallContext&) = delete;
  ScopedCallContext& operator=(const ScopedCallContext&) = delete;

 private:
  CallContext previous_;
};

// Metadata key naming the caller until bearer tokens carry the identity.
inline constexpr char kActorMetadata[] = "x-opsteam-actor";

}  // namespace opsteam::rpc
