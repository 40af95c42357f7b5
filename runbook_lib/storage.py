"""File Storage Backups (guide: Backup & Recovery > File Storage Backups)."""

from __future__ import annotations

STORAGE_BUCKET = "napoleon-ai-storage"
BACKUP_BUCKET = "napoleon-ai-backup"
