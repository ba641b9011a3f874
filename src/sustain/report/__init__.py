"""Rendering of results: JSON documents, tables, markdown reports."""
