#pragma once
// Test helpers for the live hub: a handshake request, an in-memory event
// log, and a WebSocket client on a socketpair the hub adopted.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "live/hub.hpp"

namespace hub_test {

using namespace depesche;

inline net::Request handshake(std::vector<std::pair<std::string, std::string>> extra = {}) {
  net::Request req;
  req.method = net::Method::get;
  req.target = req.path = "/live";
  req.headers = {{"host", "news.example.org"},
                 {"upgrade", "websocket"},
                 {"connection", "Upgrade"},
                 {"sec-websocket-version", "13"},
                 {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}};
  // Later values replace earlier ones of the same name.
  for (auto& [name, value] : extra) {
    bool replaced = false;
    for (auto& h : req.headers)
      if (h.first == name) {
        h.second = value;
        replaced = true;
      }
    if (!replaced) req.headers.emplace_back(name, value);
  }
  return req;
}

// The event log as the hub sees it, in memory: what a test appends.
class MemoryLog final : public live::EventSource {
 public:
  std::uint64_t epoch = 77;
  std::size_t largest_read = 0;  // the most events asked for in one after()
  void add(const std::string& topic, std::uint64_t seq) {
    std::lock_guard lock(mutex_);
    events_[topic].push_back(event(topic, seq));
  }
  /// Makes room for a topic's events now, so that adding them later
  /// allocates nothing (short names and payloads fit in the strings).
  void reserve(const std::string& topic) {
    std::lock_guard lock(mutex_);
    events_[topic].reserve(2);
  }
  /// The log lost (pruned) this event.
  void drop(const std::string& topic, std::uint64_t seq) {
    std::lock_guard lock(mutex_);
    std::erase_if(events_[topic], [&](const bus::Event& e) { return e.seq == seq; });
  }
  static bus::Event event(const std::string& topic, std::uint64_t seq) {
    return bus::Event{topic, "ticker.entry", R"({"n":)" + std::to_string(seq) + "}", seq};
  }
  Result<live::TopicStart> head(std::string_view topic) override {
    std::lock_guard lock(mutex_);
    auto& v = events_[std::string(topic)];
    return live::TopicStart{v.empty() ? 0 : v.back().seq, epoch};
  }
  Result<std::vector<bus::Event>> after(std::string_view topic, std::uint64_t seq,
                                        std::size_t limit) override {
    std::lock_guard lock(mutex_);
    largest_read = std::max(largest_read, limit);
    std::vector<bus::Event> out;
    for (const auto& e : events_[std::string(topic)])
      if (e.seq > seq && out.size() < limit) out.push_back(e);
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<bus::Event>> events_;
};

// A WebSocket client on the other end of a socketpair the hub adopted.
class Client {
 public:
  explicit Client(live::Hub& hub, std::vector<std::pair<std::string, std::string>> headers = {}) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    fd_ = fds[0];
    hub.adopt(fds[1], handshake(std::move(headers)), "");
    auto head = read_until("\r\n\r\n");
    EXPECT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  }
  ~Client() { ::close(fd_); }

  void send(const nlohmann::json& message) {
    std::string payload = message.dump();
    std::string frame = "\x81";
    // Masked, with a zero key: the payload goes as it is.
    if (payload.size() < 126) {
      frame += static_cast<char>(0x80 | payload.size());
    } else {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>(payload.size() >> 8);
      frame += static_cast<char>(payload.size() & 0xff);
    }
    frame += std::string(4, '\0') + payload;
    ASSERT_EQ(::write(fd_, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  }

  /// The next text message, or null after `timeout`.
  nlohmann::json next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (buf_.size() >= 2) {
        std::size_t len = static_cast<unsigned char>(buf_[1]) & 0x7f, at = 2;
        if (len == 126 && buf_.size() >= 4) {
          len = (static_cast<unsigned char>(buf_[2]) << 8) | static_cast<unsigned char>(buf_[3]);
          at = 4;
        } else if (len == 127 && buf_.size() >= 10) {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(buf_[i]);
          at = 10;
        }
        if ((len < 126 || at > 2) && buf_.size() >= at + len) {
          int opcode = buf_[0] & 0x0f;
          std::string payload = buf_.substr(at, len);
          buf_.erase(0, at + len);
          if (opcode == 1) return nlohmann::json::parse(payload);
          if (opcode == 8)
            return nlohmann::json{
                {"type", "closed"},
                {"code", payload.size() < 2 ? 0
                                            : (static_cast<unsigned char>(payload[0]) << 8) |
                                                  static_cast<unsigned char>(payload[1])}};
          continue;  // pings
        }
      }
      if (!fill(deadline)) return nullptr;
    }
  }

  /// Messages until one of `type` arrives (that one last).
  std::vector<nlohmann::json> until(std::string_view type) {
    std::vector<nlohmann::json> out;
    for (;;) {
      auto m = next();
      if (m.is_null()) {
        ADD_FAILURE() << "no " << type << " message";
        return out;
      }
      out.push_back(m);
      if (m["type"] == type) return out;
    }
  }

  std::vector<std::uint64_t> event_seqs(std::size_t count) {
    std::vector<std::uint64_t> out;
    while (out.size() < count) {
      auto m = next();
      if (m.is_null()) break;
      if (m["type"] == "event") out.push_back(m["seq"]);
      if (m["type"] == "resync") out.push_back(0);  // 0 marks a resync in the sequence
    }
    return out;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::read(fd_, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  std::string read_until(std::string_view end) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (buf_.find(end) == std::string::npos)
      if (!fill(deadline)) return buf_;
    auto at = buf_.find(end) + end.size();
    std::string head = buf_.substr(0, at);
    buf_.erase(0, at);
    return head;
  }
  int fd_ = -1;
  std::string buf_;
};

}  // namespace hub_test
