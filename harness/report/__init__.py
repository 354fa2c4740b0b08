"""Reports: the stdout tables, JSON and JUnit summaries (``summary``), and the release report (HTML, Markdown,
JSON, figures) with its headless-browser check."""
