#include "libs/auth/base64url.h"

#include "absl/strings/escaping.h"

namespace opsteam::auth {

std::string Base64UrlEncode(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

std::optional<std::string> Base64UrlDecode(absl::string_view text) {
  // absl also accepts padding and the standard alphabet's '+' and '/'; a JWS has neither.
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return std::nullopt;
  }
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out)) return std::nullopt;
  return out;
}

}  // namespace opsteam::auth
