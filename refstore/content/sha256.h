// sha256.h: SHA-256 of a byte stream (OpenSSL's libcrypto underneath).
//
// Thread-safety: a Sha256 is used by one thread; distinct ones are
// independent.
#ifndef REFSTORE_CONTENT_SHA256_H_
#define REFSTORE_CONTENT_SHA256_H_

#include <memory>
#include <string>
#include <string_view>

namespace refstore::content {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // The digest as 64 lowercase hex characters. Call once, after the last
  // Update.
  std::string HexDigest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// SHA-256 of `bytes` as 64 lowercase hex characters.
std::string Sha256Hex(std::string_view bytes);

}  // namespace refstore::content

#endif  // REFSTORE_CONTENT_SHA256_H_
