// The background job queue: order, drain, shutdown and failing jobs. Waits
// are on events (futures, drain), never on the clock.
#include "domain/job_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

using depesche::domain::JobQueue;

namespace {

constexpr auto kDeadline = std::chrono::seconds(10);

TEST(JobQueue, RunsJobsInTheOrderTheyWerePosted) {
  JobQueue q;
  std::vector<int> ran;  // only the worker writes; drain() orders the read after it
  for (int i = 0; i < 200; ++i) q.post([&ran, i] { ran.push_back(i); });
  q.drain();
  ASSERT_EQ(ran.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(ran[i], i);
}

TEST(JobQueue, RunsJobsOffTheCallersThread) {
  JobQueue q;
  std::thread::id worker;
  q.post([&] { worker = std::this_thread::get_id(); });
  q.drain();
  EXPECT_NE(worker, std::thread::id());
  EXPECT_NE(worker, std::this_thread::get_id());
}

TEST(JobQueue, DrainWaitsForTheJobInHand) {
  JobQueue q;
  std::promise<void> started, release;
  auto release_future = release.get_future();
  std::atomic<bool> finished = false;
  q.post([&] {
    started.set_value();
    release_future.wait();
    finished = true;
  });
  ASSERT_EQ(started.get_future().wait_for(kDeadline), std::future_status::ready);
  // The job is running, the queue is empty: drain must still wait for it.
  auto drained = std::async(std::launch::async, [&] { q.drain(); });
  EXPECT_EQ(drained.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  release.set_value();
  ASSERT_EQ(drained.wait_for(kDeadline), std::future_status::ready);
  EXPECT_TRUE(finished);
}

TEST(JobQueue, DrainOnAnIdleQueueReturnsAtOnce) {
  JobQueue q;
  q.drain();
  q.post([] {});
  q.drain();
  q.drain();
}

TEST(JobQueue, JobsPostedByJobsAlsoRun) {
  JobQueue q;
  std::vector<int> ran;
  q.post([&] {
    ran.push_back(1);
    q.post([&] { ran.push_back(3); });
  });
  q.post([&] { ran.push_back(2); });
  q.drain();
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

TEST(JobQueue, AThrowingJobDoesNotStopTheQueue) {
  JobQueue q;
  bool after = false;
  q.post([] { throw std::runtime_error("boom"); });
  q.post([&] { after = true; });
  q.drain();
  EXPECT_TRUE(after);
}

TEST(JobQueue, DestructionFinishesTheQueuedJobs) {
  std::atomic<int> ran = 0;
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  {
    JobQueue q;
    q.post([&, open] {
      open.wait();
      ++ran;
    });
    for (int i = 0; i < 20; ++i) q.post([&] { ++ran; });
    gate.set_value();
  }
  EXPECT_EQ(ran, 21);
}

TEST(JobQueue, ManyThreadsMayPost) {
  JobQueue q;
  std::atomic<int> ran = 0;
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t)
    posters.emplace_back([&] {
      for (int i = 0; i < 100; ++i) q.post([&] { ++ran; });
    });
  for (auto& t : posters) t.join();
  q.drain();
  EXPECT_EQ(ran, 400);
}

}  // namespace
