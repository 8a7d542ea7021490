#include "live/batch_sender.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "base/log.hpp"

#ifdef DEPESCHE_HAVE_LIBURING
#include <liburing.h>
#endif

namespace depesche::live {

namespace {

void send_one(BatchSender::Item& item) {
  for (;;) {
    ssize_t n = ::send(item.fd, item.data, item.size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    item.result = n < 0 ? -errno : n;
    return;
  }
}

}  // namespace

#ifdef DEPESCHE_HAVE_LIBURING

// A batch larger than the ring goes out in ring-sized parts.
constexpr unsigned kRingEntries = 2048;

struct BatchSender::Ring {
  io_uring ring{};
};

BatchSender::BatchSender() {
  auto r = std::make_unique<Ring>();
  int rc = io_uring_queue_init(kRingEntries, &r->ring, 0);
  if (rc < 0) {
    log::warn("io_uring unavailable; live fanout uses one send() per reader", {{"error", -rc}});
    return;
  }
  ring_ = std::move(r);
}

BatchSender::~BatchSender() {
  if (ring_) io_uring_queue_exit(&ring_->ring);
}

bool BatchSender::batched() const { return ring_ != nullptr; }

void BatchSender::send_all(std::span<Item> items) {
  if (!ring_ || items.size() < 2) {
    for (auto& item : items) send_one(item);
    return;
  }
  io_uring* ring = &ring_->ring;
  for (std::size_t start = 0; start < items.size(); start += kRingEntries) {
    std::size_t end = std::min(items.size(), start + kRingEntries);
    unsigned queued = 0;
    for (std::size_t i = start; i < end; ++i) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (!sqe) break;
      // MSG_DONTWAIT makes io_uring answer -EAGAIN instead of waiting for
      // room in the socket buffer; the caller queues the rest.
      io_uring_prep_send(sqe, items[i].fd, items[i].data, items[i].size,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      io_uring_sqe_set_data64(sqe, i);
      ++queued;
    }
    int rc = io_uring_submit_and_wait(ring, queued);
    if (rc < 0) {
      // Should not happen with a healthy ring; do the rest by hand.
      for (std::size_t i = start; i < end; ++i) send_one(items[i]);
      continue;
    }
    unsigned seen = 0;
    while (seen < queued) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_wait_cqe(ring, &cqe) < 0) break;
      items[io_uring_cqe_get_data64(cqe)].result = cqe->res;
      io_uring_cqe_seen(ring, cqe);
      ++seen;
    }
    for (std::size_t i = start + queued; i < end; ++i) send_one(items[i]);
  }
}

#else

struct BatchSender::Ring {};

BatchSender::BatchSender() = default;
BatchSender::~BatchSender() = default;
bool BatchSender::batched() const { return false; }

void BatchSender::send_all(std::span<Item> items) {
  for (auto& item : items) send_one(item);
}

#endif

}  // namespace depesche::live
