"""Reports: the stdout tables, JSON and JUnit summaries (``summary``), and the release report, one module per
job: ``run`` (the gate with figures) -> ``data`` (what it says) and ``baseline`` (what changed) -> ``release``
(the document and its files) -> ``html``, ``markdown`` -> ``folder`` (written atomically); ``figures`` draws,
``browser`` checks that the HTML renders in headless Chromium."""
