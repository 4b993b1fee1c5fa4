#pragma once

// Keys made at test time with OpenSSL, so no private key is ever committed.

#include <string>

namespace opsteam::auth::testing {

struct KeyPair {
  std::string private_pem;  // PKCS#8
  std::string public_pem;   // SubjectPublicKeyInfo
};

// A new RSA key of `bits` bits.
KeyPair NewRsaKey(int bits = 2048);
// A new EC key on the named curve ("P-256", "P-384").
KeyPair NewEcKey(const std::string& curve = "P-256");
// 48 random bytes.
std::string NewSecret();

}  // namespace opsteam::auth::testing
