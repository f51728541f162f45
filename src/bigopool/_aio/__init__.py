"""The asyncio side of bigopool; :mod:`bigopool.aio` re-exports it."""
