"""Integrations with outside services: the YouTube uploader and the Notion board."""
