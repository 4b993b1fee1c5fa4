#pragma once

// Google AIP building blocks shared by every service: resource names and ids, calendar
// dates, page tokens and request ids. Every parser names the request field it checked.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/message.h"

namespace opsteam::aip {

// ---- Resource names: "<collection>/<id>" with id matching [a-z][a-z0-9-]{0,62}.
bool IsValidId(absl::string_view id);
absl::Status ValidateId(absl::string_view id, absl::string_view field);
// A fresh server-assigned id (16 characters, starting with a letter).
std::string NewId();
std::string Name(absl::string_view collection, absl::string_view id);
// The id of `name`, or INVALID_ARGUMENT naming `field` when it is not "<collection>/<id>".
absl::StatusOr<std::string> ParseName(absl::string_view name, absl::string_view collection,
                                      absl::string_view field);

// ---- Dates, "YYYY-MM-DD" (years 1900-9999).
absl::CivilDay Today();
std::string FormatDate(absl::CivilDay day);
// Parses `text`; an empty text is `Today()`.
absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text, absl::string_view field);
// The open end of an effective-dated range, stored as 'infinity'.
inline constexpr absl::string_view kOpenEnd = "infinity";

// ---- Paging.
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

struct PageRequest {
  int size = kDefaultPageSize;
  // The sort key of the last item of the previous page; empty on the first page.
  std::string after;
};

// Validates page_size and page_token of `request` (fields named "page_size" and
// "page_token"). A token is only valid with the same other request fields it came from.
absl::StatusOr<PageRequest> ParsePage(const google::protobuf::Message& request);
// The token for the page after `last_key`.
std::string NextPageToken(const google::protobuf::Message& request, absl::string_view last_key);

// ---- Request ids: up to 64 characters of [A-Za-z0-9_-]; empty = not idempotent.
absl::Status ValidateRequestId(absl::string_view request_id);
// A digest of `request` without its request_id field: a repeated request_id must come with
// the same request.
std::string RequestDigest(const google::protobuf::Message& request);

}  // namespace opsteam::aip
