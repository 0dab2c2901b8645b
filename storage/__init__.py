"""SQLAlchemy models, sessions, queries, migrations, encryption. Knows nothing about chats."""
