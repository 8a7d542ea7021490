// Depesche's live parts of a page, loaded by the layout as
// /static/live.js?v=<asset version>. It loads only the modules the page
// needs and gives them all the page's one connection to /live
// (live-connection.js). Without JavaScript every block works as plain
// server-rendered links.
//
// The modules are imported with this file's ?v= so that a page never mixes
// files of two releases: versioned URLs are cached as immutable, unversioned
// ones for minutes.

const version = new URL(import.meta.url).search;

const tickerBlock = document.querySelector('[data-ticker]');
if (tickerBlock) {
  const [{ pageConnection }, { startTicker }] = await Promise.all([
    import(`./live-connection.js${version}`),
    import(`./ticker.js${version}`),
  ]);
  startTicker(tickerBlock, pageConnection());
}
