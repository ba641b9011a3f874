"""Rendering of results, the only place that draws or writes result files.

- :mod:`~sustain.report.tables`: console tables (rich) for every command;
- :mod:`~sustain.report.model`: a report as sections of text, typed tables and charts,
  and its Markdown; :mod:`~sustain.report.builders`: every command's report;
- :mod:`~sustain.report.outputs`: ``-o FILE`` by extension; :mod:`~sustain.report.xlsx`:
  Excel workbooks; :mod:`~sustain.report.html`: one self-contained HTML page per
  report, charts drawn by plotly.js (extra ``html``);
- :mod:`~sustain.report.documents`: the JSON documents (strict: finite numbers only),
  the plan and curve CSV;
- :mod:`~sustain.report.plots`: plots (extra ``plot``);
- :mod:`~sustain.report.files`: output files checked first, written all or none.
"""
