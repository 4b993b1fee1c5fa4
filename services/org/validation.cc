#include "services/org/validation.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"

namespace opsteam::org {
namespace {

constexpr size_t kMaxName = 200;
constexpr size_t kMaxText = 2000;
constexpr int kMaxItems = 100;
constexpr int32_t kMaxHeadcount = 100000;

bool Has(const std::vector<std::string>& paths, absl::string_view p) {
  return std::find(paths.begin(), paths.end(), p) != paths.end();
}

std::string F(absl::string_view prefix, absl::string_view field) {
  return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
}


template <typename Enum>
absl::Status EnumValue(int value, bool (*is_valid)(int), absl::string_view field, bool required) {
  if (!is_valid(value)) return InvalidArgument(field, absl::StrCat("unknown value ", value));
  if (required && value == 0) return InvalidArgument(field, "is required");
  return absl::OkStatus();
}

absl::Status Authorities(const v1::Position& p, absl::string_view prefix) {
  if (p.authorities_size() > kMaxItems) {
    return InvalidArgument(F(prefix, "authorities"), absl::StrCat("at most ", kMaxItems, " items"));
  }
  absl::flat_hash_set<int> seen;
  for (int i = 0; i < p.authorities_size(); ++i) {
    const auto& a = p.authorities(i);
    const std::string at = F(prefix, absl::StrCat("authorities[", i, "]"));
    if (auto s = EnumValue<v1::AuthorityType>(a.type(), v1::AuthorityType_IsValid, at + ".type", true);
        !s.ok()) {
      return s;
    }
    if (auto s = EnumValue<v1::AuthorityScope>(a.scope(), v1::AuthorityScope_IsValid, at + ".scope",
                                               true);
        !s.ok()) {
      return s;
    }
    if (!seen.insert(a.type()).second) {
      return InvalidArgument(at + ".type", "is listed twice");
    }
    const bool budget = a.type() == v1::AUTHORITY_TYPE_SPEND_BUDGET;
    if (budget && !a.has_budget_limit()) {
      return InvalidArgument(at + ".budget_limit", "is required for AUTHORITY_TYPE_SPEND_BUDGET");
    }
    if (!budget && a.has_budget_limit()) {
      return InvalidArgument(at + ".budget_limit", "applies only to AUTHORITY_TYPE_SPEND_BUDGET");
    }
    if (budget) {
      OPS_RETURN_IF_ERROR(ValidateMoney(a.budget_limit(), at + ".budget_limit", 1,
                                        std::numeric_limits<int64_t>::max()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateText(absl::string_view value, absl::string_view field, size_t max, bool required) {
  if (required && absl::StripAsciiWhitespace(value).empty()) {
    return InvalidArgument(field, "is required");
  }
  size_t chars = 0;  // code points: UTF-8 continuation bytes are not counted
  for (unsigned char c : value) {
    if ((c & 0xC0) != 0x80) ++chars;
    if (c < 0x20 && c != '\n' && c != '\t') return InvalidArgument(field, "contains control characters");
  }
  if (chars > max) return InvalidArgument(field, absl::StrCat("must be at most ", max, " characters"));
  return absl::OkStatus();
}

absl::Status ValidateMoney(const v1::Money& money, absl::string_view field, int64_t min_units,
                           int64_t max_units) {
  const auto& c = money.currency_code();
  if (c.size() != 3 || !std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
    return InvalidArgument(absl::StrCat(field, ".currency_code"), "must be an ISO-4217 code such as \"CNY\"");
  }
  if (money.minor_units() < min_units) {
    return InvalidArgument(absl::StrCat(field, ".minor_units"),
                           min_units == 1 ? "must be positive" : absl::StrCat("must be at least ", min_units));
  }
  if (money.minor_units() > max_units) {
    return InvalidArgument(absl::StrCat(field, ".minor_units"), absl::StrCat("must be at most ", max_units));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> IdOrNew(const std::string& id, absl::string_view field) {
  if (id.empty()) return aip::NewId();
  OPS_RETURN_IF_ERROR(aip::ValidateId(id, field));
  return id;
}

const std::vector<std::string> kDepartmentFields = {"display_name", "kind", "description",
                                                    "lead_position"};
const std::vector<std::string> kPositionFields = {
    "title",          "grade",       "responsibilities", "requirements",      "work_standards",
    "authorities",    "headcount",   "reports_to",       "introduction_phase"};
const std::vector<std::string> kMemberFields = {"display_name", "development_directions",
                                                "employment_start_date", "employment_end_date"};

absl::Status ValidateDepartment(const v1::Department& d, absl::string_view prefix,
                                const std::vector<std::string>& paths) {
  if (Has(paths, "display_name")) {
    if (auto s = ValidateText(d.display_name(), F(prefix, "display_name"), kMaxName, true); !s.ok()) return s;
  }
  if (Has(paths, "kind")) {
    if (auto s = EnumValue<v1::DepartmentKind>(d.kind(), v1::DepartmentKind_IsValid,
                                               F(prefix, "kind"), true);
        !s.ok()) {
      return s;
    }
  }
  if (Has(paths, "description")) {
    if (auto s = ValidateText(d.description(), F(prefix, "description"), kMaxText, false); !s.ok()) return s;
  }
  if (Has(paths, "lead_position") && !d.lead_position().empty()) {
    if (auto s = aip::ParseName(d.lead_position(), "positions", F(prefix, "lead_position"));
        !s.ok()) {
      return s.status();
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePosition(const v1::Position& p, absl::string_view prefix,
                              const std::vector<std::string>& paths) {
  if (Has(paths, "title")) {
    if (auto s = ValidateText(p.title(), F(prefix, "title"), kMaxName, true); !s.ok()) return s;
  }
  if (Has(paths, "grade")) {
    if (auto s = EnumValue<v1::Grade>(p.grade(), v1::Grade_IsValid, F(prefix, "grade"), true);
        !s.ok()) {
      return s;
    }
  }
  if (Has(paths, "responsibilities")) {
    if (p.responsibilities_size() > kMaxItems) {
      return InvalidArgument(F(prefix, "responsibilities"), absl::StrCat("at most ", kMaxItems, " items"));
    }
    for (int i = 0; i < p.responsibilities_size(); ++i) {
      const std::string at = F(prefix, absl::StrCat("responsibilities[", i, "]"));
      const auto& r = p.responsibilities(i);
      if (auto s = EnumValue<v1::ResponsibilityKind>(r.kind(), v1::ResponsibilityKind_IsValid,
                                                     at + ".kind", true);
          !s.ok()) {
        return s;
      }
      if (auto s = ValidateText(r.text(), at + ".text", kMaxText, true); !s.ok()) return s;
    }
  }
  if (Has(paths, "requirements")) {
    if (p.requirements_size() > kMaxItems) {
      return InvalidArgument(F(prefix, "requirements"), absl::StrCat("at most ", kMaxItems, " items"));
    }
    for (int i = 0; i < p.requirements_size(); ++i) {
      const std::string at = F(prefix, absl::StrCat("requirements[", i, "]"));
      const auto& r = p.requirements(i);
      if (auto s = EnumValue<v1::RequirementKind>(r.kind(), v1::RequirementKind_IsValid,
                                                  at + ".kind", true);
          !s.ok()) {
        return s;
      }
      if (auto s = ValidateText(r.text(), at + ".text", kMaxText, true); !s.ok()) return s;
    }
  }
  if (Has(paths, "work_standards")) {
    if (p.work_standards_size() > kMaxItems) {
      return InvalidArgument(F(prefix, "work_standards"), absl::StrCat("at most ", kMaxItems, " items"));
    }
    for (int i = 0; i < p.work_standards_size(); ++i) {
      if (auto s = ValidateText(p.work_standards(i), F(prefix, absl::StrCat("work_standards[", i, "]")),
                        kMaxText, true);
          !s.ok()) {
        return s;
      }
    }
  }
  if (Has(paths, "authorities")) {
    if (auto s = Authorities(p, prefix); !s.ok()) return s;
  }
  if (Has(paths, "headcount")) {
    if (p.headcount() < 0) return InvalidArgument(F(prefix, "headcount"), "must not be negative");
    if (p.headcount() > kMaxHeadcount) {
      return InvalidArgument(F(prefix, "headcount"), absl::StrCat("must be at most ", kMaxHeadcount));
    }
  }
  if (Has(paths, "reports_to") && !p.reports_to().empty()) {
    if (auto s = aip::ParseName(p.reports_to(), "positions", F(prefix, "reports_to")); !s.ok()) {
      return s.status();
    }
  }
  if (Has(paths, "introduction_phase")) {
    if (auto s = ValidateText(p.introduction_phase(), F(prefix, "introduction_phase"), 100, false); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMember(const v1::Member& m, absl::string_view prefix,
                            const std::vector<std::string>& paths) {
  if (Has(paths, "display_name")) {
    if (auto s = ValidateText(m.display_name(), F(prefix, "display_name"), kMaxName, true); !s.ok()) return s;
  }
  if (Has(paths, "development_directions")) {
    if (m.development_directions_size() > 20) {
      return InvalidArgument(F(prefix, "development_directions"), "at most 20 items");
    }
    for (int i = 0; i < m.development_directions_size(); ++i) {
      if (auto s = ValidateText(m.development_directions(i),
                        F(prefix, absl::StrCat("development_directions[", i, "]")), 50, true);
          !s.ok()) {
        return s;
      }
    }
  }
  // Dates are checked together: the end must follow the start.
  if (m.employment_start_date().empty()) {
    return InvalidArgument(F(prefix, "employment_start_date"), "is required");
  }
  auto start = aip::ParseDate(m.employment_start_date(), F(prefix, "employment_start_date"));
  if (!start.ok()) return start.status();
  if (!m.employment_end_date().empty()) {
    auto end = aip::ParseDate(m.employment_end_date(), F(prefix, "employment_end_date"));
    if (!end.ok()) return end.status();
    if (*end <= *start) {
      return InvalidArgument(F(prefix, "employment_end_date"), "must be after employment_start_date");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MaskPaths(
    const google::protobuf::FieldMask& mask, const std::vector<std::string>& writable,
    const std::vector<std::pair<std::string, std::string>>& fixed) {
  if (mask.paths().empty()) return InvalidArgument("update_mask", "is required");
  std::vector<std::string> out;
  for (const auto& path : mask.paths()) {
    for (const auto& [name, why] : fixed) {
      if (path == name) return InvalidArgument("update_mask", absl::StrCat(path, ": ", why));
    }
    if (!Has(writable, path)) {
      return InvalidArgument("update_mask", absl::StrCat("\"", path.substr(0, 100),
                                                         "\" is not a writable field"));
    }
    if (!Has(out, path)) out.push_back(path);
  }
  return out;
}

}  // namespace opsteam::org
