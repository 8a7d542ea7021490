#include "text/slug.hpp"

#include <gtest/gtest.h>

#include "text/html.hpp"

using namespace depesche::text;

TEST(Slug, AcceptsLowerCaseWordsJoinedByHyphens) {
  EXPECT_TRUE(is_valid_slug("harbour-strike-2026"));
  for (const char* bad : {"", "-a", "a-", "a--b", "A", "a b", "ä", "a_b", "../x"})
    EXPECT_FALSE(is_valid_slug(bad)) << bad;
  EXPECT_FALSE(is_valid_slug(std::string(81, 'a')));
}

TEST(Slug, TransliteratesGermanAndRussianHeadlines) {
  EXPECT_EQ(slugify("Größte Hafenstreiks: Öl & Übersee"), "groesste-hafenstreiks-oel-uebersee");
  EXPECT_EQ(slugify("Бреннзунд выиграл финал кубка"), "brennzund-vyigral-final-kubka");
  EXPECT_EQ(slugify("Объём большой"), "obem-bolshoy");
  EXPECT_EQ(slugify("  !!! "), "");
}

TEST(Slug, CutsLongHeadlinesAtAWordBoundary) {
  std::string s =
      slugify(std::string(30, 'a') + " " + std::string(30, 'b') + " " + std::string(30, 'c'));
  EXPECT_TRUE(is_valid_slug(s));
  EXPECT_EQ(s, std::string(30, 'a') + "-" + std::string(30, 'b'));
}

TEST(Html, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(Html, KeepsJsonInsideScriptElements) {
  EXPECT_EQ(json_for_script(R"({"h":"</script><b>"})"),
            R"({"h":"\u003c/script\u003e\u003cb\u003e"})");
}

TEST(Html, MeasuresUtf8AndRejectsInvalidBytes) {
  EXPECT_EQ(utf8_length("Grüße"), 5);
  EXPECT_EQ(utf8_length("Привет"), 6);
  EXPECT_EQ(utf8_length("\xff"), -1);
  EXPECT_EQ(utf8_length("\xc3"), -1);
  EXPECT_EQ(utf8_length("\xed\xa0\x80"), -1);  // a UTF-16 surrogate
}
