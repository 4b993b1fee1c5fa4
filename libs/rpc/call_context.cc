#include "libs/rpc/call_context.h"

#include <utility>

namespace opsteam::rpc {
namespace {
thread_local CallContext current;
}  // namespace

const CallContext& CurrentCall() { return current; }

ScopedCallContext::ScopedCallContext(CallContext context) : previous_(std::exchange(current, std::move(context))) {}

ScopedCallContext::~ScopedCallContext() { current = std::move(previous_); }

}  // namespace opsteam::rpc
