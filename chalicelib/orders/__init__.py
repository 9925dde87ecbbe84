"""Order intake (JSON, /ws/order, platform adapters), lookup, and the outbox that dispatches accepted orders."""
