#include "libs/aip/aip.h"

#include <memory>

#include "absl/random/random.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/status/status.h"

namespace opsteam::aip {
namespace {

constexpr absl::string_view kTokenVersion = "p1";

uint64_t Fnv1a(absl::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The request with the named fields cleared, serialized deterministically.
std::string CanonicalWithout(const google::protobuf::Message& request,
                             std::initializer_list<absl::string_view> fields) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  const auto* descriptor = copy->GetDescriptor();
  const auto* reflection = copy->GetReflection();
  for (absl::string_view f : fields) {
    if (const auto* fd = descriptor->FindFieldByName(std::string(f))) reflection->ClearField(copy.get(), fd);
  }
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  copy->SerializeToCodedStream(&coded);
  coded.Trim();
  return absl::StrCat(descriptor->full_name(), ":", out);
}

}  // namespace

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  if (id[0] < 'a' || id[0] > 'z') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return id.back() != '-';
}

absl::Status ValidateId(absl::string_view id, absl::string_view field) {
  if (IsValidId(id)) return absl::OkStatus();
  return InvalidArgument(field, "must match [a-z][a-z0-9-]{0,62} and not end with '-'");
}

std::string NewId() {
  static constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyz";
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local absl::BitGen rng;
  std::string id(16, 'a');
  id[0] = kLetters[absl::Uniform(rng, 0u, 26u)];
  for (size_t i = 1; i < id.size(); ++i) id[i] = kAlnum[absl::Uniform(rng, 0u, 36u)];
  return id;
}

std::string Name(absl::string_view collection, absl::string_view id) {
  return absl::StrCat(collection, "/", id);
}

absl::StatusOr<std::string> ParseName(absl::string_view name, absl::string_view collection,
                                      absl::string_view field) {
  if (name.empty()) return InvalidArgument(field, "is required");
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 2 || parts[0] != collection || !IsValidId(parts[1])) {
    return InvalidArgument(field, absl::StrCat("must be a resource name \"", collection,
                                               "/{id}\", got \"", name.substr(0, 100), "\""));
  }
  return std::string(parts[1]);
}

absl::CivilDay Today() { return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()); }

std::string FormatDate(absl::CivilDay day) { return absl::FormatCivilTime(day); }

absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text, absl::string_view field) {
  if (text.empty()) return Today();
  absl::CivilDay day;
  // ParseCivilTime accepts only the exact "YYYY-MM-DD" form and rejects impossible dates
  // by normalisation check below.
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day) || FormatDate(day) != text ||
      day.year() < 1900 || day.year() > 9999) {
    return InvalidArgument(field, absl::StrCat("must be a date YYYY-MM-DD, got \"",
                                               text.substr(0, 40), "\""));
  }
  return day;
}

absl::StatusOr<PageRequest> ParsePage(const google::protobuf::Message& request) {
  const auto* d = request.GetDescriptor();
  const auto* r = request.GetReflection();
  PageRequest page;
  if (const auto* f = d->FindFieldByName("page_size")) {
    const int32_t size = r->GetInt32(request, f);
    if (size < 0) return InvalidArgument("page_size", "must not be negative");
    if (size > kMaxPageSize) {
      return InvalidArgument("page_size", absl::StrCat("must be at most ", kMaxPageSize));
    }
    page.size = size == 0 ? kDefaultPageSize : size;
  }
  const auto* tf = d->FindFieldByName("page_token");
  const std::string token = tf ? r->GetString(request, tf) : std::string();
  if (token.empty()) return page;
  std::string raw;
  auto invalid = [] { return InvalidArgument("page_token", "is not a token this list returned",
                                             "INVALID_PAGE_TOKEN"); };
  if (!absl::WebSafeBase64Unescape(token, &raw)) return invalid();
  std::vector<absl::string_view> parts = absl::StrSplit(raw, absl::MaxSplits('|', 2));
  uint64_t digest = 0;
  if (parts.size() != 3 || parts[0] != kTokenVersion || !absl::SimpleHexAtoi(parts[1], &digest)) {
    return invalid();
  }
  if (digest != Fnv1a(CanonicalWithout(request, {"page_size", "page_token"}))) {
    return InvalidArgument("page_token", "belongs to a request with other parameters",
                           "INVALID_PAGE_TOKEN");
  }
  page.after = std::string(parts[2]);
  return page;
}

std::string NextPageToken(const google::protobuf::Message& request, absl::string_view last_key) {
  const uint64_t digest = Fnv1a(CanonicalWithout(request, {"page_size", "page_token"}));
  return absl::WebSafeBase64Escape(
      absl::StrCat(kTokenVersion, "|", absl::Hex(digest), "|", last_key));
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.size() > 64) return InvalidArgument("request_id", "must be at most 64 characters");
  for (char c : request_id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return InvalidArgument("request_id", "may hold only letters, digits, '-' and '_'");
    }
  }
  return absl::OkStatus();
}

std::string RequestDigest(const google::protobuf::Message& request) {
  return absl::StrCat(absl::Hex(Fnv1a(CanonicalWithout(request, {"request_id"})), absl::kZeroPad16));
}

}  // namespace opsteam::aip
