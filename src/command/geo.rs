//! Geo commands (Redis: `geo.c`): points on sorted sets.
//!
//! There is no geo type. GEOADD stores each point as a sorted-set member whose score is its
//! 52-bit geohash ([`crate::types::geohash`]), by handing ZADD the encoded scores — so geo
//! sets persist, expire, replicate and answer every Z* command like any sorted set. GEOPOS,
//! GEOHASH and GEODIST decode scores back into coordinates.
//!
//! The searches (GEORADIUS, GEORADIUSBYMEMBER, their `_RO` forms, GEOSEARCH, GEOSEARCHSTORE)
//! share [`georadius_generic`], as in Redis:
//!
//! ```text
//!  parse: centre (coordinates, or a member's position), shape (radius or box), options
//!    │
//!  Shape::covering_cells: the centre cell and its 8 neighbours at a step fitting the shape
//!    │   each cell = one score range [min, max) of the sorted set
//!  read each range; keep the points within the shape, with their distance (stop early at
//!    │   COUNT n ANY)
//!  sort by distance (ASC / DESC; a partial sort when COUNT cuts the list)
//!    │
//!  reply (member, or [member, dist?, hash?, [lon, lat]?]) — or store into a sorted set, the
//!  geohash (STORE) or the distance (STOREDIST) as score
//! ```
//!
//! Distances are printed with four decimals (Redis's `fixedpoint_d2string`) and coordinates
//! as `%.17Lf` with trailing zeros trimmed (`addReplyHumanLongDouble`).

use super::args;
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, KeySpec};
use super::table::{flags::*, CommandSpec};
use super::zset::{limits, store_result, zadd_generic, ZaddFlags};
use super::Ctx;
use crate::resp::reply::ReplyBuffer;
use crate::types::geohash::{self, HashBits, Shape, ShapeKind};
use crate::types::zset::ZSet;
use std::cmp::Ordering;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("geoadd", geoadd_command, -5, WRITE | DENYOOM, "geo")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc("Add one or more geospatial items in the geospatial index represented using a sorted set", "3.2.0"),
    CommandSpec::new("geodist", geodist_command, -4, READONLY, "geo")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns the distance between two members of a geospatial index", "3.2.0"),
    CommandSpec::new("geohash", geohash_command, -2, READONLY, "geo")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns members of a geospatial index as standard geohash strings", "3.2.0"),
    CommandSpec::new("geopos", geopos_command, -2, READONLY, "geo")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns longitude and latitude of members of a geospatial index", "3.2.0"),
    CommandSpec::new("georadius", georadius_command, -6, WRITE | DENYOOM | MOVABLE_KEYS, "geo")
        .key_specs(&[
            KeySpec::at(1, RO | ACCESS),
            KeySpec::keyword("STORE", 6, OW | UPDATE),
            KeySpec::keyword("STOREDIST", 6, OW | UPDATE),
        ])
        .doc("Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", "3.2.0"),
    CommandSpec::new("georadius_ro", georadius_ro_command, -6, READONLY, "geo")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("A read-only variant for GEORADIUS", "3.2.10"),
    CommandSpec::new("georadiusbymember", georadiusbymember_command, -5, WRITE | DENYOOM | MOVABLE_KEYS, "geo")
        .key_specs(&[
            KeySpec::at(1, RO | ACCESS),
            KeySpec::keyword("STORE", 5, OW | UPDATE),
            KeySpec::keyword("STOREDIST", 5, OW | UPDATE),
        ])
        .doc("Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", "3.2.0"),
    CommandSpec::new("georadiusbymember_ro", georadiusbymember_ro_command, -5, READONLY, "geo")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("A read-only variant for GEORADIUSBYMEMBER", "3.2.10"),
    CommandSpec::new("geosearch", geosearch_command, -7, READONLY, "geo")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", "6.2.0"),
    CommandSpec::new("geosearchstore", geosearchstore_command, -8, WRITE | DENYOOM, "geo")
        .key_specs(&[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS)])
        .doc("Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", "6.2.0"),
];

// ---------------------------------------------------------------------------------------------
// Argument helpers (Redis: extractLongLatOrReply, extractUnitOrReply, extractDistanceOrReply,
// extractBoxOrReply)
// ---------------------------------------------------------------------------------------------

/// A `longitude latitude` pair, both numbers first, then the range check.
fn extract_long_lat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], CommandError> {
    let xy = [args::float(lon)?, args::float(lat)?];
    let [x, y] = xy;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&x)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y)
    {
        return Err(CommandError::err(format!(
            "invalid longitude,latitude pair {x:.6},{y:.6}"
        )));
    }
    Ok(xy)
}

/// A unit's size in metres.
fn extract_unit(unit: &[u8]) -> Result<f64, CommandError> {
    const UNITS: [(&str, f64); 4] = [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)];
    UNITS
        .iter()
        .find(|(name, _)| args::is(unit, name))
        .map(|&(_, metres)| metres)
        .ok_or(CommandError::Err(
            "unsupported unit provided. please use M, KM, FT, MI",
        ))
}

/// A number with its own "need numeric ..." message.
fn numeric(arg: &[u8], msg: &'static str) -> Result<f64, CommandError> {
    crate::util::string2d(arg).ok_or(CommandError::Err(msg))
}

/// `radius unit` → (conversion, radius).
fn extract_distance(radius: &[u8], unit: &[u8]) -> Result<(f64, f64), CommandError> {
    let distance = numeric(radius, "need numeric radius")?;
    if distance < 0.0 {
        return Err(CommandError::Err("radius cannot be negative"));
    }
    Ok((extract_unit(unit)?, distance))
}

/// `width height unit` → (conversion, width, height).
fn extract_box(width: &[u8], height: &[u8], unit: &[u8]) -> Result<(f64, f64, f64), CommandError> {
    let w = numeric(width, "need numeric width")?;
    let h = numeric(height, "need numeric height")?;
    if h < 0.0 || w < 0.0 {
        return Err(CommandError::Err("height or width cannot be negative"));
    }
    Ok((extract_unit(unit)?, w, h))
}

/// A member's position, or Redis's error when it has none.
fn long_lat_of_member(z: &ZSet, member: &[u8]) -> Result<[f64; 2], CommandError> {
    z.score(member)
        .and_then(geohash::decode_score)
        .ok_or(CommandError::Err("could not decode requested zset member"))
}

// ---------------------------------------------------------------------------------------------
// Reply formats
// ---------------------------------------------------------------------------------------------

/// A distance with four decimals (Redis: `addReplyDoubleDistance`, `fixedpoint_d2string`):
/// rounded to nearest-even ten-thousandths as `llrint`, then printed as a fixed-point integer.
fn format_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".to_string();
    }
    let scaled = (d * 10000.0).round_ties_even();
    // llrint of what a long long cannot hold gives LLONG_MIN on x86-64.
    let units = geohash::c_double_to_i64(scaled);
    let digits = format!("{:05}", units.unsigned_abs());
    let (int_part, frac_part) = digits.split_at(digits.len() - 4);
    let sign = if units < 0 { "-" } else { "" };
    format!("{sign}{int_part}.{frac_part}")
}

fn reply_distance(out: &mut ReplyBuffer, d: f64) {
    out.bulk(format_distance(d).as_bytes());
}

/// A coordinate as `addReplyHumanLongDouble`: `%.17Lf` with trailing zeros (and a trailing
/// dot) removed — a bulk string in RESP2, a double in RESP3. A double's exact value printed
/// at 17 decimals is the same whether it is held as `double` or `long double`.
fn reply_coordinate(out: &mut ReplyBuffer, v: f64) {
    let mut text = format!("{v:.17}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" {
        text = "0".to_string();
    }
    if out.is_resp3() {
        out.raw(b",");
        out.raw(text.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

fn reply_position(out: &mut ReplyBuffer, [lon, lat]: [f64; 2]) {
    out.array_len(2);
    reply_coordinate(out, lon);
    reply_coordinate(out, lat);
}

// ---------------------------------------------------------------------------------------------
// GEOADD, GEOPOS, GEOHASH, GEODIST
// ---------------------------------------------------------------------------------------------

/// GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]
/// — as ZADD: the number of members added (with CH, added or updated).
fn geoadd_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut f = ZaddFlags::default();
    let mut longidx = 2;
    while let Some(opt) = argv.get(longidx) {
        if args::is(opt, "NX") {
            f.nx = true;
        } else if args::is(opt, "XX") {
            f.xx = true;
        } else if args::is(opt, "CH") {
            f.ch = true;
        } else {
            break;
        }
        longidx += 1;
    }
    let points = &argv[longidx..];
    if !points.len().is_multiple_of(3) || (f.xx && f.nx) {
        return Err(CommandError::Syntax);
    }
    // ZADD's arguments: each point becomes `score member`, the score its geohash.
    let mut scores = Vec::with_capacity(points.len() / 3);
    for point in points.chunks(3) {
        let [lon, lat] = extract_long_lat(point[0], point[1])?;
        let score = geohash::score_of(lon, lat).unwrap_or(0);
        scores.push(score.to_string().into_bytes());
    }
    let pairs: Vec<&[u8]> = points
        .chunks(3)
        .zip(&scores)
        .flat_map(|(point, score)| [score.as_slice(), point[2]])
        .collect();
    zadd_generic(ctx, argv[1], &pairs, f)
}

/// GEOPOS key [member ...] — per member `[longitude, latitude]`, or a null array.
fn geopos_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let z = ctx.dbs[ctx.db].lookup_read_as::<ZSet>(argv[1], ctx.now)?;
    ctx.out.array_len(argv.len() - 2);
    for member in &argv[2..] {
        match z
            .and_then(|z| z.score(member))
            .and_then(geohash::decode_score)
        {
            Some(xy) => reply_position(ctx.out, xy),
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// GEOHASH key [member ...] — per member its 11-character geohash, or null.
fn geohash_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let z = ctx.dbs[ctx.db].lookup_read_as::<ZSet>(argv[1], ctx.now)?;
    ctx.out.array_len(argv.len() - 2);
    for member in &argv[2..] {
        match z
            .and_then(|z| z.score(member))
            .and_then(geohash::standard_geohash)
        {
            Some(text) => ctx.out.bulk(&text),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// GEODIST key member1 member2 [M | KM | FT | MI] — the distance, or null if either member
/// (or the key) is missing.
fn geodist_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let to_meter = match argv.len() {
        5 => extract_unit(argv[4])?,
        4 => 1.0,
        _ => return Err(CommandError::Syntax),
    };
    let z = ctx.dbs[ctx.db].lookup_read_as::<ZSet>(argv[1], ctx.now)?;
    let position = |member: &[u8]| z?.score(member).and_then(geohash::decode_score);
    match (position(argv[2]), position(argv[3])) {
        (Some([x1, y1]), Some([x2, y2])) => {
            reply_distance(ctx.out, geohash::distance(x1, y1, x2, y2) / to_meter)
        }
        _ => ctx.out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The searches
// ---------------------------------------------------------------------------------------------

/// Which search command runs (Redis: the RADIUS_* / GEOSEARCH* flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SearchKind {
    /// GEORADIUS, GEORADIUS_RO (`nostore`).
    Radius { nostore: bool },
    /// GEORADIUSBYMEMBER, GEORADIUSBYMEMBER_RO.
    ByMember { nostore: bool },
    /// GEOSEARCH, GEOSEARCHSTORE (`store`).
    GeoSearch { store: bool },
}

/// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC | DESC] [STORE key] [STOREDIST key]
fn georadius_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    georadius_generic(ctx, argv, SearchKind::Radius { nostore: false })
}

/// GEORADIUS_RO key longitude latitude radius unit [options, without STORE / STOREDIST]
fn georadius_ro_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    georadius_generic(ctx, argv, SearchKind::Radius { nostore: true })
}

/// GEORADIUSBYMEMBER key member radius unit [options as GEORADIUS]
fn georadiusbymember_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    georadius_generic(ctx, argv, SearchKind::ByMember { nostore: false })
}

/// GEORADIUSBYMEMBER_RO key member radius unit [options, without STORE / STOREDIST]
fn georadiusbymember_ro_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    georadius_generic(ctx, argv, SearchKind::ByMember { nostore: true })
}

/// GEOSEARCH key FROMMEMBER member | FROMLONLAT lon lat  BYRADIUS r unit | BYBOX w h unit
/// [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
fn geosearch_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    georadius_generic(ctx, argv, SearchKind::GeoSearch { store: false })
}

/// GEOSEARCHSTORE destination source FROMMEMBER ... | FROMLONLAT ...  BYRADIUS ... | BYBOX ...
/// [ASC | DESC] [COUNT count [ANY]] [STOREDIST] — the number of members stored.
fn geosearchstore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    georadius_generic(ctx, argv, SearchKind::GeoSearch { store: true })
}

/// A point found by a search.
struct GeoPoint {
    xy: [f64; 2],
    /// Metres from the centre until the reply converts it to the unit.
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

/// How results are ordered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// What the options of a search asked for.
struct SearchOptions<'a> {
    withdist: bool,
    withhash: bool,
    withcoords: bool,
    sort: Sort,
    any: bool,
    /// At most this many results; 0 = all.
    count: i64,
    store_key: Option<&'a [u8]>,
    storedist: bool,
}

/// The body of every geo search (Redis: `georadiusGeneric`). Errors come in Redis's order:
/// WRONGTYPE, the fixed arguments, each option as it is read, then the combination checks.
fn georadius_generic(ctx: &mut Ctx, argv: &[&[u8]], kind: SearchKind) -> CommandResult {
    let src_index = if kind == (SearchKind::GeoSearch { store: true }) {
        2
    } else {
        1
    };
    let now = ctx.now;
    let z = ctx.dbs[ctx.db].lookup_read_as::<ZSet>(argv[src_index], now)?;

    let mut shape = Shape {
        center: [0.0; 2],
        conversion: 0.0,
        kind: ShapeKind::Radius(0.0),
    };
    let mut opts = SearchOptions {
        withdist: false,
        withhash: false,
        withcoords: false,
        sort: Sort::None,
        any: false,
        count: 0,
        store_key: None,
        storedist: false,
    };
    let (base_args, nostore, search, store_cmd) = match kind {
        SearchKind::Radius { nostore } => {
            shape.center = extract_long_lat(argv[2], argv[3])?;
            let (conversion, radius) = extract_distance(argv[4], argv[5])?;
            (shape.conversion, shape.kind) = (conversion, ShapeKind::Radius(radius));
            (6, nostore, false, false)
        }
        SearchKind::ByMember { nostore } => {
            // Without the key Redis reads no centre or radius, only the options.
            if let Some(z) = z {
                shape.center = long_lat_of_member(z, argv[2])?;
                let (conversion, radius) = extract_distance(argv[3], argv[4])?;
                (shape.conversion, shape.kind) = (conversion, ShapeKind::Radius(radius));
            }
            (5, nostore, false, false)
        }
        SearchKind::GeoSearch { store } => {
            if store {
                opts.store_key = Some(argv[1]);
            }
            (if store { 3 } else { 2 }, false, true, store)
        }
    };

    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let rest = &argv[base_args..];
    let remaining = rest.len();
    let mut i = 0;
    while i < remaining {
        let arg = rest[i];
        let has = |n: usize| i + n < remaining;
        if args::is(arg, "WITHDIST") {
            opts.withdist = true;
        } else if args::is(arg, "WITHHASH") {
            opts.withhash = true;
        } else if args::is(arg, "WITHCOORD") {
            opts.withcoords = true;
        } else if args::is(arg, "ANY") {
            opts.any = true;
        } else if args::is(arg, "ASC") {
            opts.sort = Sort::Asc;
        } else if args::is(arg, "DESC") {
            opts.sort = Sort::Desc;
        } else if args::is(arg, "COUNT") && has(1) {
            opts.count = args::int(rest[i + 1])?;
            if opts.count <= 0 {
                return Err(CommandError::Err("COUNT must be > 0"));
            }
            i += 1;
        } else if (args::is(arg, "STORE") || args::is(arg, "STOREDIST"))
            && has(1)
            && !nostore
            && !search
        {
            opts.store_key = Some(rest[i + 1]);
            opts.storedist = args::is(arg, "STOREDIST");
            i += 1;
        } else if args::is(arg, "STOREDIST") && search && store_cmd {
            opts.storedist = true;
        } else if args::is(arg, "FROMMEMBER") && has(1) && search && !fromloc {
            // Without the key the member is not looked up; the key's absence answers later.
            if let Some(z) = z {
                shape.center = long_lat_of_member(z, rest[i + 1])?;
            }
            frommember = true;
            i += 1;
        } else if args::is(arg, "FROMLONLAT") && has(2) && search && !frommember {
            shape.center = extract_long_lat(rest[i + 1], rest[i + 2])?;
            fromloc = true;
            i += 2;
        } else if args::is(arg, "BYRADIUS") && has(2) && search && !bybox {
            let (conversion, radius) = extract_distance(rest[i + 1], rest[i + 2])?;
            (shape.conversion, shape.kind) = (conversion, ShapeKind::Radius(radius));
            byradius = true;
            i += 2;
        } else if args::is(arg, "BYBOX") && has(3) && search && !byradius {
            let (conversion, width, height) = extract_box(rest[i + 1], rest[i + 2], rest[i + 3])?;
            (shape.conversion, shape.kind) = (conversion, ShapeKind::Box { width, height });
            bybox = true;
            i += 3;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }

    if opts.store_key.is_some() && (opts.withdist || opts.withhash || opts.withcoords) {
        return Err(CommandError::err(format!(
            "{} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if store_cmd {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )));
    }
    let name = args::text(argv[0]);
    if search && !(frommember || fromloc) {
        return Err(CommandError::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if search && !(byradius || bybox) {
        return Err(CommandError::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if opts.any && opts.count == 0 {
        return Err(CommandError::Err(
            "the ANY argument requires COUNT argument",
        ));
    }

    let Some(z) = z else {
        match opts.store_key {
            Some(dst) => store_result(ctx, dst, ZSet::new(), "del"),
            None => ctx.out.empty_array(),
        }
        return Ok(());
    };

    // COUNT means "the n nearest", which needs sorting; COUNT ANY means "any n".
    if opts.count != 0 && opts.sort == Sort::None && !opts.any {
        opts.sort = Sort::Asc;
    }
    let limit = if opts.any { opts.count as usize } else { 0 };
    let mut found = members_of_all_neighbors(z, &shape.covering_cells(), &shape, limit);

    if found.is_empty() && opts.store_key.is_none() {
        ctx.out.empty_array();
        return Ok(());
    }
    let returned = match usize::try_from(opts.count) {
        Ok(count) if count != 0 && count < found.len() => count,
        _ => found.len(),
    };
    if opts.sort != Sort::None {
        let descending = opts.sort == Sort::Desc;
        let by_distance = |a: &GeoPoint, b: &GeoPoint| {
            let asc = compare_distance(a.dist, b.dist);
            if descending {
                asc.reverse()
            } else {
                asc
            }
        };
        if returned == found.len() {
            // glibc's qsort is a merge sort: stable, like this one.
            found.sort_by(by_distance);
        } else {
            partial_quicksort(&mut found, &by_distance, 0, returned - 1);
        }
    }
    found.truncate(returned);
    for point in &mut found {
        point.dist /= shape.conversion;
    }
    match opts.store_key {
        None => reply_points(ctx.out, &found, &opts),
        Some(dst) => {
            let max_len = found.iter().map(|p| p.member.len()).max().unwrap_or(0);
            let limits = limits(ctx);
            let mut result = ZSet::for_size(found.len(), max_len, limits);
            for p in &found {
                let score = if opts.storedist { p.dist } else { p.score };
                result.insert(&p.member, score, limits);
            }
            let event = if search {
                "geosearchstore"
            } else {
                "georadiusstore"
            };
            store_result(ctx, dst, result, event);
        }
    }
    Ok(())
}

/// The reply of a search without STORE: members, or per member an array of the member and
/// what WITHDIST / WITHHASH / WITHCOORD asked for, in that order.
fn reply_points(out: &mut ReplyBuffer, found: &[GeoPoint], opts: &SearchOptions) {
    let extras = [opts.withdist, opts.withhash, opts.withcoords]
        .iter()
        .filter(|&&on| on)
        .count();
    out.array_len(found.len());
    for p in found {
        if extras > 0 {
            out.array_len(extras + 1);
        }
        out.bulk(&p.member);
        if opts.withdist {
            reply_distance(out, p.dist);
        }
        if opts.withhash {
            out.integer(geohash::c_double_to_i64(p.score));
        }
        if opts.withcoords {
            reply_position(out, p.xy);
        }
    }
}

/// Redis's `sort_gp_asc`: only `>` and `==` are asked, so incomparable values sort as "less".
fn compare_distance(a: f64, b: f64) -> Ordering {
    if a > b {
        Ordering::Greater
    } else if a == b {
        Ordering::Equal
    } else {
        Ordering::Less
    }
}

/// Reads the nine cells of a search, skipping excluded ones and a cell equal to the one read
/// just before (huge radii make neighbours coincide), stopping once `limit` points (0 = no
/// limit) are found (Redis: `membersOfAllNeighbors`).
fn members_of_all_neighbors(
    z: &ZSet,
    cells: &[HashBits; 9],
    shape: &Shape,
    limit: usize,
) -> Vec<GeoPoint> {
    let mut found = Vec::new();
    // As in Redis, 0 doubles as "none yet", so the centre cell is never compared against.
    let mut last_processed = 0;
    for (i, &cell) in cells.iter().enumerate() {
        if cell.is_zero() || (last_processed != 0 && cell == cells[last_processed]) {
            continue;
        }
        if limit != 0 && found.len() >= limit {
            break;
        }
        points_in_cell(z, cell, shape, &mut found, limit);
        last_processed = i;
    }
    found
}

/// Appends the points of one cell — the scores in `[min, max)` — that lie within the shape
/// (Redis: `membersOfGeoHashBox`, `geoGetPointsInRange`).
fn points_in_cell(
    z: &ZSet,
    cell: HashBits,
    shape: &Shape,
    found: &mut Vec<GeoPoint>,
    limit: usize,
) {
    let (min, max) = geohash::score_range(cell);
    let (min, max) = (min as f64, max as f64);
    let start = z.count_before(|score, _| score < min);
    for (member, score) in z.range(start, usize::MAX) {
        if score >= max {
            break;
        }
        if let Some(xy) = geohash::decode_score(score) {
            if let Some(dist) = shape.distance_if_within(xy[0], xy[1]) {
                found.push(GeoPoint {
                    xy,
                    dist,
                    score,
                    member: member.to_vec(),
                });
            }
        }
        if limit != 0 && found.len() >= limit {
            break;
        }
    }
}

/// Sorts enough of `v` that positions `lrange..=rrange` hold what a full sort would put there
/// (Redis: `pqsort`, a Bentley–McIlroy quicksort that skips partitions outside the range).
///
/// Reproduced step for step — pivot choice (median of three, or the "ninther" of nine above 40
/// elements), the fat partition that gathers keys equal to the pivot at both ends and then
/// swaps them to the middle, insertion sort below 7 elements — because with COUNT the order
/// of points at equal distances is whatever this algorithm leaves, and replies must match.
fn partial_quicksort<T>(
    v: &mut [T],
    cmp: &impl Fn(&T, &T) -> Ordering,
    lrange: usize,
    rrange: usize,
) {
    pqsort_span(v, 0, v.len(), cmp, lrange, rrange);
}

/// One partitioning pass of [`partial_quicksort`] over `v[base..base + n]`; positions are
/// indices of the whole `v`, as Redis's pointers are.
fn pqsort_span<T>(
    v: &mut [T],
    mut base: usize,
    mut n: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
    lrange: usize,
    rrange: usize,
) {
    let med3 = |a: &[T], x: usize, y: usize, z: usize| -> usize {
        if cmp(&a[x], &a[y]) == Ordering::Less {
            if cmp(&a[y], &a[z]) == Ordering::Less {
                y
            } else if cmp(&a[x], &a[z]) == Ordering::Less {
                z
            } else {
                x
            }
        } else if cmp(&a[y], &a[z]) == Ordering::Greater {
            y
        } else if cmp(&a[x], &a[z]) == Ordering::Less {
            x
        } else {
            z
        }
    };
    // Does the span of `len` elements at absolute `start` hold any wanted position?
    let overlaps = |start: usize, len: usize| {
        let (l, r) = (start, start + len - 1);
        !((lrange < l && rrange < l) || (lrange > r && rrange > r))
    };
    loop {
        let a = &mut v[base..base + n];
        if n < 7 {
            for pm in 1..n {
                let mut pl = pm;
                while pl > 0 && cmp(&a[pl - 1], &a[pl]) == Ordering::Greater {
                    a.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = n / 2;
        if n > 7 {
            let mut pl = 0;
            let mut pn = n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(a, pl, pl + d, pl + 2 * d);
                pm = med3(a, pm - d, pm, pm + d);
                pn = med3(a, pn - 2 * d, pn - d, pn);
            }
            pm = med3(a, pl, pm, pn);
        }
        a.swap(0, pm);
        // Partition a[1..] as [= pivot | < pivot | ... | > pivot | = pivot].
        let (mut pa, mut pb) = (1usize, 1usize);
        let (mut pc, mut pd) = (n - 1, n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&a[pb], &a[0]);
                if c == Ordering::Greater {
                    break;
                }
                if c == Ordering::Equal {
                    a.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            // pc >= pb - 1 >= 0 throughout: it only moves down while pb <= pc.
            while pb <= pc {
                let c = cmp(&a[pc], &a[0]);
                if c == Ordering::Less {
                    break;
                }
                if c == Ordering::Equal {
                    a.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            a.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        // Move the keys equal to the pivot from both ends to the middle.
        let r = pa.min(pb - pa);
        swap_blocks(a, 0, pb - r, r);
        let r = (pd - pc).min(n - pd - 1);
        swap_blocks(a, pb, n - r, r);
        // Recurse into the "less" part and iterate on the "greater" part, each only if it
        // holds a wanted position.
        let less = pb - pa;
        let greater = pd - pc;
        if less > 1 && overlaps(base, less) {
            pqsort_span(v, base, less, cmp, lrange, rrange);
        }
        if greater <= 1 || !overlaps(base + n - greater, greater) {
            return;
        }
        base += n - greater;
        n = greater;
    }
}

/// Swaps the `n` elements at `i` with the `n` at `j` (Redis: `vecswap`).
fn swap_blocks<T>(a: &mut [T], i: usize, j: usize, n: usize) {
    for k in 0..n {
        a.swap(i + k, j + k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_print_with_four_decimals_like_redis() {
        assert_eq!(format_distance(0.0), "0.0000");
        assert_eq!(format_distance(166274.15156960033), "166274.1516");
        assert_eq!(format_distance(0.775), "0.7750");
        assert_eq!(format_distance(0.0005), "0.0005");
        assert_eq!(format_distance(0.00004), "0.0000");
        assert_eq!(format_distance(f64::NAN), "-922337203685477.5808");
    }

    #[test]
    fn partial_sort_orders_the_wanted_prefix() {
        let mut rng = 12345u64;
        for n in [0usize, 1, 5, 6, 7, 8, 20, 41, 100, 500] {
            for want in 1..=n.min(12) {
                let mut v: Vec<u32> = (0..n)
                    .map(|_| {
                        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                        (rng >> 59) as u32
                    })
                    .collect();
                let mut sorted = v.clone();
                sorted.sort();
                partial_quicksort(&mut v, &|a: &u32, b: &u32| a.cmp(b), 0, want - 1);
                assert_eq!(v[..want], sorted[..want], "n={n} want={want}");
            }
        }
    }
}
