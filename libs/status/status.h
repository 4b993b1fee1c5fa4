#pragma once

// Errors inside opsteam are absl::Status values carrying google.rpc detail messages as
// payloads; ToGrpcStatus is the one place they become a grpc::Status at the edge.
//
// Every error has a machine-readable UPPER_SNAKE reason (google.rpc.ErrorInfo.reason) in
// the "opsteam" domain. Bad input also names the offending field (google.rpc.BadRequest).

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/support/status.h"

namespace opsteam {

inline constexpr absl::string_view kErrorDomain = "opsteam";
inline constexpr absl::string_view kErrorInfoTypeUrl = "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr absl::string_view kBadRequestTypeUrl = "type.googleapis.com/google.rpc.BadRequest";

using Metadata = std::map<std::string, std::string>;

// INVALID_ARGUMENT naming `field` (a dotted path such as "department.display_name").
absl::Status InvalidArgument(absl::string_view field, absl::string_view description,
                             absl::string_view reason = "INVALID_FIELD");
// NOT_FOUND for a resource name.
absl::Status NotFound(absl::string_view resource_name);
absl::Status AlreadyExists(absl::string_view resource_name, absl::string_view description);
absl::Status FailedPrecondition(absl::string_view reason, absl::string_view description,
                                Metadata metadata = {});
absl::Status Aborted(absl::string_view reason, absl::string_view description, Metadata metadata = {});
absl::Status Unavailable(absl::string_view reason, absl::string_view description);
// UNAUTHENTICATED: no credentials, or credentials that do not prove who is calling.
absl::Status Unauthenticated(absl::string_view reason, absl::string_view description,
                             Metadata metadata = {});
// PERMISSION_DENIED: the caller is known but may not do this.
absl::Status PermissionDenied(absl::string_view reason, absl::string_view description,
                              Metadata metadata = {});
// INTERNAL: `detail` is logged where it happened; callers never see it.
absl::Status Internal(absl::string_view detail);

// Attaches (or replaces) the ErrorInfo of `status`.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason, Metadata metadata = {});
std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status);
// The ErrorInfo reason, or "" when there is none.
std::string ErrorReason(const absl::Status& status);
// The field named by a BadRequest detail, or "" when there is none.
std::string ErrorField(const absl::Status& status);

// The edge mapper: code, message and details (grpc-status-details-bin, a google.rpc.Status).
// INTERNAL and UNKNOWN messages are replaced by a generic text.
grpc::Status ToGrpcStatus(const absl::Status& status);
// The reverse, for clients: keeps code, message and the ErrorInfo/BadRequest details.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace opsteam
