#include "libs/status/status.h"

#include <atomic>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/status.pb.h"
#include "libs/log/log.h"

namespace opsteam {
namespace {

absl::Status WithBadRequest(absl::Status status, absl::string_view field,
                            absl::string_view description) {
  google::rpc::BadRequest bad;
  auto* v = bad.add_field_violations();
  v->set_field(std::string(field));
  v->set_description(std::string(description));
  status.SetPayload(kBadRequestTypeUrl, absl::Cord(bad.SerializeAsString()));
  return status;
}

}  // namespace

absl::Status WithErrorInfo(absl::Status status, absl::string_view reason, Metadata metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  for (auto& [k, v] : metadata) (*info.mutable_metadata())[k] = v;
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status InvalidArgument(absl::string_view field, absl::string_view description,
                             absl::string_view reason) {
  absl::Status s = absl::InvalidArgumentError(absl::StrCat(field, ": ", description));
  s = WithBadRequest(std::move(s), field, description);
  return WithErrorInfo(std::move(s), reason, {{"field", std::string(field)}});
}

absl::Status NotFound(absl::string_view resource_name) {
  return WithErrorInfo(absl::NotFoundError(absl::StrCat(resource_name, " not found")),
                       "RESOURCE_NOT_FOUND", {{"resource", std::string(resource_name)}});
}

absl::Status AlreadyExists(absl::string_view resource_name, absl::string_view description) {
  return WithErrorInfo(absl::AlreadyExistsError(std::string(description)), "ALREADY_EXISTS",
                       {{"resource", std::string(resource_name)}});
}

absl::Status FailedPrecondition(absl::string_view reason, absl::string_view description,
                                Metadata metadata) {
  return WithErrorInfo(absl::FailedPreconditionError(std::string(description)), reason,
                       std::move(metadata));
}

absl::Status Aborted(absl::string_view reason, absl::string_view description, Metadata metadata) {
  return WithErrorInfo(absl::AbortedError(std::string(description)), reason, std::move(metadata));
}

absl::Status Unavailable(absl::string_view reason, absl::string_view description) {
  return WithErrorInfo(absl::UnavailableError(std::string(description)), reason);
}

absl::Status Unauthenticated(absl::string_view reason, absl::string_view description,
                             Metadata metadata) {
  return WithErrorInfo(absl::UnauthenticatedError(std::string(description)), reason,
                       std::move(metadata));
}

absl::Status PermissionDenied(absl::string_view reason, absl::string_view description,
                              Metadata metadata) {
  return WithErrorInfo(absl::PermissionDeniedError(std::string(description)), reason,
                       std::move(metadata));
}

absl::Status Internal(absl::string_view detail) {
  return WithErrorInfo(absl::InternalError(std::string(detail)), "INTERNAL");
}

std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoTypeUrl);
  if (!payload) return std::nullopt;
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return info;
}

std::string ErrorReason(const absl::Status& status) {
  auto info = GetErrorInfo(status);
  return info ? info->reason() : std::string();
}

std::string ErrorField(const absl::Status& status) {
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload) return {};
  google::rpc::BadRequest bad;
  if (!bad.ParseFromString(std::string(*payload)) || bad.field_violations().empty()) return {};
  return bad.field_violations(0).field();
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(status.message());
  if (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown) {
    // The detail may hold SQL or library text: it stays in the server's log.
    static std::atomic<uint64_t> next_ref{1};
    const uint64_t ref = next_ref.fetch_add(1);
    OPS_LOG(ERROR) << "internal error ref=" << ref << ": " << status.message();
    message = absl::StrCat("internal error (ref ", ref, ")");
  }
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(message);
  status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& value) {
    if (type_url != kErrorInfoTypeUrl && type_url != kBadRequestTypeUrl) return;
    auto* any = rpc_status.add_details();
    any->set_type_url(std::string(type_url));
    any->set_value(std::string(value));
  });
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                      rpc_status.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status rpc_status;
  if (!status.error_details().empty() && rpc_status.ParseFromString(status.error_details())) {
    for (const auto& any : rpc_status.details()) {
      if (any.type_url() == kErrorInfoTypeUrl || any.type_url() == kBadRequestTypeUrl) {
        out.SetPayload(any.type_url(), absl::Cord(any.value()));
      }
    }
  }
  return out;
}

}  // namespace opsteam
