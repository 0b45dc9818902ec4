#include "refstore/format/keys.h"

#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

std::string Join(std::string_view ns, std::string_view a, std::string_view b = {},
                 std::string_view c = {}) {
  std::string k;
  k.reserve(ns.size() + 1 + a.size() + b.size() + c.size());
  k.append(ns);
  k.push_back('\0');
  k.append(a);
  k.append(b);
  k.append(c);
  return k;
}

}  // namespace

std::string NsPrefix(std::string_view ns) { return Join(ns, {}); }
std::string ImageKey(std::string_view ns, std::string_view id) { return Join(ns, id); }
std::string NameKey(std::string_view ns, std::string_view name) { return Join(ns, "N", name); }
std::string DigestRefKey(std::string_view ns, std::string_view id) { return Join(ns, "D", id); }
std::string DanglingKey(std::string_view ns, std::string_view id) { return Join(ns, id); }
std::string ContainerKey(std::string_view ns, std::string_view cid) { return Join(ns, cid); }
std::string HolderKey(std::string_view ns, std::string_view id, std::string_view cid) {
  return Join(ns, id, cid);
}
std::string ImageNameKey(std::string_view ns, std::string_view id, std::string_view name) {
  return Join(ns, id, name);
}
std::string ImageNamesPrefix(std::string_view ns, std::string_view id) { return Join(ns, id); }
std::string HolderPrefix(std::string_view ns, std::string_view id) { return Join(ns, id); }
std::string LeaseKey(std::string_view ns, std::string_view lease) { return Join(ns, lease); }
std::string LeaseBlobKey(std::string_view ns, std::string_view lease, std::string_view raw) {
  return Join(ns, lease, std::string_view("\0", 1), raw);
}
std::string LeaseBlobPrefix(std::string_view ns, std::string_view lease) {
  return Join(ns, lease, std::string_view("\0", 1));
}
std::string BlobLeaseKey(std::string_view raw, std::string_view ns, std::string_view lease) {
  std::string k(raw);
  k.append(ns);
  k.push_back('\0');
  k.append(lease);
  return k;
}

bool SplitNs(std::string_view key, std::string_view* ns, std::string_view* rest) {
  size_t nul = key.find('\0');
  if (nul == std::string_view::npos) return false;
  *ns = key.substr(0, nul);
  *rest = key.substr(nul + 1);
  return true;
}

std::string Printable(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c == 0) {
      out += '/';
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      // A run of binary bytes is a raw digest: show the rest as hex.
      return Cat(out, RawToHex(key.substr(i)));
    }
  }
  return out;
}

}  // namespace refstore::internal
