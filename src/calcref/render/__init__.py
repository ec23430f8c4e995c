"""Turning answers into text: the JSON contract, Markdown, CSV, Rich tables, citations and
charts. Every writer returns a string; only `render.tables` imports Rich."""
