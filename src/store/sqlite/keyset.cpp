#include "store/sqlite/keyset.hpp"

#include <algorithm>

namespace depesche::store::sqlite {

Keyset::Keyset(const std::string& at, const std::string& id, domain::PageOrder order,
               std::optional<domain::Cursor> after, int limit, int first_param)
    : after_(after), limit_(std::max(limit, 1)), first_param_(first_param) {
  bool newest = order == domain::PageOrder::newest;
  auto param = [](int n) { return "?" + std::to_string(n); };
  int next = first_param;
  if (after_) {
    sql_ += " AND (" + at + ", " + id + ") " + (newest ? "<" : ">") + " (" + param(next) + ", " +
            param(next + 1) + ")";
    next += 2;
  }
  const char* dir = newest ? " DESC" : " ASC";
  sql_ += " ORDER BY " + at + dir + ", " + id + dir + " LIMIT " + param(next);
}

void Keyset::bind(Statement& st) const {
  int next = first_param_;
  if (after_) {
    st.bind(next, after_->at).bind(next + 1, after_->id);
    next += 2;
  }
  st.bind(next, limit_ + 1);
}

}  // namespace depesche::store::sqlite
