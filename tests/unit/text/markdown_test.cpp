#include "text/markdown.hpp"

#include <gtest/gtest.h>

using depesche::text::markdown_to_html;

TEST(Markdown, RendersCommonMarkAndGfmTables) {
  EXPECT_EQ(markdown_to_html("Hello **world**"), "<p>Hello <strong>world</strong></p>\n");
  auto table = markdown_to_html("| a | b |\n|---|---|\n| 1 | 2 |\n");
  EXPECT_NE(table.find("<table>"), std::string::npos);
  EXPECT_NE(markdown_to_html("~~gone~~").find("<del>gone</del>"), std::string::npos);
}

TEST(Markdown, DropsRawHtmlInSafeMode) {
  auto html = markdown_to_html("<script>alert(1)</script>\n\ntext <img src=x onerror=alert(1)>");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("onerror"), std::string::npos);
}

TEST(Markdown, NeutralisesDangerousLinkSchemes) {
  auto html =
      markdown_to_html("[x](javascript:alert(1)) [y](data:text/html,hi) [z](https://example.org)");
  EXPECT_EQ(html.find("javascript:"), std::string::npos);
  EXPECT_EQ(html.find("data:text"), std::string::npos);
  EXPECT_NE(html.find("href=\"https://example.org\""), std::string::npos);
}

TEST(Markdown, EscapesTextAndAttributes) {
  auto html = markdown_to_html("a < b & \"c\" [t](https://e.org/?a=\"x\")");
  EXPECT_NE(html.find("a &lt; b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(html.find("a=\"x\""), std::string::npos);
}
