#pragma once
// Sends one buffer to many sockets with as few system calls as possible.
// With io_uring (liburing), a batch of sends is one io_uring_enter: the
// kernel tries each send at once, non-blocking, and reports how much each
// took. Without io_uring (an old kernel, a sandbox that forbids it, or a
// build without liburing) it falls back to one non-blocking send() each.
// Either way nothing waits for a slow socket: what it does not take, the
// caller queues.

#include <sys/types.h>
#include <cstddef>
#include <memory>
#include <span>

namespace depesche::live {

class BatchSender {
 public:
  struct Item {
    int fd;
    const char* data;
    std::size_t size;
    ssize_t result = 0;  // bytes sent, or -errno (-EAGAIN: nothing taken)
  };

  BatchSender();
  ~BatchSender();
  BatchSender(const BatchSender&) = delete;
  BatchSender& operator=(const BatchSender&) = delete;

  /// Sends every item (MSG_NOSIGNAL, never blocking) and fills `result`.
  void send_all(std::span<Item> items);
  /// True when io_uring is in use.
  bool batched() const;

  struct Ring;

 private:
  std::unique_ptr<Ring> ring_;
};

}  // namespace depesche::live
