#include "refstore/content/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace refstore::content {
namespace {

// OpenSSL fails here only when it is broken (no SHA-256 provider, no
// memory): there is nothing sensible to return, so stop.
void CheckOpenSsl(int ok, const char* what) {
  if (ok == 1) return;
  std::fprintf(stderr, "refstore: OpenSSL %s failed\n", what);
  std::abort();
}

std::string ToHex(const unsigned char* bytes, unsigned int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (unsigned int i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

}  // namespace

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  CheckOpenSsl(state_->ctx != nullptr ? 1 : 0, "EVP_MD_CTX_new");
  CheckOpenSsl(EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr), "EVP_DigestInit_ex");
}

Sha256::~Sha256() = default;

void Sha256::Update(std::string_view bytes) {
  if (bytes.empty()) return;
  CheckOpenSsl(EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size()), "EVP_DigestUpdate");
}

std::string Sha256::HexDigest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  CheckOpenSsl(EVP_DigestFinal_ex(state_->ctx, md, &n), "EVP_DigestFinal_ex");
  return ToHex(md, n);
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.HexDigest();
}

}  // namespace refstore::content
