// The TokenRepository contract (bearer tokens of machine clients, stored
// hashed), run against every Store implementation (store_kinds()).
#include <gtest/gtest.h>

#include <algorithm>

#include "store_fixture.hpp"

using namespace depesche;
using domain::ApiToken;
using domain::Role;

namespace {

ApiToken make_token(std::string name, char hash, Role role = Role::editor, Millis at = 1) {
  return ApiToken{0, std::move(name), role, std::string(64, hash), at, std::nullopt};
}

class TokenRepositoryContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  TempDir dir;
  std::unique_ptr<store::Store> store = GetParam().open(dir);
  store::TokenRepository& tokens = store->tokens();

  std::vector<ApiToken> listed() {
    auto all = tokens.list();
    EXPECT_TRUE(all);
    auto out = all.value_or(std::vector<ApiToken>{});
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
  }
};

TEST_P(TokenRepositoryContract, TokensAreFoundByHashAndRevoked) {
  ApiToken t = make_token("wire", 'a');
  ASSERT_TRUE(tokens.insert(t));
  EXPECT_EQ(tokens.insert(t).error().code, ErrorCode::conflict);
  EXPECT_EQ(tokens.active_by_hash(std::string(64, 'a'))->name, "wire");
  ASSERT_TRUE(tokens.revoke("wire", 2));
  EXPECT_EQ(tokens.active_by_hash(std::string(64, 'a')).error().code, ErrorCode::not_found);
  EXPECT_EQ(tokens.revoke("wire", 3).error().code, ErrorCode::not_found);
}

TEST_P(TokenRepositoryContract, ReadsBackEveryField) {
  auto stored = tokens.insert(make_token("ingest", 'b', Role::admin, 1234));
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_GT(stored->id, 0);
  auto read = tokens.active_by_hash(std::string(64, 'b'));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->id, stored->id);
  EXPECT_EQ(read->name, "ingest");
  EXPECT_EQ(read->role, Role::admin);
  EXPECT_EQ(read->secret_hash, std::string(64, 'b'));
  EXPECT_EQ(read->created_at, 1234);
  EXPECT_FALSE(read->revoked_at);
  for (Role role : {Role::reader, Role::moderator, Role::editor}) {
    std::string name = std::string("r-") + domain::to_string(role);
    char hash = static_cast<char>('c' + static_cast<int>(role));
    ASSERT_TRUE(tokens.insert(make_token(name, hash, role)));
    EXPECT_EQ(tokens.active_by_hash(std::string(64, hash))->role, role) << name;
  }
}

TEST_P(TokenRepositoryContract, NamesAndSecretsAreUnique) {
  ASSERT_TRUE(tokens.insert(make_token("wire", 'a')));
  auto same_name = tokens.insert(make_token("wire", 'b'));
  ASSERT_FALSE(same_name);
  EXPECT_EQ(same_name.error().code, ErrorCode::conflict);
  EXPECT_EQ(same_name.error().field, "name");
  EXPECT_EQ(tokens.active_by_hash(std::string(64, 'b')).error().code, ErrorCode::not_found)
      << "the refused token was not stored";
  auto same_secret = tokens.insert(make_token("other", 'a'));
  ASSERT_FALSE(same_secret);
  EXPECT_EQ(same_secret.error().code, ErrorCode::conflict);
  EXPECT_EQ(listed().size(), 1u);
  EXPECT_EQ(tokens.active_by_hash(std::string(64, 'a'))->name, "wire");
}

TEST_P(TokenRepositoryContract, UnknownTokensAreNotFound) {
  EXPECT_EQ(tokens.active_by_hash(std::string(64, 'z')).error().code, ErrorCode::not_found);
  EXPECT_EQ(tokens.active_by_hash("").error().code, ErrorCode::not_found);
  EXPECT_EQ(tokens.revoke("nobody", 1).error().code, ErrorCode::not_found);
  ASSERT_TRUE(tokens.insert(make_token("wire", 'a')));
  EXPECT_EQ(tokens.active_by_hash(std::string(64, 'A')).error().code, ErrorCode::not_found)
      << "hashes are compared exactly";
}

TEST_P(TokenRepositoryContract, RevokingOneTokenLeavesTheOthers) {
  ASSERT_TRUE(tokens.insert(make_token("wire", 'a')));
  ASSERT_TRUE(tokens.insert(make_token("script", 'b', Role::admin)));
  ASSERT_TRUE(tokens.revoke("wire", 99));
  EXPECT_FALSE(tokens.active_by_hash(std::string(64, 'a')));
  EXPECT_EQ(tokens.active_by_hash(std::string(64, 'b'))->name, "script");
}

TEST_P(TokenRepositoryContract, ListShowsRevokedTokensToo) {
  EXPECT_TRUE(listed().empty());
  ASSERT_TRUE(tokens.insert(make_token("wire", 'a', Role::editor, 10)));
  ASSERT_TRUE(tokens.insert(make_token("script", 'b', Role::admin, 20)));
  ASSERT_TRUE(tokens.revoke("wire", 30));
  auto all = listed();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "script");
  EXPECT_EQ(all[0].role, Role::admin);
  EXPECT_EQ(all[0].created_at, 20);
  EXPECT_FALSE(all[0].revoked_at);
  EXPECT_EQ(all[1].name, "wire");
  EXPECT_EQ(all[1].revoked_at, 30);
  EXPECT_EQ(all[1].secret_hash, std::string(64, 'a'));
}

INSTANTIATE_TEST_SUITE_P(Stores, TokenRepositoryContract, ::testing::ValuesIn(store_kinds()),
                         store_kind_name);

}  // namespace
