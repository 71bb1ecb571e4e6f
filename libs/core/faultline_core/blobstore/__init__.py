"""Blob storage for attachments: a small port and its adapters (a local directory)."""
