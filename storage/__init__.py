"""Persistence: SQLModel tables, sessions and queries. Knows nothing of chats."""
