#pragma once

// base64url without padding (RFC 7515 section 2), the encoding of every part of a JWS.

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace opsteam::auth {

std::string Base64UrlEncode(absl::string_view bytes);

// The decoded bytes, or nullopt when `text` holds anything but the base64url alphabet
// (padding included) or has an impossible length.
std::optional<std::string> Base64UrlDecode(absl::string_view text);

}  // namespace opsteam::auth
