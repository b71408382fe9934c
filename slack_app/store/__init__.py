"""Redis: named key builders and atomic operations (Lua scripts in lua/), the due index, timed jobs,
OAuth installations sealed at rest, and the embedded Valkey used when REDIS_URL is unset."""
