#include "refstore/reference.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "refstore/status_code.h"

namespace refstore {
namespace {

const std::string kHex(64, 'a');
const std::string kHex2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kDigest = "sha256:" + kHex2;

// Full form of a successful parse, or the error message.
std::string Parsed(std::string_view text) {
  absl::StatusOr<Reference> r = ParseReference(text);
  if (!r.ok()) return "error: " + std::string(r.status().message());
  return r->Full();
}

std::string ParsedNoTag(std::string_view text) {
  absl::StatusOr<Reference> r = ParseReferenceNoDefaultTag(text);
  if (!r.ok()) return "error: " + std::string(r.status().message());
  return r->Full();
}

std::string Familiar(std::string_view text) {
  absl::StatusOr<Reference> r = ParseReference(text);
  if (!r.ok()) return "error: " + std::string(r.status().message());
  return r->Familiar();
}

TEST(ParseReference, SplitsFields) {
  absl::StatusOr<Reference> r = ParseReference("example.com:5000/a/b:tag@" + kDigest);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->domain, "example.com:5000");
  EXPECT_EQ(r->path, "a/b");
  EXPECT_EQ(r->tag, "tag");
  EXPECT_EQ(r->digest, kDigest);
  EXPECT_EQ(r->Repository(), "example.com:5000/a/b");
  EXPECT_EQ(r->Full(), "example.com:5000/a/b:tag@" + kDigest);
  EXPECT_EQ(r->Familiar(), "example.com:5000/a/b:tag@" + kDigest);
}

TEST(ParseReference, Normalizes) {
  EXPECT_EQ(Parsed("alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(Parsed("alpine:3.18"), "docker.io/library/alpine:3.18");
  EXPECT_EQ(Parsed("docker.io/library/alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(Parsed("docker.io/alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(Parsed("index.docker.io/foo/bar:1"), "docker.io/foo/bar:1");
  EXPECT_EQ(Parsed("index.docker.io/alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(Parsed("foo/bar:1"), "docker.io/foo/bar:1");
  EXPECT_EQ(Parsed("localhost:5000/x"), "localhost:5000/x:latest");
  EXPECT_EQ(Parsed("localhost/x"), "localhost/x:latest");
  EXPECT_EQ(Parsed("Foo.com/bar"), "Foo.com/bar:latest");
  EXPECT_EQ(Parsed("Foo/bar"), "Foo/bar:latest");  // uppercase: a domain
  EXPECT_EQ(Parsed("[::1]:5000/x:1"), "[::1]:5000/x:1");
  EXPECT_EQ(Parsed("aaa"), "docker.io/library/aaa:latest");
  EXPECT_EQ(Parsed("a/b/c/d"), "docker.io/a/b/c/d:latest");
  // Without a slash, "localhost:5000" is the name localhost, tag 5000.
  EXPECT_EQ(Parsed("localhost:5000"), "docker.io/library/localhost:5000");
}

TEST(ParseReference, ComponentSeparators) {
  EXPECT_EQ(Parsed("a.b_c__d-e---f"), "docker.io/library/a.b_c__d-e---f:latest");
  EXPECT_EQ(Parsed("a..b"), "error: invalid reference format");
  EXPECT_EQ(Parsed("a___b"), "error: invalid reference format");
  EXPECT_EQ(Parsed("a._b"), "error: invalid reference format");
  EXPECT_EQ(Parsed("-a"), "error: invalid reference format");
  EXPECT_EQ(Parsed("a-"), "error: invalid reference format");
  EXPECT_EQ(Parsed("foo//bar"), "error: invalid reference format");
  EXPECT_EQ(Parsed("foo/bar/"), "error: invalid reference format");
}

TEST(ParseReference, DigestOnlyKeepsNoTag) {
  absl::StatusOr<Reference> r = ParseReference("alpine@" + kDigest);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->tag.has_value());
  EXPECT_EQ(r->Full(), "docker.io/library/alpine@" + kDigest);
  EXPECT_EQ(r->Familiar(), "alpine@" + kDigest);
}

TEST(ParseReference, TagAndDigest) {
  EXPECT_EQ(Parsed("alpine:3.18@" + kDigest), "docker.io/library/alpine:3.18@" + kDigest);
  EXPECT_EQ(Familiar("alpine:3.18@" + kDigest), "alpine:3.18@" + kDigest);
}

TEST(ParseReference, NoDefaultTag) {
  EXPECT_EQ(ParsedNoTag("alpine"), "docker.io/library/alpine");
  EXPECT_EQ(ParsedNoTag("alpine:3.18"), "docker.io/library/alpine:3.18");
  EXPECT_EQ(ParsedNoTag("alpine@" + kDigest), "docker.io/library/alpine@" + kDigest);
  absl::StatusOr<Reference> r = ParseReferenceNoDefaultTag("foo/bar");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->tag.has_value());
  EXPECT_FALSE(r->digest.has_value());
  EXPECT_EQ(ParsedNoTag(""), "error: image name cannot be blank");
  EXPECT_EQ(ParsedNoTag("Alpine"),
            "error: invalid reference format: repository name "
            "(library/Alpine) must be lowercase");
}

TEST(ParseReference, Blank) {
  for (const char* blank : {"", " ", "\t", "\r\n", " \t \r\n "}) {
    absl::StatusOr<Reference> r = ParseReference(blank);
    ASSERT_FALSE(r.ok()) << "input: '" << blank << "'";
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "image name cannot be blank");
  }
  EXPECT_EQ(Parsed(" alpine"), "error: invalid reference format");
  EXPECT_EQ(Parsed("alpine "), "error: invalid reference format");
}

TEST(ParseReference, Uppercase) {
  absl::StatusOr<Reference> r = ParseReference("Alpine:3.18");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "invalid reference format: repository name (library/Alpine) must "
            "be lowercase");
  EXPECT_EQ(Parsed("foo/Bar"),
            "error: invalid reference format: repository name (foo/Bar) must "
            "be lowercase");
  EXPECT_EQ(Parsed("docker.io/Foo/bar:1"),
            "error: invalid reference format: repository name (Foo/bar) must "
            "be lowercase");
  EXPECT_EQ(Parsed("localhost:5000/Foo"),
            "error: invalid reference format: repository name (Foo) must be "
            "lowercase");
  // As in docker, the checked name runs to the first ':'.
  EXPECT_EQ(Parsed("foo/Bar@" + kDigest),
            "error: invalid reference format: repository name "
            "(foo/Bar@sha256) must be lowercase");
  // Uppercase is fine in the domain and the tag.
  EXPECT_EQ(Parsed("EXAMPLE.com/x:TaG"), "EXAMPLE.com/x:TaG");
}

TEST(ParseReference, Malformed) {
  for (const char* bad : {"alpine:",
                          "alpine@",
                          ":tag",
                          "@sha256:x",
                          "alpine:3.18:x",
                          "alpine:-x",
                          "alpine:a/b",
                          "a b",
                          "alpine!",
                          "/alpine",
                          "alpine/",
                          "example.com/",
                          "example.com:/x",
                          "example.com:50a0/x",
                          "-bad.com/x",
                          "bad-.com/x",
                          "a_b.com/x",
                          "[]/x",
                          "[::g]/x",
                          "foo:bar/baz",
                          "alpine@sha256:abc",
                          "alpine@sha256",
                          "alpine@1sha:" /* algorithm */}) {
    EXPECT_EQ(Parsed(bad), "error: invalid reference format") << "input: " << bad;
  }
  // The tag is at most 128 characters.
  EXPECT_EQ(Parsed("alpine:" + std::string(128, 't')),
            "docker.io/library/alpine:" + std::string(128, 't'));
  EXPECT_EQ(Parsed("alpine:" + std::string(129, 't')), "error: invalid reference format");
  EXPECT_EQ(Parsed("alpine:_x.y-Z"), "docker.io/library/alpine:_x.y-Z");
}

TEST(ParseReference, DigestErrors) {
  // Fewer than 32 hex characters fail the grammar, as in docker.
  EXPECT_EQ(Parsed("alpine@sha256:abc"), "error: invalid reference format");
  EXPECT_EQ(Parsed("alpine@sha256:" + std::string(31, 'a')), "error: invalid reference format");
  // 32 or more hex pass the grammar, then fail the digest checks.
  EXPECT_EQ(Parsed("alpine@sha256:" + std::string(40, 'a')),
            "error: invalid checksum digest length");
  EXPECT_EQ(Parsed("alpine@sha256:" + std::string(65, 'a')),
            "error: invalid checksum digest length");
  EXPECT_EQ(Parsed("alpine@sha256:" + std::string(64, 'A')),
            "error: invalid checksum digest format");
  EXPECT_EQ(Parsed("alpine:1@sha256:" + std::string(64, 'A')),
            "error: invalid checksum digest format");
  EXPECT_EQ(Parsed("alpine@sha256:" + std::string(64, 'g')), "error: invalid reference format");
  // Only sha256 is supported.
  EXPECT_EQ(Parsed("alpine@sha512:" + std::string(128, 'a')), "error: invalid reference format");
}

TEST(ParseReference, PathLength) {
  // "foo/" + 251 = 255 characters: allowed; 256: too long.
  EXPECT_EQ(Parsed("foo/" + std::string(251, 'a')),
            "docker.io/foo/" + std::string(251, 'a') + ":latest");
  EXPECT_EQ(Parsed("foo/" + std::string(252, 'a')),
            "error: repository name must not be more than 255 characters");
  // "library/" counts: 247 + 8 = 255, 248 + 8 = 256.
  EXPECT_TRUE(ParseReference(std::string(247, 'a')).ok());
  EXPECT_EQ(Parsed(std::string(248, 'a')),
            "error: repository name must not be more than 255 characters");
  // The domain does not count.
  const std::string long_domain = std::string(60, 'd') + ".com";
  EXPECT_TRUE(ParseReference(long_domain + "/foo/" + std::string(251, 'a')).ok());
  // Grammar errors come before the length check.
  EXPECT_EQ(Parsed("foo/" + std::string(252, 'a') + "!"), "error: invalid reference format");
}

TEST(ParseReference, HexStrings) {
  EXPECT_EQ(Parsed(kHex2), "error: invalid repository name (" + kHex2 +
                               "), cannot specify 64-byte hexadecimal strings");
  // Not exactly 64 lowercase hex: an ordinary name.
  EXPECT_EQ(Parsed(std::string(63, 'a')), "docker.io/library/" + std::string(63, 'a') + ":latest");
  EXPECT_EQ(Parsed(std::string(65, 'a')), "docker.io/library/" + std::string(65, 'a') + ":latest");
  EXPECT_EQ(Parsed(kHex2 + ":1"), "docker.io/library/" + kHex2 + ":1");
  // "sha256:<64 hex>" parses as name sha256 with the hex as its tag.
  EXPECT_EQ(Parsed("sha256:" + kHex2), "docker.io/library/sha256:" + kHex2);
  EXPECT_EQ(Parsed("sha256:" + std::string(129, 'a')), "error: invalid reference format");
}

TEST(ParseReference, ErrorsAreInvalidArgument) {
  for (const std::string& bad :
       {std::string(""), std::string("Alpine"), std::string("a!"), kHex,
        "foo/" + std::string(300, 'a'), "alpine@sha256:" + std::string(40, 'a')}) {
    absl::StatusOr<Reference> r = ParseReference(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(ErrorCodeName(r.status()), "invalid_argument");
  }
}

TEST(Familiar, Forms) {
  EXPECT_EQ(Familiar("alpine"), "alpine:latest");
  EXPECT_EQ(Familiar("docker.io/library/alpine:3.18"), "alpine:3.18");
  EXPECT_EQ(Familiar("index.docker.io/foo/bar:1"), "foo/bar:1");
  EXPECT_EQ(Familiar("library/foo/bar"), "library/foo/bar:latest");
  EXPECT_EQ(Familiar("localhost:5000/x:1"), "localhost:5000/x:1");
  EXPECT_EQ(Familiar("localhost/x"), "localhost/x:latest");
  EXPECT_EQ(Familiar("Foo.com/bar"), "Foo.com/bar:latest");
  EXPECT_EQ(Familiar("example.com/library/x"), "example.com/library/x:latest");
}

TEST(FamiliarName, FromFull) {
  EXPECT_EQ(FamiliarName("docker.io/library/alpine:3.18"), "alpine:3.18");
  EXPECT_EQ(FamiliarName("docker.io/library/alpine@" + kDigest), "alpine@" + kDigest);
  EXPECT_EQ(FamiliarName("docker.io/foo/bar:1"), "foo/bar:1");
  EXPECT_EQ(FamiliarName("docker.io/library/a/b:1"), "library/a/b:1");
  EXPECT_EQ(FamiliarName("docker.io:5000/library/a:1"), "docker.io:5000/library/a:1");
  EXPECT_EQ(FamiliarName("quay.io/library/a:1"), "quay.io/library/a:1");
}

TEST(IsBlank, Cases) {
  EXPECT_TRUE(IsBlank(""));
  EXPECT_TRUE(IsBlank(" \t\r\n"));
  EXPECT_FALSE(IsBlank(" a "));
  EXPECT_FALSE(IsBlank("\v"));  // only space, tab, CR and LF are blank
}

TEST(LooksLikeIdPrefix, Cases) {
  std::string hex;
  EXPECT_FALSE(LooksLikeIdPrefix("abc", &hex));  // 3 chars: a name
  EXPECT_TRUE(LooksLikeIdPrefix("abcd", &hex));
  EXPECT_EQ(hex, "abcd");
  EXPECT_TRUE(LooksLikeIdPrefix(kHex2, &hex));
  EXPECT_EQ(hex, kHex2);
  EXPECT_FALSE(LooksLikeIdPrefix(kHex2 + "0", &hex));  // 65 chars
  EXPECT_FALSE(LooksLikeIdPrefix("ABCD", &hex));
  EXPECT_FALSE(LooksLikeIdPrefix("abcg", &hex));
  EXPECT_TRUE(LooksLikeIdPrefix("sha256:abcd", &hex));
  EXPECT_EQ(hex, "abcd");
  EXPECT_TRUE(LooksLikeIdPrefix(kDigest, &hex));
  EXPECT_EQ(hex, kHex2);
  EXPECT_FALSE(LooksLikeIdPrefix("sha256:abc", &hex));
  EXPECT_FALSE(LooksLikeIdPrefix("sha256:", &hex));
  EXPECT_FALSE(LooksLikeIdPrefix("SHA256:abcd", &hex));
  EXPECT_FALSE(LooksLikeIdPrefix("sha", &hex));
  EXPECT_FALSE(LooksLikeIdPrefix("", &hex));
  EXPECT_TRUE(LooksLikeIdPrefix("beef", nullptr));
}

TEST(Digest, Validate) {
  EXPECT_TRUE(IsDigest(kDigest));
  EXPECT_TRUE(ValidateDigest(kDigest).ok());
  EXPECT_EQ(ValidateDigest("sha256:abc").message(), "invalid checksum digest length");
  EXPECT_EQ(ValidateDigest("sha256:").message(), "invalid checksum digest length");
  EXPECT_EQ(ValidateDigest("sha256:" + std::string(64, 'A')).message(),
            "invalid checksum digest format");
  EXPECT_EQ(ValidateDigest("sha256:" + std::string(64, 'z')).message(),
            "invalid checksum digest format");
  EXPECT_EQ(ValidateDigest(kHex2).message(), "invalid digest '" + kHex2 + "'");
  EXPECT_EQ(ValidateDigest("md5:abc").message(), "invalid digest 'md5:abc'");
  EXPECT_EQ(ValidateDigest("sha256:abc").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsDigest("sha256:abc"));
  EXPECT_FALSE(IsDigest(kHex2));
  EXPECT_FALSE(IsDigest(kDigest + "0"));
}

TEST(IsValidNamespace, Cases) {
  EXPECT_TRUE(IsValidNamespace("default"));
  EXPECT_TRUE(IsValidNamespace("A.b_c-D9"));
  EXPECT_TRUE(IsValidNamespace(std::string(76, 'n')));
  EXPECT_FALSE(IsValidNamespace(std::string(77, 'n')));
  EXPECT_FALSE(IsValidNamespace(""));
  EXPECT_FALSE(IsValidNamespace("-a"));
  EXPECT_FALSE(IsValidNamespace("a-"));
  EXPECT_FALSE(IsValidNamespace("a--b"));
  EXPECT_FALSE(IsValidNamespace("a._b"));
  EXPECT_FALSE(IsValidNamespace("a/b"));
  EXPECT_FALSE(IsValidNamespace("a b"));
}

TEST(IsContainerId, Cases) {
  EXPECT_TRUE(IsContainerId(kHex2));
  EXPECT_FALSE(IsContainerId(kHex2.substr(1)));
  EXPECT_FALSE(IsContainerId(kHex2 + "a"));
  EXPECT_FALSE(IsContainerId(std::string(64, 'A')));
  EXPECT_FALSE(IsContainerId(kDigest));
}

TEST(ShortId, Cases) {
  EXPECT_EQ(ShortId(kDigest), "0123456789ab");
  EXPECT_EQ(ShortId(kHex2), "0123456789ab");
  EXPECT_EQ(ShortId("abc"), "abc");
  EXPECT_EQ(ShortId("sha256:abc"), "abc");
  EXPECT_EQ(ShortId("sha512:0123456789abcdef"), "0123456789ab");  // any algorithm
  EXPECT_EQ(ShortId("a:b:c"), "b:c");                             // the first ':' only
}

// moby's stringid.TruncateID (the tools had their own copy and this test).
TEST(ShortId, TruncateId) {
  EXPECT_EQ(ShortId("sha256:05455a08881ea9cf0e752bc48e61bbd71a34c029bb13df01e40e3e70e0d007bd"),
            "05455a08881e");
  EXPECT_EQ(ShortId("05455a08881ea9cf0e752bc48e61bbd71a34c029bb13df01e40e3e70e0d007bd"),
            "05455a08881e");
  EXPECT_EQ(ShortId(""), "");
  EXPECT_EQ(ShortId("sha256:"), "");
  EXPECT_EQ(ShortId("a:b:0123456789abcdef"), "b:0123456789");
}

}  // namespace
}  // namespace refstore
