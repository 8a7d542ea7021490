#pragma once
// Structured logging: one JSON object per line on stdout, so operators can
// feed the output to any log pipeline. Thread-safe; each line is written with
// one call so lines from different threads never interleave.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace depesche::log {

enum class Level { debug, info, warn, error };

struct Field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool> value;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, std::int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, unsigned v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, std::uint64_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, long long v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
};

void set_level(Level level);
Level level();
/// Parses "debug", "info", "warn" or "error"; false for anything else.
bool parse_level(std::string_view text, Level& out);

/// Log lines go to stderr from now on, for commands whose stdout is data
/// (`depesche store dump`). Default: stdout.
void write_to_stderr();

void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
/// Writes whatever the level: for the few lines operators and scripts wait
/// for (the server is ready, it has stopped), which must not vanish at
/// `log.level = warn`.
void write_always(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void debug(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (level() <= Level::debug) write(Level::debug, msg, f);
}
inline void info(std::string_view msg, std::initializer_list<Field> f = {}) {
  write(Level::info, msg, f);
}
inline void warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  write(Level::warn, msg, f);
}
inline void lifecycle(std::string_view msg, std::initializer_list<Field> f = {}) {
  write_always(Level::info, msg, f);
}
inline void error(std::string_view msg, std::initializer_list<Field> f = {}) {
  write(Level::error, msg, f);
}

/// Appends `text` to `out` as the inside of a JSON string (no quotes).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace depesche::log
