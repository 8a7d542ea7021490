#pragma once
// The lead among the event relays of the nodes that share one PostgreSQL
// database: a session-level advisory lock, held on a connection of its own
// for as long as that session lives. The server releases it when the
// session ends (the node stops, is killed, or loses the network), and the
// next node to ask takes it over. Keyed by the schema and the relay's name,
// so sites in other schemas (and test schemas) do not share one lead.

#include <chrono>
#include <memory>
#include <string>

namespace depesche::store::postgres {

class Connection;

class PgRelayLease {
 public:
  /// Connects lazily, on the first hold().
  PgRelayLease(std::string url, std::string name,
               std::chrono::milliseconds recheck = std::chrono::milliseconds(1000),
               int connect_timeout_s = 5);
  ~PgRelayLease();
  PgRelayLease(const PgRelayLease&) = delete;
  PgRelayLease& operator=(const PgRelayLease&) = delete;

  /// Whether this process holds the lead now, taking it when it is free.
  /// Asks the server at most once per `recheck` (a query, and a connect
  /// when the session was lost); between asks the last answer stands. So
  /// two nodes may both publish for up to `recheck` after a session was
  /// lost: the bus tolerates repeats, hubs drop them by seq. Not
  /// thread-safe: one relay thread asks.
  bool hold();

 private:
  std::string url_;
  std::string name_;
  std::chrono::milliseconds recheck_;
  int connect_timeout_s_;
  std::unique_ptr<Connection> db_;
  bool held_ = false;
  bool asked_ = false;
  std::chrono::steady_clock::time_point asked_at_{};
};

}  // namespace depesche::store::postgres
