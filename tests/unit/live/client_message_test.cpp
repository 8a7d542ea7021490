#include "live/client_message.hpp"

#include <gtest/gtest.h>

using depesche::live::parse_client_message;

TEST(ClientMessage, SubscribeCarriesTopicSinceAndEpoch) {
  auto m = parse_client_message(R"({"type":"subscribe","topic":"ticker:de","since":7,"epoch":2})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, "subscribe");
  EXPECT_EQ(m->topic, "ticker:de");
  EXPECT_EQ(m->since, 7u);
  EXPECT_EQ(m->epoch, 2u);
}

TEST(ClientMessage, MalformedShapesCloseTheConnection) {
  for (const char* text :
       {"", "[]", "{}", R"({"type":1})", R"({"type":"subscribe"})",
        R"({"type":"subscribe","topic":3})", R"({"type":"subscribe","topic":"t","since":-1})",
        R"({"type":"subscribe","topic":"t","epoch":"2"})", "\xff"}) {
    auto m = parse_client_message(text);
    ASSERT_FALSE(m) << text;
    EXPECT_TRUE(m.error().close) << text;
    EXPECT_FALSE(m.error().reason.empty()) << text;
  }
}

TEST(ClientMessage, ABadIdIsAnErrorAnswerThatKeepsTheConnection) {
  for (const char* text : {R"({"type":"chat.message","topic":"chat:x","id":""})",
                           R"({"type":"chat.message","topic":"chat:x","id":5})"}) {
    auto m = parse_client_message(text);
    ASSERT_FALSE(m) << text;
    EXPECT_FALSE(m.error().close);
    EXPECT_EQ(m.error().topic, "chat:x");
  }
  std::string long_id(65, 'i');
  auto m = parse_client_message(R"({"type":"x","id":")" + long_id + R"("})");
  ASSERT_FALSE(m);
  EXPECT_FALSE(m.error().close);
  auto ok = parse_client_message(R"({"type":"x","id":")" + long_id.substr(1) + R"("})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->id, long_id.substr(1));
}
