#pragma once

// Who is calling, for the duration of one handler body on a worker thread. The call gate
// (authorize.h, run by RunUnary) sets it from the caller's verified bearer token; the logic
// reads it (audit trail) without knowing about gRPC.

#include <string>

namespace opsteam::rpc {

struct CallContext {
  // The caller: the token's subject, "members/{member}" or "services/{service}"; "anonymous"
  // outside calls (work the service does on its own).
  std::string actor = "anonymous";
  // The member id of a person calling ("m-zhang-wei"); empty for services.
  std::string member_id;
  bool administrator = false;
  bool service = false;
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

}  // namespace opsteam::rpc
