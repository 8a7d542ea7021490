#include "domain/editions.hpp"

#include <gtest/gtest.h>

using depesche::domain::Editions;

TEST(Editions, PicksTheReadersPreferredLanguage) {
  Editions e({"de", "en", "ru"}, "en");
  EXPECT_EQ(e.preferred("de-DE,de;q=0.9,en;q=0.8"), "de");
  EXPECT_EQ(e.preferred("ru-RU"), "ru");
  EXPECT_EQ(e.preferred("fr-FR, en;q=0.5, de;q=0.7"), "de");
  EXPECT_EQ(e.preferred("fr, it"), "en");
  EXPECT_EQ(e.preferred(""), "en");
  EXPECT_EQ(e.preferred("DE-at"), "de");
  EXPECT_EQ(e.preferred("de;q=0, ru;q=0.1"), "ru");
}

TEST(Editions, ValidatesCodes) {
  EXPECT_TRUE(Editions::is_valid_code("de"));
  EXPECT_FALSE(Editions::is_valid_code("DE"));
  EXPECT_FALSE(Editions::is_valid_code("d"));
  EXPECT_FALSE(Editions::is_valid_code("../x"));
}
