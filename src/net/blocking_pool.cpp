#include "net/blocking_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace depesche::net {

struct BlockingPool::Impl {
  explicit Impl(std::size_t n) : pool(n) {}
  boost::asio::thread_pool pool;
};

BlockingPool::BlockingPool(std::size_t threads) : impl_(std::make_unique<Impl>(threads)) {}
BlockingPool::~BlockingPool() { stop(); }

void BlockingPool::post(std::function<void()> work) {
  boost::asio::post(impl_->pool, std::move(work));
}

void BlockingPool::stop() { impl_->pool.join(); }

}  // namespace depesche::net
