// strcat.h: Cat(...) concatenates strings, string_views and integers.
// (absl::StrCat of this Abseil release does not take std::string_view.)
#ifndef REFSTORE_UTIL_STRCAT_H_
#define REFSTORE_UTIL_STRCAT_H_

#include <string>
#include <string_view>
#include <type_traits>

namespace refstore::internal {

inline void CatAppend(std::string& out, std::string_view s) { out.append(s); }
inline void CatAppend(std::string& out, char c) { out.push_back(c); }
template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
void CatAppend(std::string& out, T v) {
  out.append(std::to_string(v));
}

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (CatAppend(out, args), ...);
  return out;
}

}  // namespace refstore::internal

#endif  // REFSTORE_UTIL_STRCAT_H_
