"""Orchestration: the ingest runner, ingest and re-encode jobs, the job store, the document registry,
kept originals and the store write lock. The CLI and the HTTP service both drive figvault through here."""
