#pragma once
// Repository implementations over a ConnectionPool; see store/store.hpp for
// the contracts.

#include "store/sqlite/database.hpp"
#include "store/store.hpp"

namespace depesche::store::sqlite {

class SqliteArticleRepository final : public ArticleRepository {
 public:
  explicit SqliteArticleRepository(ConnectionPool& pool) : pool_(pool) {}
  Result<std::vector<Section>> sections(std::string_view edition) override;
  Result<Section> section_by_slug(std::string_view edition, std::string_view slug) override;
  Result<Section> section_by_id(std::int64_t id) override;
  Result<Section> create_section(const Section& section) override;
  Result<Article> by_id(std::int64_t id) override;
  Result<Article> by_slug(std::string_view edition, std::string_view slug) override;
  Result<domain::Page<Article>> list(const ArticleQuery& query) override;
  Result<std::vector<Article>> related_by_tags(const Article& article, int limit) override;
  Result<std::map<std::string, std::int64_t>> translations(std::int64_t group) override;
  Result<Article> insert(const Article& article) override;
  Result<Article> update(const Article& article, int expected_version) override;
  Result<std::vector<ArticleRevision>> revisions(std::int64_t article_id) override;
  Result<std::int64_t> count() override;

 private:
  ConnectionPool& pool_;
};

class SqliteTokenRepository final : public TokenRepository {
 public:
  explicit SqliteTokenRepository(ConnectionPool& pool) : pool_(pool) {}
  Result<domain::ApiToken> insert(const domain::ApiToken& token) override;
  Result<domain::ApiToken> active_by_hash(std::string_view secret_hash) override;
  Result<void> revoke(std::string_view name, Millis at) override;
  Result<std::vector<domain::ApiToken>> list() override;

 private:
  ConnectionPool& pool_;
};

class SqliteAccountRepository final : public AccountRepository {
 public:
  explicit SqliteAccountRepository(ConnectionPool& pool) : pool_(pool) {}
  Result<domain::Account> insert(const domain::Account& account) override;
  Result<domain::Account> by_id(std::int64_t id) override;
  Result<domain::Account> by_email(std::string_view email) override;
  Result<void> set_confirmed(std::int64_t id, Millis at) override;
  Result<void> set_profile(std::int64_t id, std::string_view display_name,
                           std::string_view edition) override;
  Result<void> set_role(std::int64_t id, domain::Role role) override;
  Result<void> set_password(std::int64_t id, std::string_view password_hash) override;
  Result<void> set_email(std::int64_t id, std::string_view email) override;
  Result<void> mark_deleted(std::int64_t id, Millis at) override;
  Result<std::vector<domain::Account>> list(std::int64_t after_id, int limit) override;
  Result<void> insert_session(const domain::Session& session) override;
  Result<domain::Session> session(std::string_view id_hash) override;
  Result<void> touch_session(std::string_view id_hash, Millis at) override;
  Result<void> delete_session(std::string_view id_hash) override;
  Result<void> end_sessions(std::int64_t account_id) override;
  Result<std::vector<domain::Session>> sessions_of(std::int64_t account_id) override;
  Result<void> insert_token(const domain::AccountToken& token) override;
  Result<void> retire_tokens(std::int64_t account_id, domain::TokenPurpose purpose,
                             Millis at) override;
  Result<domain::AccountToken> newest_unused_token(std::int64_t account_id,
                                                   domain::TokenPurpose purpose) override;
  Result<domain::AccountToken> peek_token(std::string_view hash,
                                          domain::TokenPurpose purpose) override;
  Result<domain::AccountToken> consume_token(std::string_view hash, domain::TokenPurpose purpose,
                                             Millis now) override;

 private:
  ConnectionPool& pool_;
};

class SqliteTickerRepository final : public TickerRepository {
 public:
  explicit SqliteTickerRepository(ConnectionPool& pool) : pool_(pool) {}
  Result<domain::LiveBlog> insert_live_blog(const domain::LiveBlog& blog) override;
  Result<domain::LiveBlog> live_blog(std::string_view slug) override;
  Result<std::vector<domain::LiveBlog>> live_blogs() override;
  Result<domain::LiveBlog> update_live_blog(const domain::LiveBlog& blog) override;
  Result<Millis> next_entry_time(std::string_view ticker, Millis now) override;
  Result<domain::TickerEntry> insert_entry(const domain::TickerEntry& entry) override;
  Result<domain::TickerEntry> entry(std::int64_t id) override;
  Result<domain::TickerEntry> update_entry(const domain::TickerEntry& entry) override;
  Result<void> delete_entry(std::int64_t id) override;
  Result<domain::Page<domain::TickerEntry>> entries(const domain::EntryQuery& query) override;
  Result<std::vector<domain::TickerEntry>> pinned(std::string_view ticker) override;

 private:
  ConnectionPool& pool_;
};

class SqliteMailQueueRepository final : public MailQueueRepository {
 public:
  explicit SqliteMailQueueRepository(ConnectionPool& pool) : pool_(pool) {}
  Result<domain::QueuedMail> enqueue(const domain::QueuedMail& mail) override;
  Result<std::vector<domain::QueuedMail>> due(Millis now, int limit) override;
  Result<int> claim_due(Millis now, int limit,
                        const std::function<void(const domain::QueuedMail&)>& attempt) override;
  Result<void> mark_sent(std::int64_t id, Millis at) override;
  Result<void> mark_attempt_failed(std::int64_t id, int attempts,
                                   std::optional<Millis> next_attempt_at,
                                   std::string_view error) override;
  Result<std::vector<domain::QueuedMail>> in_state(domain::MailState state, int limit) override;
  Result<int> retry_failed(Millis now) override;
  Result<std::int64_t> count(domain::MailState state) override;

 private:
  ConnectionPool& pool_;
  std::mutex claim_mutex_;  // see claim_due()
};

class SqliteIdempotencyRepository final : public IdempotencyRepository {
 public:
  explicit SqliteIdempotencyRepository(ConnectionPool& pool) : pool_(pool) {}
  Result<std::optional<domain::RememberedResponse>> find(std::string_view scope,
                                                         std::string_view key) override;
  Result<void> remember(const domain::RememberedResponse& response) override;
  Result<int> forget_before(Millis before, int limit) override;
  Result<void> forget(std::string_view scope, std::string_view key) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace depesche::store::sqlite
