"""Mails as people read them: German text and HTML from Jinja2 templates, calendar entries."""
