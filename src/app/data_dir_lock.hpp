#pragma once
// One server per data directory. `serve`, `migrate` and `demo` take an
// exclusive lock on <data_dir>/depesche.lock (flock, so the kernel frees it
// when the process dies, SIGKILL included); a second one is refused with the
// holder's pid and command instead of starting beside it with a hub of its
// own. Short commands that a running server tolerates (tokens, users, mail,
// events) do not take it. With PostgreSQL, nodes share the database, never
// a data directory, so the lock does not stand between nodes.

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace depesche::app {

class DataDirLock {
 public:
  /// Takes the lock for `command` ("serve", ...); conflict, naming the
  /// holder, when another process has it; unavailable when the file
  /// cannot be opened.
  static Result<DataDirLock> acquire(const std::string& data_dir, std::string_view command);

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&&) = delete;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace depesche::app
