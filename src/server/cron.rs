//! Periodic work (Redis: `server.c`, `serverCron` and `clientsCron`), run `hz` times a second.

use super::{unix_ms, Server};
use crate::command::{self, NO_CLIENT};
use crate::db::expire::{active_expire_cycle, expire_replica_keys, CycleKind};
use crate::resp::reply::ReplyBuffer;
use log::debug;

/// How many (time, commands) samples instantaneous_ops_per_sec averages over.
const OPS_SAMPLES: usize = 16;

impl Server {
    pub(super) fn server_cron(&mut self) {
        let now = unix_ms();
        if self.state.pause_cron {
            return;
        }

        // Ends a CLIENT PAUSE whose time is up.
        self.pause_check_timeout_and_return_if_paused(now);
        // Keeps the client-side caching table within tracking-table-max-keys.
        {
            let mut scratch = ReplyBuffer::new();
            let mut ctx = self.ctx(NO_CLIENT, 0, &mut scratch, now);
            command::tracking::limit_used_slots(&mut ctx);
            // A signal's shutdown starts here; one waiting for replicas may finish.
            command::shutdown::shutdown_cron(&mut ctx);
        }

        // Active expiry, the slow cycle: about a quarter of each cron period (Redis's
        // `databasesCron`).
        self.active_expire(CycleKind::Slow, now);

        // Idle clients (the `timeout` directive); replicas, blocked and subscribed clients are
        // exempt, as in Redis.
        let timeout_ms = self.state.config.timeout as i64 * 1000;
        let mut idle = Vec::new();
        for (key, c) in self.clients.iter_mut() {
            if timeout_ms > 0
                && !c.replica.attached
                && c.blocked.is_none()
                && c.subscriptions.count() == 0
                && !c.multi.active
                && now - c.last_interaction > timeout_ms
            {
                idle.push(key);
            }
            c.query_buf.shrink_if_idle();
        }
        for key in idle {
            debug!("Closing idle client");
            self.close_client(key);
        }

        // The snapshot child, the replicas waiting for one, the save points (Redis:
        // `checkChildrenDone`, `replicationStartPendingFork`, `serverCron`).
        {
            let mut scratch = ReplyBuffer::new();
            let mut ctx = self.ctx(NO_CLIENT, 0, &mut scratch, now);
            if let Some((exit, target)) = command::persistence::reap_bgsave_child(ctx.srv, now) {
                command::fullsync::bgsave_done(&mut ctx, exit, target);
            }
            command::fullsync::start_pending_fork(&mut ctx);
        }
        command::persistence::rdb_cron(&self.dbs, &mut self.state, now);
        command::aof::aof_cron(&self.dbs, &mut self.state, now);
        self.state.migrate_sockets.close_timed_out(now);

        // Once a second (Redis: `replicationCron`).
        if now / 1000 != self.last_replication_cron / 1000 {
            self.last_replication_cron = now;
            let mut scratch = ReplyBuffer::new();
            let mut ctx = self.ctx(NO_CLIENT, 0, &mut scratch, now);
            command::replica::replica_cron(&mut ctx);
            command::replication::replication_cron(&mut ctx);
        }

        let samples = &mut self.state.stats.ops_samples;
        samples.push((now, self.state.stats.total_commands_processed));
        if samples.len() > OPS_SAMPLES {
            samples.remove(0);
        }
    }

    /// Is a CLIENT PAUSE on (ending it first if its time is up)?
    fn pause_check_timeout_and_return_if_paused(&mut self, now: i64) -> bool {
        if self.state.pause.kind == command::pause::PauseKind::Off {
            return false;
        }
        let mut scratch = ReplyBuffer::new();
        let mut ctx = self.ctx(NO_CLIENT, 0, &mut scratch, now);
        command::pause::check_timeout_and_return_if_paused(&mut ctx)
    }

    /// Runs an active expiry cycle (the slow one from cron, the fast one from `before_sleep`)
    /// when `active-expire` is on, then fires the events of the keys it removed.
    pub(super) fn active_expire(&mut self, kind: CycleKind, now: i64) {
        if !self.state.config.active_expire_enabled {
            return;
        }
        // A replica does not expire its master's keys (the master sends the DELs); from cron
        // it expires only the keys its own clients gave a TTL (Redis: `databasesCron`).
        if self.state.master.is_replica() {
            if kind == CycleKind::Slow {
                let removed = expire_replica_keys(&mut self.dbs, &mut self.state.rng, now);
                if removed > 0 {
                    self.notify_expired_keys(now);
                }
            }
            return;
        }
        // While clients are paused the dataset stays still (Redis: `activeExpireCycle`).
        if self.pause_check_timeout_and_return_if_paused(now) {
            return;
        }
        let (effort, hz) = (self.state.config.active_expire_effort, self.state.config.hz);
        // Timed only when the latency monitor is on (the fast cycle runs every loop turn).
        let threshold = self.state.config.latency_monitor_threshold;
        let started = (threshold != 0).then(std::time::Instant::now);
        let removed = active_expire_cycle(
            &mut self.dbs,
            &mut self.state.expire_cycle,
            kind,
            effort,
            hz,
            now,
        );
        if let Some(started) = started {
            let ms = started.elapsed().as_millis() as u64;
            let latency = &mut self.state.latency;
            latency.add_sample_if_needed(threshold, "expire-cycle", ms, now / 1000);
        }
        // The slow cycle also picks up whatever else left keys in `expired_pending`.
        if removed > 0 || kind == CycleKind::Slow {
            self.notify_expired_keys(now);
        }
    }

    /// Fires events for keys the active cycle removed (lazy expiry does this per command).
    fn notify_expired_keys(&mut self, now: i64) {
        if self.dbs.iter().all(|db| db.expired_pending.is_empty()) {
            return;
        }
        let mut scratch = ReplyBuffer::new();
        let mut ctx = self.ctx(NO_CLIENT, 0, &mut scratch, now);
        command::after_command(&mut ctx);
    }
}
