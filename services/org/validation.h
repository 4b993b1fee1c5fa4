#pragma once

// Field checks of org requests. Each returns INVALID_ARGUMENT naming the offending field by
// its path in the request (e.g. "position.authorities[2].budget_limit").

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "opsteam/org/v1/resources.pb.h"

namespace opsteam::org {

// Text of at most `max` code points without control characters; blank fails when required.
absl::Status ValidateText(absl::string_view value, absl::string_view field, size_t max, bool required);
// An amount: an ISO-4217 code and minor units within [min_units, max_units].
absl::Status ValidateMoney(const v1::Money& money, absl::string_view field, int64_t min_units,
                           int64_t max_units);
// `id` checked as a resource id, or a fresh one when empty.
absl::StatusOr<std::string> IdOrNew(const std::string& id, absl::string_view field);

absl::Status ValidateDepartment(const v1::Department& d, absl::string_view prefix,
                                const std::vector<std::string>& paths);
absl::Status ValidatePosition(const v1::Position& p, absl::string_view prefix,
                              const std::vector<std::string>& paths);
absl::Status ValidateMember(const v1::Member& m, absl::string_view prefix,
                            const std::vector<std::string>& paths);

// The paths of `mask`, each checked against `writable`; `fixed` explains read-only ones
// ("parent" -> "use MoveDepartment"). An empty mask is an error.
absl::StatusOr<std::vector<std::string>> MaskPaths(
    const google::protobuf::FieldMask& mask, const std::vector<std::string>& writable,
    const std::vector<std::pair<std::string, std::string>>& fixed = {});

// Every writable field of a resource, for validating a whole new resource.
extern const std::vector<std::string> kDepartmentFields;
extern const std::vector<std::string> kPositionFields;
extern const std::vector<std::string> kMemberFields;

}  // namespace opsteam::org
