"""Sample documents shared by the ingest tests (written for these tests)."""

from __future__ import annotations

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Example Markets Wire</title><link>{base}/</link><description>Markets</description>
<item>
  <title>Apple shares fall 5% after weak iPhone sales in China</title>
  <link>{base}/news/apple-iphone?utm_source=rss&amp;utm_medium=feed</link>
  <guid>wire-1</guid>
  <pubDate>Wed, 01 May 2024 13:45:00 GMT</pubDate>
  <description>&lt;p&gt;Apple Inc (NASDAQ: AAPL) said iPhone sales in China dropped.&lt;/p&gt;
    &lt;script&gt;x()&lt;/script&gt;</description>
</item>
<item>
  <title>Tesla &amp;amp; Ford raise EV prices</title>
  <link>/news/ev-prices</link>
  <guid>wire-2</guid>
  <description>Both carmakers lifted prices on Monday.</description>
</item>
<item>
  <title></title>
  <description></description>
  <guid>wire-empty</guid>
</item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Example Atom Desk</title>
  <link href="{base}/atom/"/>
  <updated>2024-05-01T14:00:00Z</updated>
  <id>urn:example:atom</id>
  <entry>
    <title>Nvidia unveils new AI chip, shares climb</title>
    <link href="{base}/atom/nvidia-chip"/>
    <id>urn:example:atom:1</id>
    <updated>2024-05-01T14:00:00+02:00</updated>
    <summary type="html">Nvidia (NVDA) showed its next accelerator.</summary>
  </entry>
</feed>
"""

ARTICLE_HTML = """<!DOCTYPE html><html><head><title>{title}</title>
<meta property="article:published_time" content="2024-05-01T13:45:00Z">
<script>window.track = function() {{ return 1; }};</script>
<style>body {{ font-family: serif; }}</style></head>
<body><nav><a href="/">Home</a> | <a href="/markets">Markets</a></nav>
<article><h1>{title}</h1>
<p>{lead}</p>
<p>Analysts at several banks lowered their price targets after the announcement, and the chief
executive said the company would reduce costs over the coming year to protect its margins.</p>
<p>The company will report full results next month.</p>
</article><footer>Copyright Example News</footer></body></html>
"""

JSON_API = """{{"status": "ok", "data": {{"articles": [
  {{"id": "api-1", "headline": "Microsoft to buy gaming studio for $2 billion",
    "summary": "Microsoft Corp agreed to acquire the studio.", "link": "{base}/api/msft-deal",
    "datetime": 1714571100, "related": "MSFT,ATVI"}},
  {{"id": "api-2", "headline": "Oil climbs as supply tightens", "summary": "Crude rose 2%.",
    "link": "{base}/api/oil", "datetime": "2024-05-01T12:00:00Z", "related": []}},
  {{"id": "api-3", "summary": null, "link": "{base}/api/empty"}},
  "not an object"
]}}}}
"""
