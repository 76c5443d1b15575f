//! INFO sections (Redis: `server.c`, `genRedisInfoString`). (Skeleton: completed by the admin
//! commands work.)
