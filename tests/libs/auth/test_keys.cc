#include "tests/libs/auth/test_keys.h"

#include <memory>

#include "gtest/gtest.h"
#include "openssl/bio.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/rand.h"

namespace opsteam::auth::testing {
namespace {

std::string Drain(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

KeyPair ToPem(EVP_PKEY* key) {
  KeyPair out;
  EXPECT_NE(key, nullptr) << "key generation failed";
  if (key == nullptr) return out;
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
  EXPECT_EQ(PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  EXPECT_EQ(PEM_write_bio_PUBKEY(pub.get(), key), 1);
  out.private_pem = Drain(priv.get());
  out.public_pem = Drain(pub.get());
  EVP_PKEY_free(key);
  return out;
}

}  // namespace

KeyPair NewRsaKey(int bits) { return ToPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits))); }

KeyPair NewEcKey(const std::string& curve) { return ToPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve.c_str())); }

std::string NewSecret() {
  std::string secret(48, '\0');
  EXPECT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())), 1);
  return secret;
}

}  // namespace opsteam::auth::testing
