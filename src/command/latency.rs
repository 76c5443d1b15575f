//! The latency monitor: spikes of named events (a slow command, a long expiry cycle, a fork)
//! kept as short time series, for LATENCY LATEST / HISTORY / GRAPH / RESET / DOCTOR (Redis:
//! `latency.c`, `latencyAddSampleIfNeeded`; the graph: `sparkline.c`).
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
        "latency|graph",
        latency_graph_command,
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
    .doc("Return a latency graph for the event.", "2.8.13"),
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

/// LATENCY GRAPH event — the event's samples drawn as an ASCII sparkline, as a verbatim
/// string: a title line with the high, low and all-time-high latencies, a rule of
/// [`GRAPH_COLUMNS`] dashes, then the sparkline (Redis: `latencyCommandGenSparkeline`).
fn latency_graph_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let name = String::from_utf8_lossy(argv[2]);
    let Some((event, series)) = ctx.srv.latency.events.get_key_value(name.as_ref()) else {
        return Err(super::error::CommandError::err(format!(
            "No samples available for event '{name}'"
        )));
    };
    let now_secs = ctx.now / 1000;
    let samples: Vec<(f64, String)> = series
        .samples
        .iter()
        .map(|&(time, latency)| (latency as f64, age_label(now_secs - time)))
        .collect();
    let low = series.samples.iter().map(|s| s.1).min().unwrap_or(0);
    let high = series.samples.iter().map(|s| s.1).max().unwrap_or(0);
    let mut graph = format!(
        "{event} - high {high} ms, low {low} ms (all time high {} ms)\n{}\n",
        series.max,
        "-".repeat(GRAPH_COLUMNS)
    );
    render_sparkline(&mut graph, &samples, GRAPH_COLUMNS, GRAPH_ROWS);
    ctx.out.verbatim(graph.as_bytes());
    Ok(())
}

/// Width of LATENCY GRAPH's drawing, and rows of bars (Redis: `LATENCY_GRAPH_COLS`, and the
/// `4` it passes to `sparklineRender`).
const GRAPH_COLUMNS: usize = 80;
const GRAPH_ROWS: usize = 4;

/// How long ago a sample was, as a graph label: `12s`, `3m`, `5h`, `2d`.
fn age_label(elapsed: i64) -> String {
    match elapsed {
        e if e < 60 => format!("{e}s"),
        e if e < 3600 => format!("{}m", e / 60),
        e if e < 3600 * 24 => format!("{}h", e / 3600),
        e => format!("{}d", e / (3600 * 24)),
    }
}

/// Draws `samples` (value, label) as a filled sparkline (Redis: `sparkline.c`,
/// `sparklineRender` with `SPARKLINE_FILL`).
///
/// Each column is one sample. Its height is its value scaled between the sequence's minimum
/// and maximum to `rows * 3` steps; each row of text resolves three of those steps with the
/// characters `_`, `o`, `#`, and rows below the top of a bar are filled with `|`. Under the
/// bars, after one blank line, each sample's label is written vertically, one character per
/// row. A sequence longer than `columns` is drawn in several blocks separated by a newline.
fn render_sparkline(out: &mut String, samples: &[(f64, String)], columns: usize, rows: usize) {
    const FILL: [char; 3] = ['_', 'o', '#'];
    let min = samples.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let max = samples
        .iter()
        .map(|s| s.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let range = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = (FILL.len() * rows) as i64;
    let labelled = samples.iter().any(|s| !s.1.is_empty());
    for (block, chunk) in samples.chunks(columns).enumerate() {
        if block > 0 {
            out.push('\n');
        }
        // As Redis: the scaled value is truncated before and after the division.
        let step_of = |value: f64| (((value - min) * steps as f64).trunc() / range) as i64;
        for row in 0.. {
            let mut line = String::with_capacity(chunk.len());
            let mut more = false;
            if row < rows {
                more = true;
                for (value, _) in chunk {
                    let step = step_of(*value).clamp(0, steps - 1);
                    let index = step - ((rows - row - 1) * FILL.len()) as i64;
                    line.push(match index {
                        i if (0..FILL.len() as i64).contains(&i) => FILL[i as usize],
                        i if i >= FILL.len() as i64 => '|',
                        _ => ' ',
                    });
                }
            } else if labelled && row == rows {
                // The blank line between the bars and their labels.
                more = true;
                line.push_str(&" ".repeat(chunk.len()));
            } else {
                let at = row - rows - usize::from(labelled);
                for (_, label) in chunk {
                    match label.as_bytes().get(at) {
                        Some(&c) => {
                            more = true;
                            line.push(c as char);
                        }
                        None => line.push(' '),
                    }
                }
            }
            if !more {
                break;
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
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
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
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
