#include "services/org/audit.h"

#include "services/org/org_events.h"
#include "services/org/org_logic.h"

#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "libs/aip/aip.h"
#include "libs/rpc/call_context.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"

namespace opsteam::org {
namespace {

using google::protobuf::util::TimeUtil;

bool OutputOnly(const std::string& field) {
  static const auto* kSkip = new std::set<std::string>{
      "name", "etag", "create_time", "update_time", "valid_from", "valid_to", "filled", "ancestors"};
  return kSkip->count(field) > 0;
}

// Top-level fields of `message` as JSON values, keyed by proto field name.
absl::StatusOr<std::map<std::string, std::string>> Fields(const google::protobuf::Message* message) {
  std::map<std::string, std::string> out;
  if (message == nullptr) return out;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*message, &json, print).ok()) {
    return Internal("audit: encoding");
  }
  google::protobuf::Struct fields;
  if (!google::protobuf::util::JsonStringToMessage(json, &fields).ok()) return Internal("audit: decoding");
  for (const auto& [key, value] : fields.fields()) {
    if (OutputOnly(key)) continue;
    std::string v;
    if (!google::protobuf::util::MessageToJsonString(value, &v).ok()) return Internal("audit: value");
    out[key] = std::move(v);
  }
  return out;
}

std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

thread_local const WriteScope* current_write = nullptr;

}  // namespace

const WriteScope* CurrentWrite() { return current_write; }

ScopedWrite::ScopedWrite(WriteScope scope) : scope_(std::move(scope)), previous_(current_write) {
  current_write = &scope_;
}

ScopedWrite::~ScopedWrite() { current_write = previous_; }

absl::Status RecordChange(pg::Tx& tx, absl::string_view method, absl::string_view resource,
                          absl::string_view department_id, std::optional<absl::CivilDay> effective,
                          const google::protobuf::Message* before, const google::protobuf::Message* after) {
  OPS_ASSIGN_OR_RETURN(auto old_fields, Fields(before));
  OPS_ASSIGN_OR_RETURN(auto new_fields, Fields(after));
  std::map<std::string, std::pair<std::string, std::string>> diff;
  for (const auto& [k, v] : old_fields) diff[k].first = v;
  for (const auto& [k, v] : new_fields) diff[k].second = v;
  // Stored as [{"field": .., "before": <json text>, "after": <json text>}, ...].
  std::string json = "[";
  bool first = true;
  for (const auto& [field, values] : diff) {
    if (values.first == values.second) continue;
    absl::StrAppend(&json, first ? "" : ",", "{\"field\":", Quote(field), ",\"before\":",
                    Quote(values.first), ",\"after\":", Quote(values.second), "}");
    first = false;
  }
  json += "]";
  if (first && before != nullptr && after != nullptr) return absl::OkStatus();  // nothing changed
  std::vector<std::string> changed;
  for (const auto& [field, values] : diff) {
    if (values.first != values.second) changed.push_back(field);
  }
  OPS_RETURN_IF_ERROR(AddChangeEvent(tx, method, resource, effective, before, after, changed));
  pg::Param day = effective ? pg::Param(aip::FormatDate(*effective)) : std::nullopt;
  pg::Param dept = department_id.empty() ? std::nullopt : pg::Param(std::string(department_id));
  auto r = tx.Exec(
      "INSERT INTO changes (resource, method, actor, effective_date, department_id, fields)"
      " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
      {std::string(resource), std::string(method), rpc::CurrentCall().actor, day, dept, json});
  return r.status();
}

absl::Status ListChangesIn(pg::Tx& tx, const v1::ListChangesRequest& req, v1::ListChangesResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  if (req.resource().empty()) return InvalidArgument("resource", "is required");
  if (req.resource().size() > 200) return InvalidArgument("resource", "is too long");
  std::string subtree_root;
  if (req.subtree()) {
    OPS_ASSIGN_OR_RETURN(subtree_root, aip::ParseName(req.resource(), "departments", "resource"));
  }
  int64_t after_id = 0;
  if (!page.after.empty() && !absl::SimpleAtoi(page.after, &after_id)) {
    return InvalidArgument("page_token", "is not a token this list returned", "INVALID_PAGE_TOKEN");
  }
  auto micros = [](const google::protobuf::Timestamp& t) -> pg::Param {
    if (t.seconds() == 0 && t.nanos() == 0) return std::nullopt;
    return absl::StrCat(TimeUtil::TimestampToMicroseconds(t));
  };
  // The subtree is the department's subtree today plus every department that was ever
  // recorded under it; history of departments since moved away stays with their old place.
  const std::string sql = absl::StrCat(
      "WITH RECURSIVE sub(id, depth) AS ("
      "  SELECT $6::text, 0 WHERE $6::text IS NOT NULL"
      "  UNION"
      "  SELECT v.department_id, sub.depth + 1 FROM sub JOIN department_versions v"
      "   ON v.parent_id = sub.id WHERE sub.depth < 1000)"
      " SELECT id, resource, method, actor, (extract(epoch FROM time) * 1000000)::bigint,"
      "  coalesce(effective_date::text, ''), coalesce(department_id, ''), fields::text"
      " FROM changes c WHERE c.id > $1"
      "  AND ($4::bigint IS NULL OR c.time >= to_timestamp($4::bigint / 1000000.0))"
      "  AND ($5::bigint IS NULL OR c.time < to_timestamp($5::bigint / 1000000.0))"
      "  AND (CASE WHEN $6::text IS NULL THEN c.resource = $2"
      "       ELSE c.resource = $2 OR c.department_id IN (SELECT id FROM sub) END)"
      " ORDER BY c.id LIMIT $3");
  pg::Param root = subtree_root.empty() ? std::nullopt : pg::Param(subtree_root);
  auto r = tx.Exec(sql, {absl::StrCat(after_id), req.resource(), absl::StrCat(page.size + 1),
                         micros(req.start_time()), micros(req.end_time()), root});
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows() && i < page.size; ++i) {
    auto* c = resp->add_changes();
    c->set_name(absl::StrCat("changes/", r->Get(i, 0)));
    c->set_resource(r->GetString(i, 1));
    c->set_method(r->GetString(i, 2));
    c->set_actor(r->GetString(i, 3));
    *c->mutable_time() = TimeUtil::MicrosecondsToTimestamp(r->GetInt64(i, 4));
    c->set_effective_date(r->GetString(i, 5));
    if (!r->Get(i, 6).empty()) c->set_department(absl::StrCat("departments/", r->Get(i, 6)));
    google::protobuf::ListValue fields;
    if (!google::protobuf::util::JsonStringToMessage(r->GetString(i, 7), &fields).ok()) {
      return Internal("audit: stored fields unreadable");
    }
    for (const auto& f : fields.values()) {
      const auto& s = f.struct_value().fields();
      auto* fc = c->add_fields();
      fc->set_field(s.at("field").string_value());
      fc->set_before(s.at("before").string_value());
      fc->set_after(s.at("after").string_value());
    }
  }
  if (r->rows() > page.size) {
    resp->set_next_page_token(aip::NextPageToken(req, r->Get(page.size - 1, 0)));
  }
  return absl::OkStatus();
}

}  // namespace opsteam::org

namespace opsteam::org {

absl::Status OrgLogic::ListChanges(const v1::ListChangesRequest& req, v1::ListChangesResponse* resp) {
  return Read([&](pg::Tx& tx) { return ListChangesIn(tx, req, resp); });
}

}  // namespace opsteam::org
