#include "store/postgres/connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>
#include <cstring>

#include "base/log.hpp"

namespace depesche::store::postgres {
namespace {

bool starts_with(const char* s, const char* prefix) {
  return s && std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// The one mapping of SQLSTATE to Error. `lost` and `retryable` tell the
// connection what the caller cannot see in the Error.
Error map_sqlstate(const char* state, bool& lost, bool& retryable) {
  if (starts_with(state, "23")) {
    if (std::strcmp(state, "23505") == 0) return Error{ErrorCode::conflict, "already exists"};
    return Error{ErrorCode::invalid, "violates a data rule"};
  }
  if (starts_with(state, "40001") || starts_with(state, "40P01")) {
    retryable = true;
    return Error{ErrorCode::unavailable, "the database is busy; try again"};
  }
  // Class 08 is a broken connection; 57P01..57P03 a server that shuts down,
  // crashed or does not take connections yet. Either way this connection
  // is gone and the pool opens a new one.
  if (!state || starts_with(state, "08") || starts_with(state, "57P0")) {
    lost = true;
    return Error{ErrorCode::unavailable, "the database cannot be reached right now"};
  }
  // A standby (read-only transaction) or a full disk: clients may retry
  // later, and /readyz says not ready meanwhile.
  if (std::strcmp(state, "25006") == 0 || std::strcmp(state, "53100") == 0)
    return Error{ErrorCode::unavailable, "the database cannot take writes right now"};
  return Error{ErrorCode::internal, "storage error"};
}

}  // namespace

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i)
    out.push_back(nulls_[i] ? nullptr : values_[i].c_str());
  return out;
}

Rows::~Rows() {
  if (res_) PQclear(res_);
}

int Rows::size() const { return PQntuples(res_); }

std::int64_t Rows::affected() const {
  const char* n = PQcmdTuples(res_);
  std::int64_t v = 0;
  if (n && *n) std::from_chars(n, n + std::strlen(n), v);
  return v;
}

bool Rows::is_null(int row, int col) const { return PQgetisnull(res_, row, col) == 1; }

std::string Rows::text(int row, int col) const {
  return std::string(PQgetvalue(res_, row, col),
                     static_cast<std::size_t>(PQgetlength(res_, row, col)));
}

std::int64_t Rows::int64(int row, int col) const {
  const char* v = PQgetvalue(res_, row, col);
  std::int64_t out = 0;
  std::from_chars(v, v + PQgetlength(res_, row, col), out);
  return out;
}

bool Rows::boolean(int row, int col) const {
  const char* v = PQgetvalue(res_, row, col);
  return v && v[0] == 't';
}

Result<void> check_url(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    std::string msg = error ? error : "out of memory";
    PQfreemem(error);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return fail(ErrorCode::invalid, msg);
  }
  PQconninfoFree(options);
  return {};
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& url,
                                                     int connect_timeout_s) {
  // The URL is expanded in place of dbname, after the default timeout, so
  // a connect_timeout it names wins.
  std::string timeout = std::to_string(connect_timeout_s);
  const char* keywords[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (!conn || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (conn) PQfinish(conn);
    log::error("cannot connect to PostgreSQL", {{"error", msg}});
    return fail(ErrorCode::unavailable, "cannot connect to PostgreSQL: " + msg);
  }
  std::unique_ptr<Connection> c(new Connection(conn));
  // Times are integers (milliseconds) in the schema; UTC keeps any
  // server-side now() in logs unambiguous. Notices stay in the server log.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  if (auto r = c->exec("SET TIME ZONE 'UTC'"); !r) return std::unexpected(r.error());
  return c;
}

Connection::~Connection() { PQfinish(conn_); }

Error Connection::error_of(PGresult* res) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (PQstatus(conn_) == CONNECTION_BAD) state = nullptr;
  std::string detail = res ? PQresultErrorMessage(res) : PQerrorMessage(conn_);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  bool lost = false;
  Error e = map_sqlstate(state, lost, retryable_);
  if (lost) lost_ = true;
  // Constraint violations are answers, not failures; the rest is logged
  // here and only here, with the detail the user never sees.
  if (e.code != ErrorCode::conflict && e.code != ErrorCode::invalid)
    log::error("postgres error",
               {{"sqlstate", std::string_view(state ? state : "none")}, {"detail", detail}});
  return e;
}

Result<void> Connection::exec(std::string_view sql) {
  std::string text(sql);
  PGresult* res = PQexec(conn_, text.c_str());
  auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    PQclear(res);
    return {};
  }
  Error e = error_of(res);
  if (res) PQclear(res);
  return std::unexpected(std::move(e));
}

Result<Rows> Connection::query(const std::string& sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "d" + std::to_string(prepared_.size() + 1);
    PGresult* res = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
      Error e = error_of(res);
      if (res) PQclear(res);
      return std::unexpected(std::move(e));
    }
    PQclear(res);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  auto values = params.pointers();
  PGresult* res =
      PQexecPrepared(conn_, it->second.c_str(), params.size(), values.data(), nullptr, nullptr, 0);
  auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Rows(res);
  Error e = error_of(res);
  if (res) PQclear(res);
  return std::unexpected(std::move(e));
}

bool Connection::in_transaction() const {
  auto s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

bool Connection::failed_transaction() const {
  return PQtransactionStatus(conn_) == PQTRANS_INERROR;
}

bool Connection::broken() const { return lost_ || PQstatus(conn_) == CONNECTION_BAD; }

bool Connection::spoke_unasked() const {
  int fd = PQsocket(conn_);
  if (fd < 0) return true;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

Result<int> Connection::await_notifications(std::chrono::milliseconds timeout) {
  auto take = [this] {
    int n = 0;
    while (PGnotify* note = PQnotifies(conn_)) {
      PQfreemem(note);
      ++n;
    }
    return n;
  };
  // What an earlier read brought along is already in libpq's buffer.
  if (int n = take(); n > 0) return n;
  int fd = PQsocket(conn_);
  if (lost_ || fd < 0) return fail(ErrorCode::unavailable, "the listening session is gone");
  pollfd p{fd, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return 0;  // nothing, or a signal: the caller asks again
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) == CONNECTION_BAD) {
    lost_ = true;
    return fail(ErrorCode::unavailable, "the listening session is gone");
  }
  return take();
}

Result<void> Transaction::begin() {
  nested_ = db_.in_transaction();
  auto r = db_.exec(nested_ ? "SAVEPOINT depesche_nested" : "BEGIN");
  active_ = r.has_value();
  return r;
}

Result<void> Transaction::commit() {
  // COMMIT of a failed transaction "succeeds" as a rollback: a unit that
  // swallowed a statement's failure must not be told it committed.
  if (db_.failed_transaction()) {
    log::error("postgres transaction failed earlier; rolling back", {});
    return fail(ErrorCode::internal, "storage error");
  }
  auto r = db_.exec(nested_ ? "RELEASE depesche_nested" : "COMMIT");
  if (r) active_ = false;
  return r;
}

Transaction::~Transaction() {
  if (!active_ || db_.broken()) return;
  if (nested_)
    (void)db_.exec("ROLLBACK TO depesche_nested; RELEASE depesche_nested");
  else
    (void)db_.exec("ROLLBACK");
}

}  // namespace depesche::store::postgres
