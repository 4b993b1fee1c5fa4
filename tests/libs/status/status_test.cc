#include "libs/status/status.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "grpcpp/support/status.h"

namespace opsteam {
namespace {

// The google.rpc.Status carried in the details of `status`; fails the test when absent.
google::rpc::Status RpcStatusOf(const grpc::Status& status) {
  google::rpc::Status rpc_status;
  EXPECT_FALSE(status.error_details().empty());
  EXPECT_TRUE(rpc_status.ParseFromString(status.error_details()));
  return rpc_status;
}

std::optional<google::rpc::ErrorInfo> FindErrorInfo(const google::rpc::Status& rpc_status) {
  for (const auto& any : rpc_status.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info;
  }
  return std::nullopt;
}

std::optional<google::rpc::BadRequest> FindBadRequest(const google::rpc::Status& rpc_status) {
  for (const auto& any : rpc_status.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad)) return bad;
  }
  return std::nullopt;
}

TEST(StatusTest, InvalidArgumentCarriesFieldAndReason) {
  absl::Status s = InvalidArgument("department.display_name", "is required");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(s), "department.display_name");
  EXPECT_EQ(ErrorReason(s), "INVALID_FIELD");
  EXPECT_TRUE(absl::StrContains(s.message(), "department.display_name"));
  EXPECT_TRUE(absl::StrContains(s.message(), "is required"));

  auto info = GetErrorInfo(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->domain(), "opsteam");
  EXPECT_EQ(info->metadata().at("field"), "department.display_name");
}

TEST(StatusTest, InvalidArgumentWithCustomReason) {
  absl::Status s = InvalidArgument("page_token", "stale", "INVALID_PAGE_TOKEN");
  EXPECT_EQ(ErrorReason(s), "INVALID_PAGE_TOKEN");
  EXPECT_EQ(ErrorField(s), "page_token");
}

TEST(StatusTest, ConstructorsSetCodeAndReason) {
  struct Case {
    absl::Status status;
    absl::StatusCode code;
    std::string reason;
  };
  const Case cases[] = {
      {NotFound("departments/abc"), absl::StatusCode::kNotFound, "RESOURCE_NOT_FOUND"},
      {AlreadyExists("departments/abc", "exists"), absl::StatusCode::kAlreadyExists,
       "ALREADY_EXISTS"},
      {FailedPrecondition("HAS_CHILDREN", "department has children"),
       absl::StatusCode::kFailedPrecondition, "HAS_CHILDREN"},
      {Aborted("ETAG_MISMATCH", "changed"), absl::StatusCode::kAborted, "ETAG_MISMATCH"},
      {Unavailable("DATABASE_UNAVAILABLE", "down"), absl::StatusCode::kUnavailable,
       "DATABASE_UNAVAILABLE"},
      {Unauthenticated("TOKEN_MISSING", "no token"), absl::StatusCode::kUnauthenticated,
       "TOKEN_MISSING"},
      {PermissionDenied("PERMISSION_DENIED", "needs administrator"),
       absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"},
      {Internal("boom"), absl::StatusCode::kInternal, "INTERNAL"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.status.code(), c.code) << c.status;
    EXPECT_EQ(ErrorReason(c.status), c.reason) << c.status;
    EXPECT_EQ(ErrorField(c.status), "") << c.status;
  }
  EXPECT_TRUE(absl::StrContains(NotFound("departments/abc").message(), "departments/abc"));
  auto denied = GetErrorInfo(PermissionDenied("PERMISSION_DENIED", "no", {{"required_role", "administrator"}}));
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->metadata().at("required_role"), "administrator");
}

TEST(StatusTest, NoDetailsMeansEmptyReasonAndField) {
  absl::Status plain = absl::NotFoundError("x");
  EXPECT_EQ(ErrorReason(plain), "");
  EXPECT_EQ(ErrorField(plain), "");
  EXPECT_FALSE(GetErrorInfo(plain).has_value());
}

TEST(StatusTest, WithErrorInfoReplacesReasonAndKeepsMetadata) {
  absl::Status s = WithErrorInfo(NotFound("members/x"), "MEMBER_GONE", {{"k", "v"}});
  EXPECT_EQ(ErrorReason(s), "MEMBER_GONE");
  auto info = GetErrorInfo(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().at("k"), "v");
  EXPECT_EQ(info->metadata().count("resource"), 0u);
  EXPECT_TRUE(WithErrorInfo(absl::OkStatus(), "X").ok());
}

TEST(StatusTest, ToGrpcStatusOkIsOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(StatusTest, ToGrpcStatusMapsCodes) {
  struct Case {
    absl::Status status;
    grpc::StatusCode code;
  };
  const Case cases[] = {
      {InvalidArgument("f", "bad"), grpc::StatusCode::INVALID_ARGUMENT},
      {NotFound("a/b"), grpc::StatusCode::NOT_FOUND},
      {AlreadyExists("a/b", "dup"), grpc::StatusCode::ALREADY_EXISTS},
      {FailedPrecondition("R", "d"), grpc::StatusCode::FAILED_PRECONDITION},
      {Aborted("R", "d"), grpc::StatusCode::ABORTED},
      {Unavailable("R", "d"), grpc::StatusCode::UNAVAILABLE},
      {Internal("d"), grpc::StatusCode::INTERNAL},
      {absl::PermissionDeniedError("no"), grpc::StatusCode::PERMISSION_DENIED},
      {absl::ResourceExhaustedError("busy"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::DeadlineExceededError("late"), grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::UnauthenticatedError("who"), grpc::StatusCode::UNAUTHENTICATED},
      {absl::OutOfRangeError("far"), grpc::StatusCode::OUT_OF_RANGE},
      {absl::UnimplementedError("no"), grpc::StatusCode::UNIMPLEMENTED},
      {absl::CancelledError("stop"), grpc::StatusCode::CANCELLED},
      {absl::DataLossError("lost"), grpc::StatusCode::DATA_LOSS},
      {absl::UnknownError("?"), grpc::StatusCode::UNKNOWN},
  };
  for (const auto& c : cases) {
    grpc::Status g = ToGrpcStatus(c.status);
    EXPECT_EQ(g.error_code(), c.code) << c.status;
    google::rpc::Status rpc_status = RpcStatusOf(g);
    EXPECT_EQ(rpc_status.code(), static_cast<int>(c.code)) << c.status;
    EXPECT_EQ(rpc_status.message(), g.error_message()) << c.status;
  }
}

TEST(StatusTest, ToGrpcStatusPutsErrorInfoAndBadRequestInDetails) {
  grpc::Status g = ToGrpcStatus(InvalidArgument("department.display_name", "is required"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(g.error_message(), "is required"));

  google::rpc::Status rpc_status = RpcStatusOf(g);
  EXPECT_EQ(rpc_status.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(rpc_status.details_size(), 2);

  auto info = FindErrorInfo(rpc_status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->domain(), "opsteam");
  EXPECT_EQ(info->reason(), "INVALID_FIELD");

  auto bad = FindBadRequest(rpc_status);
  ASSERT_TRUE(bad.has_value());
  ASSERT_EQ(bad->field_violations_size(), 1);
  EXPECT_EQ(bad->field_violations(0).field(), "department.display_name");
  EXPECT_EQ(bad->field_violations(0).description(), "is required");
}

TEST(StatusTest, ToGrpcStatusDropsUnknownPayloads) {
  absl::Status s = NotFound("a/b");
  s.SetPayload("opsteam.pg/sqlstate", absl::Cord("23505"));
  google::rpc::Status rpc_status = RpcStatusOf(ToGrpcStatus(s));
  ASSERT_EQ(rpc_status.details_size(), 1);
  EXPECT_EQ(rpc_status.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_FALSE(absl::StrContains(rpc_status.SerializeAsString(), "23505"));
}

TEST(StatusTest, InternalDetailNeverReachesTheClient) {
  const std::string secret = "SELECT * FROM secret";
  for (absl::Status s :
       {Internal(absl::StrCat("database error 42P01: ", secret)),
        absl::UnknownError(secret), absl::InternalError(secret)}) {
    grpc::Status g = ToGrpcStatus(s);
    EXPECT_FALSE(absl::StrContains(g.error_message(), "SELECT")) << g.error_message();
    EXPECT_FALSE(absl::StrContains(g.error_message(), "secret")) << g.error_message();
    EXPECT_FALSE(g.error_message().empty());
    EXPECT_FALSE(absl::StrContains(g.error_details(), "SELECT"));
    EXPECT_FALSE(absl::StrContains(g.error_details(), "secret"));
    google::rpc::Status rpc_status = RpcStatusOf(g);
    EXPECT_EQ(rpc_status.message(), g.error_message());
  }
  // The reason is still there for machines.
  auto info = FindErrorInfo(RpcStatusOf(ToGrpcStatus(Internal(secret))));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "INTERNAL");
}

TEST(StatusTest, FromGrpcStatusRoundTrips) {
  const absl::Status original =
      InvalidArgument("member.employment_start_date", "must be a date", "BAD_DATE");
  absl::Status back = FromGrpcStatus(ToGrpcStatus(original));
  EXPECT_EQ(back.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(back.message(), original.message());
  EXPECT_EQ(ErrorReason(back), "BAD_DATE");
  EXPECT_EQ(ErrorField(back), "member.employment_start_date");
  auto info = GetErrorInfo(back);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->domain(), "opsteam");
  EXPECT_EQ(info->metadata().at("field"), "member.employment_start_date");

  absl::Status busy = FromGrpcStatus(ToGrpcStatus(Aborted("ETAG_MISMATCH", "changed", {{"etag", "7"}})));
  EXPECT_EQ(busy.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(busy.message(), "changed");
  EXPECT_EQ(ErrorReason(busy), "ETAG_MISMATCH");
  EXPECT_EQ(ErrorField(busy), "");
}

TEST(StatusTest, FromGrpcStatusWithoutDetails) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  absl::Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "conn refused"));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "conn refused");
  EXPECT_EQ(ErrorReason(s), "");
  absl::Status garbage =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "gone", "\xff\xff not a proto"));
  EXPECT_EQ(garbage.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorReason(garbage), "");
}

}  // namespace
}  // namespace opsteam
