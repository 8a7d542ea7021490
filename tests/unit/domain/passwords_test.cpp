// Password rules, argon2id hashing and the secrets helpers. Hashing runs at
// the minimum cost (19 MiB, 2 passes) and only a few times.
#include "domain/passwords.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <set>

#include "domain/secrets.hpp"
#include "store_fixture.hpp"

using namespace depesche;
using domain::Passwords;
using domain::PasswordSettings;

namespace {

const Passwords& shared_passwords() {
  static const Passwords p(PasswordSettings{.argon2_memory_kib = 19456, .argon2_passes = 2},
                           {"password12345", "qwertyuiopasdf"});
  return p;
}

Error check_error(std::string_view password, std::string_view email = "anna@example.org",
                  std::string_view name = "Anna Berg") {
  auto r = shared_passwords().check(password, email, name);
  EXPECT_FALSE(r) << password;
  return r ? Error{ErrorCode::internal, "accepted"} : r.error();
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST(Passwords, HashIsArgon2idWithTheConfiguredCost) {
  auto h = shared_passwords().hash("Tidewater-Lantern-42");
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *h;
  EXPECT_EQ(h->find("Tidewater"), std::string::npos);
  auto again = shared_passwords().hash("Tidewater-Lantern-42");
  ASSERT_TRUE(again);
  EXPECT_NE(*h, *again) << "a fresh salt every time";
  EXPECT_TRUE(shared_passwords().verify(*h, "Tidewater-Lantern-42"));
  EXPECT_TRUE(shared_passwords().verify(*again, "Tidewater-Lantern-42"));
  EXPECT_FALSE(shared_passwords().verify(*h, "Tidewater-Lantern-43"));
  EXPECT_FALSE(shared_passwords().verify(*h, "tidewater-lantern-42"));
  EXPECT_FALSE(shared_passwords().verify(*h, ""));
}

TEST(Passwords, MalformedHashesVerifyNothing) {
  const std::string& good = shared_passwords().decoy_hash();
  for (std::string stored : {std::string(), std::string("plain text"), std::string("$argon2id$"),
                             good.substr(0, good.size() - 5), good + std::string(200, 'A'),
                             std::string("$2b$12$abcdefghijk")})
    EXPECT_FALSE(shared_passwords().verify(stored, "anything")) << stored;
  std::string with_nul = good;
  with_nul[10] = '\0';
  EXPECT_FALSE(shared_passwords().verify(with_nul, "anything"));
}

TEST(Passwords, DecoyHashIsAWellFormedHashOfNoKnownPassword) {
  const std::string& decoy = shared_passwords().decoy_hash();
  EXPECT_TRUE(decoy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << "costs what a real one does";
  for (std::string guess : {"", "password12345", "Tidewater-Lantern-42"})
    EXPECT_FALSE(shared_passwords().verify(decoy, guess)) << guess;
}

TEST(Passwords, AcceptsAGoodPassword) {
  EXPECT_TRUE(shared_passwords().check("Tidewater-Lantern-42", "anna@example.org", "Anna Berg"));
  EXPECT_TRUE(shared_passwords().check("ЖёлтыйЗонтик", "anna@example.org", "Anna Berg"))
      << "12 characters in 24 bytes";
  EXPECT_TRUE(shared_passwords().check(std::string(64, 'a') + std::string(64, 'b'), "a@b.cd", "X"))
      << "128 characters";
  EXPECT_TRUE(shared_passwords().check("bob-is-my-uncle-9", "bob@example.org", "Bob"))
      << "local parts and names under four characters are not checked";
}

TEST(Passwords, RejectsWeakPasswordsWithAReason) {
  EXPECT_EQ(check_error("short-pw1").field, "password");
  EXPECT_NE(check_error("short-pw1").message.find("12"), std::string::npos);
  EXPECT_EQ(check_error("ЖёлтыйЗонти").code, ErrorCode::invalid) << "11 characters in 22 bytes";
  EXPECT_NE(check_error(std::string(65, 'a') + std::string(64, 'b')).message.find("128"),
            std::string::npos);
  EXPECT_NE(check_error("PASSWORD12345").message.find("common"), std::string::npos);
  EXPECT_NE(check_error("zzzzzzzzzzzzzz").message.find("repeat"), std::string::npos);
  EXPECT_NE(check_error("my-ANNA-password-1").message.find("e-mail"), std::string::npos);
  EXPECT_NE(check_error("x-anna berg-x-2024", "reader@example.org").message.find("name"),
            std::string::npos);
  EXPECT_NE(check_error("abcdefghijkl\xff").message.find("UTF-8"), std::string::npos);
}

TEST(Passwords, RejectsOneRepeatedMultibyteCharacter) {
  auto r = shared_passwords().check(repeat("Ж", 12), "anna@example.org", "Anna Berg");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "password");
}

TEST(Passwords, LengthLimitsComeFromTheSettings) {
  // Constructing hashes a decoy: keep it cheap, nothing here verifies.
  Passwords p(
      PasswordSettings{
          .min_chars = 4, .max_chars = 6, .argon2_memory_kib = 19456, .argon2_passes = 2},
      {});
  EXPECT_TRUE(p.check("abcd", "x@example.org", "X"));
  EXPECT_TRUE(p.check("abcdef", "x@example.org", "X"));
  EXPECT_FALSE(p.check("abc", "x@example.org", "X"));
  EXPECT_FALSE(p.check("abcdefg", "x@example.org", "X"));
}

TEST(Passwords, LoadListReadsLowerCasedLinesWithoutComments) {
  TempDir dir;
  auto path = (dir.path / "common.txt").string();
  {
    std::ofstream out(path, std::ios::binary);
    out << "# a comment\r\n"
        << "Password12345\r\n"
        << "\n"
        << "letmein-please   \n"
        << "#not-a-password\n"
        << "last-line-without-newline";
  }
  auto list = Passwords::load_list(path);
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(*list, (std::unordered_set<std::string>{"password12345", "letmein-please",
                                                    "last-line-without-newline"}));
  auto missing = Passwords::load_list((dir.path / "missing.txt").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::invalid);
}

TEST(Passwords, ShippedCommonListLoadsAndIsLowerCase) {
  auto list =
      Passwords::load_list(std::string(DEPESCHE_SOURCE_DIR) + "/security/common-passwords.txt");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_GT(list->size(), 50u);
  for (const auto& p : *list) {
    EXPECT_FALSE(p.empty());
    for (char c : p) EXPECT_FALSE(c >= 'A' && c <= 'Z') << p;
  }
}

TEST(Secrets, RandomSecretsAreBase64urlAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string s = domain::random_secret();
    EXPECT_EQ(s.size(), 43u) << "32 bytes, no padding";
    for (char c : s)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << s;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(domain::random_secret(24).size(), 32u);
}

TEST(Secrets, Sha256HexMatchesTheStandardVectors) {
  EXPECT_EQ(domain::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(domain::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Secrets, ConstantTimeEqualComparesWholeStrings) {
  EXPECT_TRUE(domain::constant_time_equal("", ""));
  EXPECT_TRUE(domain::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(domain::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(domain::constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(domain::constant_time_equal("", "a"));
}
