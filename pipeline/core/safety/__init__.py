"""Shared safety modules: every output the pipeline publishes goes through these.

- ``atomic``: files and whole output directories appear complete or not at all.
- ``export``: CSV/XLSX that a spreadsheet cannot execute (OWASP CSV injection guidance).
- ``redact``: offline redaction of quoted respondent text (emails, URLs, phones, postcodes, names).
- ``pseudonym``: keyed HMAC pseudonyms for respondent ids; the key never reaches an output.
- ``disclosure``: ONS/GSS statistical disclosure control for the tidy table form.
- ``html``: jinja2 environment with autoescape always on, CSP, and template checks.
"""
