#pragma once

// A clock that only moves when the test says so, for the injectable `now` of the Redis
// client, the cache and the like: backoff windows and TTLs are stepped through with
// Advance(), never waited for.

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace opsteam::testing {

class FakeClock {
 public:
  absl::Time Now() const {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1'780'000'000);
};

}  // namespace opsteam::testing
