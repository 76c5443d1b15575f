//! The latency monitor: spikes of named events (a slow command, a long expiry cycle, a fork)
//! kept as short time series, for LATENCY LATEST / HISTORY / RESET / DOCTOR (Redis:
//! `latency.c`, `latencyAddSampleIfNeeded`).
//!
//! ```text
//!   call() / expiry cycle / fork ── took >= latency-monitor-threshold ms? ── add_sample
//!        └─> events["command" | "fast-command" | "expire-cycle" | "fork" ...]
//!              one sample per second (the worst of that second), the last 160 kept, max
//! ```
//!
//! With `latency-monitor-threshold 0` (the default) nothing is measured or kept.

use super::error::CommandResult;
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use hashbrown::HashMap;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "latency",
    super::connection::container_command,
    -2,
    0,
    "server",
)
.subs(SUBCOMMANDS)
.doc("A container for latency diagnostics commands.", "2.8.13")];

const SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "latency|doctor",
        latency_doctor_command,
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "server",
    )
    .acl(&["@dangerous"])
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_nodes",
        "response_policy:special",
    ])
    .doc(
        "Returns a human-readable latency analysis report.",
        "2.8.13",
    ),
    CommandSpec::new(
        "latency|history",
        latency_history_command,
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "server",
    )
    .acl(&["@dangerous"])
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_nodes",
        "response_policy:special",
    ])
    .doc("Returns timestamp-latency samples for an event.", "2.8.13"),
    CommandSpec::new(
        "latency|latest",
        latency_latest_command,
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "server",
    )
    .acl(&["@dangerous"])
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_nodes",
        "response_policy:special",
    ])
    .doc(
        "Returns the latest latency samples for all events.",
        "2.8.13",
    ),
    CommandSpec::new(
        "latency|reset",
        latency_reset_command,
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "server",
    )
    .acl(&["@dangerous"])
    .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
    .doc("Resets the latency data for one or more events.", "2.8.13"),
    CommandSpec::new(
        "latency|histogram",
        latency_histogram_command,
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "server",
    )
    .acl(&["@dangerous"])
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_nodes",
        "response_policy:special",
    ])
    .doc(
        "Return the cumulative distribution of latencies of a subset of commands or all.",
        "7.0.0",
    ),
    CommandSpec::new(
        "latency|help",
        latency_help_command,
        2,
        LOADING | STALE,
        "server",
    )
    .doc(
        "Returns helpful text about the different subcommands.",
        "2.8.13",
    ),
];

/// Samples kept per event (Redis: `LATENCY_TS_LEN`).
const SAMPLES_KEPT: usize = 160;

/// One event's recent spikes.
#[derive(Default)]
struct TimeSeries {
    /// (Unix seconds, milliseconds), oldest first, at most [`SAMPLES_KEPT`].
    samples: std::collections::VecDeque<(i64, u64)>,
    /// The worst spike since the series was created.
    max: u64,
}

/// Every monitored event's series (Redis: `server.latency_events`).
#[derive(Default)]
pub struct LatencyMonitor {
    events: HashMap<&'static str, TimeSeries>,
}

impl LatencyMonitor {
    /// Records `latency_ms` for `event` if the monitor is on and the latency reaches its
    /// threshold (Redis: `latencyAddSampleIfNeeded`). Within one second only the worst
    /// sample is kept.
    pub fn add_sample_if_needed(
        &mut self,
        threshold_ms: u64,
        event: &'static str,
        latency_ms: u64,
        now_secs: i64,
    ) {
        if threshold_ms == 0 || latency_ms < threshold_ms {
            return;
        }
        let series = self.events.entry(event).or_default();
        series.max = series.max.max(latency_ms);
        if let Some(last) = series.samples.back_mut() {
            if last.0 == now_secs {
                last.1 = last.1.max(latency_ms);
                return;
            }
        }
        if series.samples.len() == SAMPLES_KEPT {
            series.samples.pop_front();
        }
        series.samples.push_back((now_secs, latency_ms));
    }
}

/// LATENCY LATEST — per event: name, time and latency of its last spike, its all-time max.
fn latency_latest_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let events = &ctx.srv.latency.events;
    ctx.out.array_len(events.len());
    for (name, series) in events {
        let (time, latency) = series.samples.back().copied().unwrap_or((0, 0));
        ctx.out.array_len(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.integer(time);
        ctx.out.integer(latency as i64);
        ctx.out.integer(series.max as i64);
    }
    Ok(())
}

/// LATENCY HISTORY event — the event's (time, latency) samples, oldest first.
fn latency_history_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let name = String::from_utf8_lossy(argv[2]);
    let samples: Vec<(i64, u64)> = ctx
        .srv
        .latency
        .events
        .get(name.as_ref())
        .map(|s| s.samples.iter().copied().collect())
        .unwrap_or_default();
    ctx.out.array_len(samples.len());
    for (time, latency) in samples {
        ctx.out.array_len(2);
        ctx.out.integer(time);
        ctx.out.integer(latency as i64);
    }
    Ok(())
}

/// LATENCY RESET [event ...] — forgets all events, or the named ones; replies how many.
fn latency_reset_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let events = &mut ctx.srv.latency.events;
    let before = events.len();
    if argv.len() == 2 {
        events.clear();
    } else {
        events.retain(|name, _| {
            !argv[2..]
                .iter()
                .any(|a| a.eq_ignore_ascii_case(name.as_bytes()))
        });
    }
    ctx.out.integer((before - events.len()) as i64);
    Ok(())
}

/// LATENCY DOCTOR — a plain-text report. With no spikes, Redis's own sentence; otherwise one
/// paragraph per event with its figures (Redis's report adds advice per event kind, which
/// ferrodis does not attempt).
fn latency_doctor_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let events = &ctx.srv.latency.events;
    let report = if events.is_empty() {
        "Dave, no latency spike was observed during the lifetime of this Redis instance, not in \
         the slightest bit. I honestly think you ought to sleep tonight.\n"
            .to_string()
    } else {
        let mut names: Vec<&&str> = events.keys().collect();
        names.sort();
        let mut text = String::from(
            "Dave, I have observed latency spikes in this Redis instance. You don't mind \
             talking about it, do you Dave?\n\n",
        );
        for (i, name) in names.into_iter().enumerate() {
            let series = &events[*name];
            let n = series.samples.len() as u64;
            let avg = series.samples.iter().map(|s| s.1).sum::<u64>() / n.max(1);
            text.push_str(&format!(
                "{}. {name}: {n} latency spikes (average {avg}ms, worst all time {}ms).\n",
                i + 1,
                series.max
            ));
        }
        text
    };
    ctx.out.verbatim(report.as_bytes());
    Ok(())
}

/// LATENCY HELP.
fn latency_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help(
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}

/// LATENCY HISTOGRAM [command ...] — a map from each named command (a container names itself
/// and its subcommands; unknown names are skipped) that has a latency histogram, or from every
/// such command, to `{calls, histogram_usec: {bucket upper bound in us: cumulative count}}`.
/// The buckets are the steps of a logarithmic walk from 1024 ns doubling (Redis:
/// `latencyAllCommandsFillCDF`, `latencySpecificCommandsFillCDF`, `fillCommandCDF`).
fn latency_histogram_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut chosen: Vec<&super::state::CommandStats> = Vec::new();
    let mut all: Vec<&super::state::CommandStats> = ctx
        .srv
        .stats
        .commands
        .values()
        .filter(|s| s.latency_histogram.is_some())
        .collect();
    all.sort_by_key(|s| s.name);
    if argv.len() == 2 {
        chosen = all;
    } else {
        for arg in &argv[2..] {
            let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
            let known = match name.split_once('|') {
                Some((container, sub)) => ctx
                    .srv
                    .commands
                    .lookup(container.as_bytes())
                    .and_then(|spec| super::table::lookup_subcommand(spec, sub.as_bytes())),
                None => ctx.srv.commands.lookup(name.as_bytes()),
            };
            let Some(spec) = known else {
                continue;
            };
            let prefix = format!("{}|", spec.name);
            chosen.extend(
                all.iter()
                    .filter(|s| s.name == spec.name || s.name.starts_with(&prefix))
                    .copied(),
            );
        }
    }
    ctx.out.map_len(chosen.len());
    for stat in chosen {
        let Some(histogram) = &stat.latency_histogram else {
            continue;
        };
        ctx.out.bulk_str(stat.name);
        ctx.out.map_len(2);
        ctx.out.bulk_str("calls");
        ctx.out.integer(histogram.total_count);
        ctx.out.bulk_str("histogram_usec");
        let mut previous = 0;
        let mut buckets = Vec::new();
        for (highest_ns, cumulative) in histogram.log_steps(1024, 2) {
            if cumulative > previous {
                buckets.push((highest_ns / 1000, cumulative));
            }
            previous = cumulative;
        }
        ctx.out.map_len(buckets.len());
        for (micros, cumulative) in buckets {
            ctx.out.integer(micros);
            ctx.out.integer(cumulative);
        }
    }
    Ok(())
}
